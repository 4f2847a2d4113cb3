#!/usr/bin/env python3
"""Writes tests/data/semantics_cases.txt: scipy.signal.convolve / correlate on 1-D inputs in every
mode (issue 19, item 3: `convoy convolve --semantics scipy`), kernels shorter and longer than the
signal, odd and even.

Lines: `case <convolve|correlate> <mode>`, then `x ...`, `h ...`, `y ...` (repr floats).
Regenerate with: python3 tests/data/make_semantics_fixtures.py
"""
import numpy as np
import scipy
from scipy import signal

rng = np.random.default_rng(3)
out = [f"# scipy {scipy.__version__}, numpy {np.__version__}; made by make_semantics_fixtures.py"]
for n, m in [(5, 3), (5, 4), (3, 5), (3, 6), (4, 9), (1, 4), (2, 7), (6, 6), (7, 2)]:
    x = np.round(rng.uniform(-2, 2, n), 3)
    h = np.round(rng.uniform(-2, 2, m), 3)
    for op, f in [("convolve", signal.convolve), ("correlate", signal.correlate)]:
        for mode in ["full", "same", "valid"]:
            y = f(x, h, mode=mode, method="direct")
            out.append(f"case {op} {mode}")
            for tag, a in [("x", x), ("h", h), ("y", y)]:
                out.append(tag + " " + " ".join(repr(float(v)) for v in a))
open(__file__.replace("make_semantics_fixtures.py", "semantics_cases.txt"), "w").write("\n".join(out) + "\n")
