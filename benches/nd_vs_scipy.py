#!/usr/bin/env python3
"""2048x2048 f64 image, 5x5 and 101x101 kernels: `convoy convolve ... --mode same` wall time
(whole process: reading and writing the .npy files included; to a new output file and
replacing the previous run's) against scipy.signal.convolve2d,
scipy.signal.fftconvolve and scipy.ndimage.convolve (the function calls alone), alternating,
median of N runs. Needs numpy and scipy; not part of the tests.

    python3 benches/nd_vs_scipy.py target/release/convoy [N]
"""
import subprocess, sys, tempfile, time, os
import numpy as np
from scipy import ndimage, signal

convoy = sys.argv[1] if len(sys.argv) > 1 else "target/release/convoy"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 7
rng = np.random.default_rng(1)
d = tempfile.mkdtemp()
x = rng.standard_normal((2048, 2048))
np.save(f"{d}/x.npy", x)
for m in (5, 101):
    k = rng.standard_normal((m, m))
    np.save(f"{d}/k.npy", k)
    peers = {
        "fftconvolve": lambda: signal.fftconvolve(x, k, mode="same"),
        "ndimage.convolve": lambda: ndimage.convolve(x, k, mode="constant"),
    }
    if m == 5:
        peers["convolve2d"] = lambda: signal.convolve2d(x, k, mode="same")
    times = {name: [] for name in ["convoy", "convoy replacing", *peers]}
    cmd = [convoy, "convolve", f"{d}/x.npy", f"{d}/k.npy", "--mode", "same", "-o", f"{d}/y.npy"]
    for _ in range(n):
        # Writing a new file, and replacing the 32 MB written by the run before (the file
        # system then also tears down the old file's page cache, ~20 ms here; np.save onto an
        # existing file pays the same when it truncates).
        os.remove(f"{d}/y.npy") if os.path.exists(f"{d}/y.npy") else None
        t = time.perf_counter()
        subprocess.run(cmd, check=True)
        times["convoy"].append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run(cmd, check=True)
        times["convoy replacing"].append(time.perf_counter() - t)
        for name, f in peers.items():
            t = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t)
    y = np.load(f"{d}/y.npy")
    err = np.abs(y - signal.fftconvolve(x, k, mode="same")).max()
    med = {name: float(np.median(v)) for name, v in times.items()}
    best = min((v, name) for name, v in med.items() if not name.startswith("convoy"))
    print(f"{m}x{m}: " + ", ".join(f"{name} {v*1e3:.0f} ms" for name, v in med.items())
          + f"; convoy / fastest scipy ({best[1]}) = {med['convoy'] / best[0]:.2f} new file, "
          + f"{med['convoy replacing'] / best[0]:.2f} replacing; max |diff| {err:.1e}")
