#!/usr/bin/env python3
"""Summarises `cargo bench --bench oneshot`: for each (N, M), the medians of direct, fft and
auto, and auto's ratio to the better of the two. Reads target/criterion/*/new/estimates.json."""
import json
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"
rows = {}
for est in root.glob("oneshot_N=*_M=*/*/new/estimates.json"):
    group, method = est.parts[-4], est.parts[-3]
    n, m = map(int, re.findall(r"\d+", group))
    rows.setdefault((n, m), {})[method] = json.loads(est.read_text())["median"]["point_estimate"] / 1e3
worst = 0.0
print(f"{'N':>8} {'M':>6} {'direct us':>10} {'fft us':>10} {'auto us':>10} {'auto/best':>9}")
for (n, m), r in sorted(rows.items()):
    if not {"direct", "fft", "auto"} <= r.keys():
        continue
    ratio = r["auto"] / min(r["direct"], r["fft"])
    worst = max(worst, ratio)
    print(f"{n:>8} {m:>6} {r['direct']:>10.1f} {r['fft']:>10.1f} {r['auto']:>10.1f} {ratio:>9.2f}")
print(f"worst auto/best: {worst:.2f}")
