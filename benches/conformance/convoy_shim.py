"""A pytest plugin that answers numpy's and scipy's convolution functions with `convoy convolve`.

Loaded by run.py (`pytest -p convoy_shim`). Before the test modules are imported it replaces
numpy.convolve/correlate, scipy.signal.convolve/correlate/fftconvolve/oaconvolve/convolve2d/
correlate2d and scipy.ndimage.convolve/correlate/convolve1d/correlate1d with functions that write
their operands to .npy files, run the convoy binary with the flags a user would give, and read
the .npy it wrote. Only calls made from a test file go to convoy; the libraries' own internal
calls keep the originals.

A call convoy has no way to express (an `output=` array, float16/longdouble/object dtypes, a
sequence of ndimage modes, ...) raises NotExpressible and the test is reported as such, with
the reason, whatever its outcome. A call convoy refuses as unsupported (its "not supported"
errors) is reported the same way. Any other convoy error becomes a ValueError carrying convoy's
message, so tests that expect the libraries to raise can pass.
"""

import json
import operator
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

CONVOY = os.environ.get("CONVOY", "convoy")
STATE = {"calls": 0, "reasons": [], "results": []}


class NotExpressible(Exception):
    """The call has no `convoy convolve` equivalent."""


def _inexpressible(reason):
    STATE["reasons"].append(reason)
    raise NotExpressible(reason)


RUNTIME_ERRORS = ("must match len(axes)", "sequence argument must have length equal to input rank")

# dtypes convoy's .npy reader takes: bool, integers, float32/64, complex64/128.
SUPPORTED_KINDS = set("biufc")


def _operand(x, name):
    if hasattr(x, "__array_namespace__") and not isinstance(x, np.ndarray):
        x = np.asarray(x)
    a = np.asarray(x)
    if a.dtype.kind not in SUPPORTED_KINDS:
        _inexpressible(f"dtype {a.dtype} ({name})")
    if a.dtype.kind == "f" and a.dtype.itemsize not in (4, 8):
        _inexpressible(f"dtype {a.dtype} ({name})")
    if a.dtype.kind == "c" and a.dtype.itemsize not in (8, 16):
        _inexpressible(f"dtype {a.dtype} ({name})")
    return a


def _run(in1, in2, flags):
    """Runs convoy on two arrays with `flags`; returns the array it wrote."""
    a = _operand(in1, "in1")
    b = _operand(in2, "in2")
    with tempfile.TemporaryDirectory(prefix="convoy-shim-") as d:
        pa, pb, po = (os.path.join(d, n) for n in ("a.npy", "b.npy", "out.npy"))
        np.save(pa, a, allow_pickle=False)
        np.save(pb, b, allow_pickle=False)
        cmd = [CONVOY, "convolve", pa, pb, "-o", po, *flags]
        p = subprocess.run(cmd, capture_output=True, text=True)
        err = p.stderr.strip()
        if p.returncode != 0:
            msg = err.splitlines()[-1] if err else f"convoy exited {p.returncode}"
            msg = msg.removeprefix("convoy: error: ").replace(d + os.sep, "")
            if "not supported" in msg or "not expressible" in msg:
                _inexpressible("convoy: " + msg)
            if p.returncode not in (1, 2):
                raise RuntimeError(f"convoy crashed ({p.returncode}): {err} [{' '.join(cmd)}]")
            # The messages scipy.ndimage raises as RuntimeError, which convoy quotes.
            if any(m in msg for m in RUNTIME_ERRORS):
                raise RuntimeError(msg)
            raise ValueError(msg)
        for line in err.splitlines():
            if line.startswith("convoy: warning: "):
                import warnings

                warnings.warn(line.removeprefix("convoy: warning: "), RuntimeWarning, stacklevel=3)
        out = np.load(po, allow_pickle=False)
        # A 0-d result is a numpy scalar, as the libraries return it.
        return out[()] if out.ndim == 0 else out


def _mode(mode):
    # numpy still takes its old integer codes (0 valid, 1 same, 2 full); anything else that
    # is not a string is a TypeError.
    if isinstance(mode, (int, np.integer)) and not isinstance(mode, bool):
        if mode not in (0, 1, 2):
            raise ValueError(f"integer mode must be 0, 1 or 2, not {mode}")
        mode = ("valid", "same", "full")[mode]
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a string, not {type(mode).__name__}")
    return ["--mode", mode]


