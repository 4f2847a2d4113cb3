#!/usr/bin/env python3
"""Writes tests/data/axis_cases.txt: scipy.ndimage.convolve1d / correlate1d along axis 0 (issue 19,
item 5: `convoy convolve --axis 0 --ndimage-mode M --origin O`).

Lines: `case <op> <mode> <origin> <shape> <values...>` for the signal X and weights W below.
Regenerate with: python3 tests/data/make_axis_fixtures.py
"""
import numpy as np
import scipy
from scipy import ndimage

X = np.array([[1., 2.], [3., -1.], [0.5, 4.], [2., 2.], [-3., 1.], [7., 0.]])
W = np.array([0.25, 0.5, 1.0, -0.5])
out = [f"# scipy {scipy.__version__}, numpy {np.__version__}; made by make_axis_fixtures.py",
       "x " + " ".join(repr(float(v)) for v in X.ravel()),
       "w " + " ".join(repr(float(v)) for v in W)]
for op, f in [("convolve", ndimage.convolve1d), ("correlate", ndimage.correlate1d)]:
    for mode in ["reflect", "mirror", "nearest", "wrap", "constant"]:
        for o in [0, 1, -1, -2]:
            y2 = f(X, W, axis=0, mode=mode, cval=0.0, origin=o)
            out.append(f"case {op} {mode} {o} 2d " + " ".join(repr(float(v)) for v in y2.ravel()))
            y1 = f(X[:, 0], W, mode=mode, cval=0.0, origin=o)
            out.append(f"case {op} {mode} {o} 1d " + " ".join(repr(float(v)) for v in y1))
open(__file__.replace("make_axis_fixtures.py", "axis_cases.txt"), "w").write("\n".join(out) + "\n")
