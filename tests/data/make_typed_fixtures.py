#!/usr/bin/env python3
"""Writes tests/data/typed/: numpy/scipy answers for issue 19's dtypes, integer wrap-around,
complex input, axes and scipy's 1-D rules, as .npy files `convoy convolve` is run on.

For each case NAME: NAME.a.npy (signal), NAME.b.npy (kernel), NAME.want.npy (what the library
returns, in its dtype), and a line `NAME<TAB>flags` in tests/data/typed/cases.txt (the flags
`convoy convolve` needs for the same call; tests/typed.rs runs them).

Regenerate with: python3 tests/data/make_typed_fixtures.py
"""
import os
import shutil

import numpy as np
import scipy
from scipy import ndimage, signal

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "typed")
shutil.rmtree(HERE, ignore_errors=True)
os.makedirs(HERE)
rng = np.random.default_rng(19)
lines = [f"# numpy {np.__version__}, scipy {scipy.__version__}; made by make_typed_fixtures.py"]


def case(name, a, b, want, flags=""):
    a, b, want = np.asarray(a), np.asarray(b), np.asarray(want)
    np.save(os.path.join(HERE, f"{name}.a.npy"), a)
    np.save(os.path.join(HERE, f"{name}.b.npy"), b)
    np.save(os.path.join(HERE, f"{name}.want.npy"), want)
    lines.append(f"{name}\t{flags}")


def ints(dtype, n, lo=None, hi=None):
    info = np.iinfo(dtype)
    lo = info.min if lo is None else lo
    hi = info.max if hi is None else hi
    return rng.integers(lo, hi, n, dtype=dtype, endpoint=True)


# --- numpy's result types, integers wrapping around (items 6 and 7) ---------------------------
for dt in ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]:
    a, b = ints(dt, 23), ints(dt, 5)
    for mode in ["full", "same", "valid"]:
        case(f"wrap_{dt}_{mode}", a, b, np.convolve(a, b, mode), f"--mode {mode}")
    case(f"wrap_{dt}_correlate", a, b, np.correlate(a, b, "full"), "--mode full --correlate")
for da, db in [("int8", "uint8"), ("uint8", "int16"), ("int16", "uint16"), ("uint32", "int8"),
               ("uint64", "int64"), ("int32", "float32"), ("int16", "float32"),
               ("float32", "float64"), ("bool", "int8")]:
    if da == "bool":
        a = rng.integers(0, 2, 9).astype(bool)
    elif da.startswith("float"):
        a = rng.standard_normal(9).astype(da)
    else:
        a = ints(da, 9)
    if db.startswith("u"):
        b = ints(db, 4, 0, 50)
    elif db.startswith("i"):
        b = ints(db, 4, -50, 50)
    else:
        b = rng.standard_normal(4).astype(db)
    case(f"promote_{da}_{db}", a, b, np.convolve(a, b))
case("overflow_2p50", np.array([2**50]), np.array([2**50]), np.convolve([2**50], [2**50]))
a = np.array([2**62 + 12345, -(2**61), 7], dtype=np.int64)
b = np.array([3, 2**40 + 1], dtype=np.int64)
case("overflow_int64_exact", a, b, np.convolve(a, b))
a = rng.integers(0, 2, 40).astype(bool)
b = rng.integers(0, 2, 6).astype(bool)
case("bool_any", a, b, np.convolve(a, b))
a = rng.standard_normal(50).astype(np.float32)
b = rng.standard_normal(7).astype(np.float32)
case("float32_stays", a, b, np.convolve(a, b, "same"), "--mode same")
a2 = ints("int16", (5, 6), -300, 300)
b2 = ints("int16", (3, 2), -300, 300)
case("int16_2d_direct", a2, b2, signal.convolve(a2, b2, method="direct"), "--method direct")
case("int16_2d_fft", a2, b2, signal.convolve(a2, b2, method="fft"), "--method fft")
u = ints("uint8", (6, 7), 0, 9)
w = np.array([[-1.0], [0.0], [1.0]])
case("ndimage_uint8_truncates", u, w, ndimage.correlate(u, w, mode="reflect"),
     "--ndimage-mode reflect --correlate")
f = rng.uniform(-3, 3, (5, 5)).astype(np.int32)
case("ndimage_int32_float_weights", f, np.full((3, 3), 0.3),
     ndimage.convolve(f, np.full((3, 3), 0.3), mode="nearest"), "--ndimage-mode nearest")

# --- complex (item 1) ---------------------------------------------------------------------------
def cplx(shape, dtype=np.complex128):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


x, h = cplx(31), cplx(6)
for mode in ["full", "same", "valid"]:
    case(f"complex_convolve_{mode}", x, h, np.convolve(x, h, mode), f"--mode {mode}")
    case(f"complex_correlate_{mode}", x, h, np.correlate(x, h, mode), f"--mode {mode} --correlate")
    case(f"complex_scipy_correlate_{mode}", h, x, signal.correlate(h, x, mode),
         f"--mode {mode} --correlate --semantics scipy")