def _semantics(in1, in2):
    a, b = np.asarray(in1), np.asarray(in2)
    return ["--semantics", "scipy"] if a.ndim <= 1 and b.ndim <= 1 else []


def _axes(axes, ndimage=False):
    if axes is None:
        return []
    if np.ndim(axes) == 0:
        axes = [axes]
    try:
        items = [operator.index(a) for a in axes]
    except TypeError:
        if ndimage:
            raise  # ndimage: "... cannot be interpreted as an integer" (a TypeError)
        raise ValueError("axes must be a scalar or iterable of integers") from None
    if not items:
        raise ValueError("when provided, axes cannot be empty")
    return ["--axes", ",".join(str(a) for a in items)]


# --- numpy ---------------------------------------------------------------------------------


def np_convolve(a, v, mode="full"):
    return _run(a, v, _mode(mode))


def np_correlate(a, v, mode="valid"):
    return _run(a, v, _mode(mode) + ["--correlate"])


# --- scipy.signal --------------------------------------------------------------------------


def sig_convolve(in1, in2, mode="full", method="auto"):
    return _run(in1, in2, _mode(mode) + ["--method", str(method)] + _semantics(in1, in2))


def sig_correlate(in1, in2, mode="full", method="auto"):
    return _run(
        in1, in2, _mode(mode) + ["--method", str(method), "--correlate"] + _semantics(in1, in2)
    )


def sig_fftconvolve(in1, in2, mode="full", axes=None):
    # fftconvolve returns floats for integer inputs (it does not round back), unless no axis
    # needs a transform (then it returns in1 * in2).
    a, b = np.asarray(in1), np.asarray(in2)
    kind = np.result_type(a, b).kind
    dtype = []
    if kind in "biu" and a.ndim == b.ndim and a.ndim > 0:
        try:
            listed = range(a.ndim) if axes is None else [x % a.ndim for x in np.atleast_1d(axes)]
            if any(a.shape[x] != 1 and b.shape[x] != 1 for x in listed):
                dtype = ["--dtype", "float64"]
        except (TypeError, ValueError):
            pass
    flags = _mode(mode) + ["--method", "fft"] + _semantics(in1, in2) + _axes(axes) + dtype
    return _run(in1, in2, flags)


def sig_oaconvolve(in1, in2, mode="full", axes=None):
    return sig_fftconvolve(in1, in2, mode, axes)


BOUNDARY = {"fill": "zero", "pad": "zero", "wrap": "wrap", "circular": "wrap",
            "symm": "symmetric", "symmetric": "symmetric"}


def _conv2d_flags(mode, boundary, fillvalue):
    if boundary not in BOUNDARY:
        raise ValueError("Acceptable boundary flags are 'fill', 'circular' (or 'wrap'), and "
                         "'symmetric' (or 'symm').")
    flags = _mode(mode) + ["--semantics", "convolve2d", "--boundary", BOUNDARY[boundary]]
    fv = np.asarray(fillvalue)
    if fv.size != 1:
        raise ValueError("`fillvalue` must be scalar or an array with one element.")
    fv = fv.reshape(())[()]
    if fv != 0:
        flags += ["--fill", _number(fv)]
    return flags


def _number(v):
    v = complex(v) if np.iscomplexobj(v) else float(v)
    if isinstance(v, complex):
        return repr(v).strip("()")
    return repr(v)


def sig_convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    return _run(in1, in2, _conv2d_flags(mode, boundary, fillvalue))


def sig_correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    return _run(in1, in2, _conv2d_flags(mode, boundary, fillvalue) + ["--correlate"])


# --- scipy.ndimage -------------------------------------------------------------------------

NDIMAGE_MODE = {"reflect": "reflect", "grid-mirror": "reflect", "mirror": "mirror",
                "nearest": "nearest", "wrap": "wrap", "grid-wrap": "wrap",
                "constant": "constant", "grid-constant": "constant"}


def _ndimage_flags(ndim, mode, cval, origin, output):
    if output is not None:
        _inexpressible("output=")
    if not isinstance(mode, str):
        # ndimage.convolve/correlate take one mode (scipy raises this too).
        raise RuntimeError("A sequence of modes is not supported")
    if mode not in NDIMAGE_MODE:
        raise RuntimeError("boundary mode not supported")
    flags = ["--ndimage-mode", NDIMAGE_MODE[mode]]
    if np.iscomplexobj(cval) or float(cval) != 0:
        flags += ["--fill", _number(cval)]
    if np.ndim(origin) == 0:
        if int(origin) != 0:
            flags += ["--origin", str(int(origin))]
    else:
        o = [int(x) for x in np.asarray(origin).ravel()]
        # A sequence keeps its comma, as Python's (1,) does: one value per axis.
        flags += ["--origin", ",".join(str(x) for x in o) + ("," if len(o) == 1 else "")]
    return flags


