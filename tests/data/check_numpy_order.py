#!/usr/bin/env python3
"""Where `convoy convolve` equals numpy bit for bit (issue 19, item 9): every N in 1..NMAX, M in
1..MMAX, random float64 data, np.convolve(x, h, mode) against `convoy convolve X H --mode mode
--method direct` (the 1-D direct path, 17 significant digits round-trip through text), and
reports the cases and output positions that differ (by how many ulps).

    python3 tests/data/check_numpy_order.py [path/to/convoy] [NMAX] [MMAX]
"""
import subprocess
import sys
import tempfile

import numpy as np

convoy = sys.argv[1] if len(sys.argv) > 1 else "target/release/convoy"
NMAX = int(sys.argv[2]) if len(sys.argv) > 2 else 64
MMAX = int(sys.argv[3]) if len(sys.argv) > 3 else 40
rng = np.random.default_rng(19)
tmp = tempfile.mkdtemp()
diff_cases = []
total = 0
worst_rel = 0.0
for n in range(1, NMAX + 1):
    for m in range(1, MMAX + 1):
        x = rng.standard_normal(n)
        h = rng.standard_normal(m)
        np.savetxt(f"{tmp}/x.txt", x, fmt="%.17g")
        np.savetxt(f"{tmp}/h.txt", h, fmt="%.17g")
        for mode in ["full"]:
            want = np.convolve(x, h, mode)
            out = subprocess.run([convoy, "convolve", f"{tmp}/x.txt", f"{tmp}/h.txt", "--mode", mode,
                                  "--method", "direct"], capture_output=True, text=True, check=True)
            got = np.array([float(v) for v in out.stdout.split()])
            total += 1
            worst_rel = max(worst_rel, float(np.max(np.abs(got - want)) / np.max(np.abs(want))))
            bad = np.flatnonzero(got != want)
            if len(bad):
                ulps = np.abs(got[bad] - want[bad]) / np.spacing(np.abs(want[bad]))
                # The interior: outputs where the shorter input overlaps the longer one fully.
                lo, hi = min(n, m) - 1, max(n, m) - 1
                inner = [int(i) for i in bad if lo <= i <= hi]
                diff_cases.append((n, m, mode, bad.tolist(), ulps.max(), inner))
print(f"numpy {np.__version__}: {total} cases, {len(diff_cases)} differ somewhere")
by_k = {}
for n, m, *_ in diff_cases:
    by_k.setdefault(min(n, m), [0, 0])[0] += 1
for n, m, mode, bad, u, ins in diff_cases:
    if ins:
        by_k[min(n, m)][1] += 1
for k in sorted(set(min(n, m) for n in range(1, NMAX + 1) for m in range(1, MMAX + 1))):
    cases = sum(1 for n in range(1, NMAX + 1) for m in range(1, MMAX + 1) if min(n, m) == k)
    d, i = by_k.get(k, [0, 0])
    print(f"min(N,M)={k}: {cases} cases, {cases - d} identical, interior identical in {cases - i}")
print(f"largest difference anywhere: {worst_rel:.2e} of the output's peak")
inner = [c for c in diff_cases if c[5]]
print(f"{len(inner)} differ in the interior (full overlap)")
for n, m, mode, bad, u, ins in (inner or diff_cases)[:40]:
    print(f"N={n} M={m} {mode}: {len(bad)} positions {bad[:12]} (max {u:.1f} ulp) of {n + m - 1}; interior {ins[:8]}")
