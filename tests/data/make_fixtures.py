#!/usr/bin/env python3
"""Generates tests/data/numpy_cases.txt: reference outputs of numpy/scipy for convoy's one-shot
convolution. Run once by hand (needs numpy and scipy); CI only reads the committed output.

    python3 tests/data/make_fixtures.py > tests/data/numpy_cases.txt

Format, one case per block:
    case NAME op=convolve|correlate mode=full|same|valid boundary=zero|reflect|symmetric|wrap|edge
    a V V V ...
    v V V V ...
    out V V V ...
"a ~" / "v ~" repeat the previous case's input. Values are Python reprs (they round-trip f64 exactly); nan/inf as 'nan', 'inf', '-inf'.
For boundary != zero the reference is the literal definition from issue #2:
    np.convolve(np.pad(a, (p, M-1-p), mode), v, 'valid'), p = (M-1)//2   (np.correlate likewise).
"""
import numpy as np
import scipy.signal

rng = np.random.default_rng(20261124)
out = []


def fmt(x):
    return " ".join(repr(float(v)) if np.isfinite(v) else ("nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")) for v in x)


last = {"a": None, "v": None}


def emit(name, op, mode, boundary, a, v, res):
    out.append(f"case {name} op={op} mode={mode} boundary={boundary}")
    for key, val in (("a", a), ("v", v)):
        text = fmt(val)
        # "~" repeats the previous case's input, to keep the file small.
        out.append(f"{key} ~" if last[key] == text else f"{key} {text}")
        last[key] = text
    out.append("out " + fmt(res))


def reference(op, mode, boundary, a, v):
    f = np.convolve if op == "convolve" else np.correlate
    if boundary == "zero":
        return f(a, v, mode)
    m = len(v)
    p = (m - 1) // 2
    return f(np.pad(a, (p, m - 1 - p), boundary), v, "valid")


# Every mode x both operations x lengths 1..9 in both orders, float and integer data.
for kind in ("float", "int"):
    for n in range(1, 10):
        for m in range(1, 10):
            if kind == "float":
                a = rng.standard_normal(n)
                v = rng.standard_normal(m)
            else:
                a = rng.integers(-9, 10, n).astype(float)
                v = rng.integers(-9, 10, m).astype(float)
            for op in ("convolve", "correlate"):
                for mode in ("full", "same", "valid"):
                    emit(f"{kind}-{n}x{m}", op, mode, "zero", a, v, reference(op, mode, "zero", a, v))
                for boundary in ("reflect", "symmetric", "wrap", "edge"):
                    emit(f"{kind}-{n}x{m}", op, "same", boundary, a, v, reference(op, "same", boundary, a, v))

# Larger cases, both orders, checked against scipy's FFT convolution too.
for n, m in ((1024, 300), (300, 1024), (601, 600), (4000, 33), (33, 4000)):
    a = rng.standard_normal(n)
    v = rng.standard_normal(m)
    for op in ("convolve", "correlate"):
        for mode in ("full", "same", "valid"):
            res = reference(op, mode, "zero", a, v)
            if op == "convolve" and mode == "full":
                alt = scipy.signal.fftconvolve(a, v)
                assert np.max(np.abs(alt - res)) <= 1e-12 * np.max(np.abs(res))
            emit(f"large-{n}x{m}", op, mode, "zero", a, v, res)
    emit(f"large-{n}x{m}", "convolve", "same", "reflect", a, v, reference("convolve", "same", "reflect", a, v))

# Negative integers, NaN and infinities (numpy's direct sums keep them local).
specials = [
    ("neg-int", [-3.0, 7.0, -1.0, 0.0, 12.0], [-1.0, 2.0, -1.0]),
    ("nan-mid", [1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0], [1.0, 1.0, 1.0]),
    ("inf-edge", [np.inf, 1.0, 2.0, 3.0], [1.0, 0.0, -1.0]),
    ("neg-inf-kernel", [1.0, 2.0, 3.0, 4.0], [0.5, -np.inf]),
    ("inf-minus-inf", [np.inf, 1.0, -np.inf, 2.0], [1.0, 1.0]),
    ("nan-kernel-long", [1.0, 2.0], [0.0, np.nan, 1.0, 2.0, 3.0]),
]
for name, a, v in specials:
    a, v = np.array(a), np.array(v)
    with np.errstate(all="ignore"):
        for op in ("convolve", "correlate"):
            for mode in ("full", "same", "valid"):
                emit(name, op, mode, "zero", a, v, reference(op, mode, "zero", a, v))
            for boundary in ("reflect", "edge"):
                emit(name, op, "same", boundary, a, v, reference(op, "same", boundary, a, v))

print("\n".join(out))