xr = rng.standard_normal(40)
case("complex_kernel_real_signal", xr, h, np.convolve(xr, h))
case("complex_signal_real_kernel_fft", x, xr[:9], signal.convolve(x, xr[:9], method="fft"),
     "--method fft --semantics scipy")
c64, f32 = cplx(20, np.complex64), rng.standard_normal(5).astype(np.float32)
case("complex64_float32", c64, f32, np.convolve(c64, f32))
k8 = ints("int8", 4, -9, 9)
case("complex_int8", x[:10], k8, np.convolve(x[:10], k8))
X, H = cplx((7, 9)), cplx((3, 4))
for mode in ["full", "same", "valid"]:
    case(f"complex_2d_{mode}", X, H, signal.convolve(X, H, mode), f"--mode {mode}")
    case(f"complex_2d_correlate_{mode}", X, H, signal.correlate(X, H, mode),
         f"--mode {mode} --correlate")
case("complex_2d_symm", X, H, signal.convolve2d(X, H, "same", boundary="symm"),
     "--mode same --boundary symmetric --semantics convolve2d")
case("complex_2d_fill", X, H, signal.convolve2d(X, H, "full", fillvalue=1.5 - 2j),
     "--fill 1.5-2j --semantics convolve2d")
case("complex_2d_fill_real_signal", X.real.copy(), H, signal.convolve2d(X.real, H, "same", fillvalue=2j),
     "--mode same --fill 2j --semantics convolve2d")
for m in ["reflect", "mirror", "nearest", "wrap", "constant"]:
    case(f"complex_ndimage_{m}", X, H, ndimage.convolve(X, H, mode=m, cval=0.5 + 1j),
         f"--ndimage-mode {m} --fill 0.5+1j")
    case(f"complex_ndimage_correlate_{m}", X, H, ndimage.correlate(X, H, mode=m),
         f"--ndimage-mode {m} --correlate")
case("complex_ndimage_real_input", X.real.copy(), H, ndimage.convolve(X.real, H, mode="reflect"),
     "--ndimage-mode reflect")
V, K = cplx((4, 5, 6)), cplx((2, 3, 2))
case("complex_3d_fft", V, K, signal.fftconvolve(V, K, "same"), "--mode same --method fft")

# --- axes (item 2) ------------------------------------------------------------------------------
A = rng.standard_normal((4, 6, 9))
for axes, kshape in [((2,), (4, 6, 3)), ((0, 2), (2, 6, 4)), ((1,), (1, 3, 9)), ((-1,), (1, 1, 5)),
                     ((0, 1), (3, 2, 1)), ((2, 0), (1, 6, 4))]:
    B = rng.standard_normal(kshape)
    for mode in ["full", "same", "valid"]:
        name = f"axes_{'_'.join(str(a) for a in axes)}_{mode}".replace("-", "m")
        case(name, A, B, signal.fftconvolve(A, B, mode, axes=axes),
             f"--mode {mode} --method fft --axes={','.join(map(str, axes))}")
B = rng.standard_normal((4, 1, 5))
case("axes_direct_oaconvolve", A, B, signal.oaconvolve(A, B, "full", axes=2), "--axes 2 --method direct")
CA, CB = cplx((3, 8)), cplx((3, 4))
case("axes_complex", CA, CB, signal.fftconvolve(CA, CB, axes=1), "--axes 1 --method fft")
W = rng.standard_normal((3, 5))
for axes, origin in [((0, 2), (0, 0)), ((2, 0), (-1, 1)), ((1, 2), (1, 0))]:
    name = f"ndimage_axes_{axes[0]}{axes[1]}_o{origin[0]}{origin[1]}".replace("-", "m")
    case(name, A, W, ndimage.convolve(A, W, mode="mirror", axes=axes, origin=origin),
         f"--ndimage-mode mirror --axes {axes[0]},{axes[1]} --origin={origin[0]},{origin[1]}")

# --- scipy's 1-D rules (item 3) -----------------------------------------------------------------
case("scipy_zero_d", np.array(1289), np.array(4567), signal.convolve(np.array(1289), np.array(4567)),
     "--semantics scipy")
case("scipy_zero_d_float", np.array(1.5), np.array(-2.0), signal.convolve(np.array(1.5), np.array(-2.0)),
     "--semantics scipy")
case("scipy_empty_fft", np.array([]), np.array([1.0, 2.0]), signal.fftconvolve(np.array([]), np.array([1.0, 2.0])),
     "--method fft --semantics scipy")
E = np.zeros((0, 4))
case("ndimage_empty", E, np.ones((3, 3)), ndimage.correlate(E, np.ones((3, 3))), "--ndimage-mode reflect --correlate")

with open(os.path.join(HERE, "cases.txt"), "w") as fh:
    fh.write("\n".join(lines) + "\n")
print(len(lines) - 1, "cases")
