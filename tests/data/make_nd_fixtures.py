#!/usr/bin/env python3
"""Writes tests/data/nd_cases.txt: scipy's own outputs for N-d convolution (issue 7).

Each case is one block:
    case <name>
    op <convolve|correlate|convolve2d|correlate2d|ndimage>
    args <key=value ...>
    x <shape> <values...>
    k <shape> <values...>
    y <shape> <values...>
Values are repr() floats. Regenerate with: python3 tests/data/make_nd_fixtures.py
"""
import itertools
import numpy as np
import scipy
from scipy import ndimage, signal

rng = np.random.default_rng(7)
out = []


def arr(a):
    a = np.asarray(a, dtype=np.float64)
    return "x".join(map(str, a.shape)) + " " + " ".join(repr(float(v)) for v in a.ravel())


def emit(name, op, args, x, k, y):
    out.append(f"case {name}\nop {op}\nargs {' '.join(f'{a}={b}' for a, b in args.items())}\n"
               f"x {arr(x)}\nk {arr(k)}\ny {arr(y)}\n")


def rnd(*shape):
    return np.round(rng.uniform(-2, 2, shape), 3)


# The normative example.
img = np.arange(1, 17, dtype=float).reshape(4, 4)
ker = np.array([[.1, .2, .1], [.2, .4, .2], [.1, .2, .1]])
emit("normative", "convolve2d", {"mode": "same", "boundary": "fill", "fill": 0}, img, ker,
     signal.convolve2d(img, ker, mode="same", boundary="fill", fillvalue=0))

shapes_x = [(5, 6), (4, 4), (7, 3), (1, 5)]
shapes_k = [(3, 3), (2, 4), (1, 1), (3, 2), (8, 9), (6, 2)]
n = 0
for sx, sk in itertools.product(shapes_x, shapes_k):
    x, k = rnd(*sx), rnd(*sk)
    for mode in ["full", "same", "valid"]:
        valid_ok = all(a >= b for a, b in zip(sx, sk)) or all(a <= b for a, b in zip(sx, sk))
        if mode == "valid" and not valid_ok:
            continue
        emit(f"sig{n}", "convolve", {"mode": mode}, x, k, signal.convolve(x, k, mode=mode, method="direct"))
        emit(f"cor{n}", "correlate", {"mode": mode}, x, k, signal.correlate(x, k, mode=mode, method="direct"))
        for b in ["fill", "symm", "wrap"]:
            fill = 0.0 if b != "fill" else float(np.round(rng.uniform(-1, 1), 2))
            try:
                y = signal.convolve2d(x, k, mode=mode, boundary=b, fillvalue=fill)
            except ValueError:
                continue
            emit(f"c2d{n}_{b}", "convolve2d", {"mode": mode, "boundary": b, "fill": fill}, x, k, y)
        n += 1
    for mode in ["reflect", "mirror", "nearest", "wrap", "constant"]:
        origins = [(0, 0)]
        if sk[0] > 1 and sk[1] > 1:
            origins.append((-(sk[0] // 2), (sk[1] - 1) // 2))
        for o in origins:
            cval = 0.5 if mode == "constant" else 0.0
            y = ndimage.convolve(x, k, mode=mode, cval=cval, origin=list(o))
            emit(f"ndi{n}_{mode}_{o[0]}_{o[1]}", "ndimage",
                 {"mode": mode, "cval": cval, "origin": f"{o[0]},{o[1]}"}, x, k, y)
            y = ndimage.correlate(x, k, mode=mode, cval=cval, origin=list(o))
            emit(f"ndc{n}_{mode}_{o[0]}_{o[1]}", "ndcorrelate",
                 {"mode": mode, "cval": cval, "origin": f"{o[0]},{o[1]}"}, x, k, y)
        n += 1

# 3-D
for sx, sk in [((4, 5, 3), (2, 3, 2)), ((3, 3, 3), (3, 3, 3)), ((2, 6, 4), (3, 2, 5))]:
    x, k = rnd(*sx), rnd(*sk)
    for mode in ["full", "same", "valid"]:
        valid_ok = all(a >= b for a, b in zip(sx, sk)) or all(a <= b for a, b in zip(sx, sk))
        if mode == "valid" and not valid_ok:
            continue
        emit(f"sig3d{n}", "convolve", {"mode": mode}, x, k, signal.convolve(x, k, mode=mode, method="direct"))
        emit(f"cor3d{n}", "correlate", {"mode": mode}, x, k, signal.correlate(x, k, mode=mode, method="direct"))
        n += 1
    for mode in ["reflect", "mirror", "nearest", "wrap", "constant"]:
        y = ndimage.convolve(x, k, mode=mode, cval=0.25)
        emit(f"ndi3d{n}_{mode}", "ndimage", {"mode": mode, "cval": 0.25, "origin": "0,0,0"}, x, k, y)
        n += 1

# A large case through the FFT path (kernel much smaller than the image and one large kernel).
x, k = rnd(64, 70), rnd(21, 17)
for mode in ["full", "same", "valid"]:
    emit(f"bigfft_{mode}", "convolve", {"mode": mode}, x, k, signal.convolve(x, k, mode=mode, method="direct"))
emit("bigfft_symm", "convolve2d", {"mode": "same", "boundary": "symm", "fill": 0.0}, x, k,
     signal.convolve2d(x, k, mode="same", boundary="symm"))
emit("bigfft_ndi", "ndimage", {"mode": "reflect", "cval": 0.0, "origin": "0,0"}, x, k,
     ndimage.convolve(x, k, mode="reflect"))

with open(__file__.replace("make_nd_fixtures.py", "nd_cases.txt"), "w") as f:
    f.write(f"# scipy {scipy.__version__}, numpy {np.__version__}; made by make_nd_fixtures.py\n")
    f.writelines(out)
print(len(out), "cases")