def nd_convolve(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None):
    flags = _ndimage_flags(np.ndim(input), mode, cval, origin, output) + _axes(axes, True)
    return _run(input, weights, flags)


def nd_correlate(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None):
    flags = _ndimage_flags(np.ndim(input), mode, cval, origin, output) + ["--correlate"]
    return _run(input, weights, flags + _axes(axes, True))


def _along_axis(input, weights, axis, origin):
    """convolve1d along `axis` is ndimage.convolve with the weights laid along that axis."""
    x = np.asarray(input)
    w = np.asarray(weights)
    if w.ndim != 1:
        raise RuntimeError("no filter weights given")
    if w.size == 0:
        raise RuntimeError("no filter weights given")
    ax = axis + x.ndim if axis < 0 else axis
    if not 0 <= ax < x.ndim:
        raise ValueError(f"invalid axis {axis}")
    shape = [1] * x.ndim
    shape[ax] = w.size
    origins = [0] * x.ndim
    origins[ax] = int(origin)
    return w.reshape(shape), origins


def nd_convolve1d(input, weights, axis=-1, output=None, mode="reflect", cval=0.0, origin=0):
    w, origins = _along_axis(input, weights, axis, origin)
    return _run(input, w, _ndimage_flags(np.ndim(input), mode, cval, origins, output))


def nd_correlate1d(input, weights, axis=-1, output=None, mode="reflect", cval=0.0, origin=0):
    w, origins = _along_axis(input, weights, axis, origin)
    flags = _ndimage_flags(np.ndim(input), mode, cval, origins, output) + ["--correlate"]
    return _run(input, w, flags)


# --- wiring --------------------------------------------------------------------------------


def _from_tests(original, shim):
    """Calls from a test file go to convoy, the libraries' own calls to the original."""

    def call(*args, **kwargs):
        caller = sys._getframe(1).f_code.co_filename
        if os.sep + "tests" + os.sep not in caller or "convoy_shim" in caller:
            return original(*args, **kwargs)
        STATE["calls"] += 1
        return shim(*args, **kwargs)

    call.__name__ = getattr(original, "__name__", "shim")
    call.__doc__ = getattr(original, "__doc__", None)
    call.__wrapped_original__ = original
    return call


def pytest_configure(config):
    import scipy.ndimage
    import scipy.signal

    try:
        from scipy._lib._array_api import xp_capabilities_table as table
    except ImportError:
        table = {}
    for module, name, shim in [
        (np, "convolve", np_convolve),
        (np, "correlate", np_correlate),
        (scipy.signal, "convolve", sig_convolve),
        (scipy.signal, "correlate", sig_correlate),
        (scipy.signal, "fftconvolve", sig_fftconvolve),
        (scipy.signal, "oaconvolve", sig_oaconvolve),
        (scipy.signal, "convolve2d", sig_convolve2d),
        (scipy.signal, "correlate2d", sig_correlate2d),
        (scipy.ndimage, "convolve", nd_convolve),
        (scipy.ndimage, "correlate", nd_correlate),
        (scipy.ndimage, "convolve1d", nd_convolve1d),
        (scipy.ndimage, "correlate1d", nd_correlate1d),
    ]:
        original = getattr(module, name)
        wrapper = _from_tests(original, shim)
        setattr(module, name, wrapper)
        # scipy's tests look functions up in its array-API capabilities table.
        if original in table:
            table[wrapper] = table[original]


def pytest_runtest_setup(item):
    STATE["calls"] = 0
    STATE["reasons"] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        STATE["results"].append({
            "nodeid": item.nodeid,
            "outcome": report.outcome,
            "calls": STATE["calls"],
            "reasons": sorted(set(STATE["reasons"])),
            "message": (str(report.longrepr).strip().splitlines() or [""])[-1][:300]
            if report.outcome == "failed" else "",
        })


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("CONVOY_SHIM_RESULTS")
    if out:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(f"{out}.{worker}.json", "w") as f:
            json.dump(STATE["results"], f)
