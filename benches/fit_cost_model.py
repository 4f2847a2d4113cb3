#!/usr/bin/env python3
"""Fits the FFT/direct cost model constants (src/conv/fft.rs, `cost`) to the rows printed by
`cargo bench --bench calibrate`, by non-negative least squares on relative error. Needs numpy
and scipy; a development tool, not a test dependency."""
import sys

import numpy as np
from scipy.optimize import nnls

rows = [line.split() for line in open(sys.argv[1]) if line.startswith(("fft", "direct"))]
fft = [r for r in rows if r[0] == "fft" and int(r[3]) <= 2**18]
direct = [r for r in rows if r[0] == "direct"]


def fft_features(n, m, nfft, blocks):
    nlogn = nfft * np.log2(nfft)
    octaves = max(0.0, np.log2(nfft / 8192))
    penalty = 1.25 if (nfft % 5 == 0 or nfft % 27 == 0) else 1.0
    transforms = 1 + 2 * blocks
    return [transforms * nlogn * penalty, transforms * nlogn * octaves * penalty, transforms,
            blocks * nfft, blocks, n + m, 1.0]


def fit(name, labels, X, y):
    w = 1 / y
    coef, _ = nnls(X * w[:, None], y * w)
    rel = (X @ coef) / y
    print(name)
    for label, c in zip(labels, coef):
        print(f"  {label:<28} {c:.4g}")
    print("  modelled/measured p10 %.2f median %.2f p90 %.2f" % tuple(np.percentile(rel, [10, 50, 90])))


X = np.array([fft_features(*map(int, r[1:5])) for r in fft])
fit("fft", ["FFT_PER_NLOGN", "FFT_PER_NLOGN_OCTAVE", "FFT_CALL", "FFT_PER_BLOCK_SAMPLE",
            "FFT_PER_BLOCK", "FFT_PER_SAMPLE", "FFT_SETUP"], X, np.array([float(r[5]) for r in fft]))
X = np.array([[int(r[1]) * int(r[2]), int(r[1]) + int(r[2]) - 1, 1.0] for r in direct])
fit("direct", ["DIRECT_PER_MAC", "DIRECT_PER_OUTPUT", "DIRECT_SETUP"], X,
    np.array([float(r[5]) for r in direct]))
