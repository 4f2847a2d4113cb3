#!/usr/bin/env python3
"""Generates tests/data/edges_cases.txt: scipy's and numpy's outputs for FIR stages whose edges
need the whole signal (convoy run's savgol modes and boundary=). Run once by hand (needs
numpy and scipy); CI only reads the committed output.

    python3 tests/data/make_edge_fixtures.py > tests/data/edges_cases.txt

Format: 'x V V ...' (the input, Python reprs), then per case 'case WORD' and 'y V V ...'
(14 significant digits).
  savgol:W,ORDER[,mode=M]  scipy.signal.savgol_filter(x, W, ORDER, mode=M or 'interp')
  WORD,boundary=B          np.convolve(np.pad(x, (p, M-1-p), B), k, 'valid'), p = (M-1)//2,
                           with k the stage's kernel (given explicitly below)
"""
import numpy as np
import scipy.signal as sg

rng = np.random.default_rng(20261130)
n = 240
t = np.arange(n)
# A trend, a bump and noise: edges that differ from each other and from zero.
x = 0.002 * t + 0.5 * np.exp(-((t - 60) / 15.0) ** 2) + 0.05 * rng.standard_normal(n) + 0.3


def fmt(v, digits=None):
    if digits:
        return " ".join(f"{float(t):.{digits}g}" for t in v)
    return " ".join(repr(float(t)) for t in v)


print("x " + fmt(x))
for w, o in [(5, 2), (11, 3), (31, 4), (7, 0)]:
    for mode in ["interp", "mirror", "nearest", "constant", "wrap"]:
        word = f"savgol:{w},{o}" + ("" if mode == "interp" else f",mode={mode}")
        print("case " + word)
        print("y " + fmt(sg.savgol_filter(x, w, o, mode=mode), 14))

kernels = {
    "ma:5": np.ones(5) / 5,
    "taps:0.1,0.2,0.3,0.4": np.array([0.1, 0.2, 0.3, 0.4]),
    "taps:1,-2,1": np.array([1.0, -2.0, 1.0]),
    "savgol:9,2,mode=same": sg.savgol_coeffs(9, 2),
}
for word, k in kernels.items():
    m = len(k)
    p = (m - 1) // 2
    for b in ["reflect", "symmetric", "wrap", "edge"]:
        print(f"case {word},boundary={b}")
        print("y " + fmt(np.convolve(np.pad(x, (p, m - 1 - p), mode=b), k, "valid"), 14))
