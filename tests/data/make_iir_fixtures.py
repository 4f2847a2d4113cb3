#!/usr/bin/env python3
"""Generates tests/data/iir_cases.txt: scipy.signal's outputs for convoy's recursive stages.
Run once by hand (needs numpy and scipy); CI only reads the committed output.

    python3 tests/data/make_iir_fixtures.py > tests/data/iir_cases.txt

Format, one case per block:
    case WORD rate=R
    sos V V V V V V V V V V V V ...   (scipy's sections, 6 per row, flattened)
    causal V V V ...                  sosfilt(sos, x)
    zero V V V ...                    sosfiltfilt(sos, x)
The input x is the same for every case (the first block, 'x V V V ...'). x and sos are Python
reprs (they round-trip f64 exactly); the outputs have 14 significant digits (the tests ask for
1e-9 of the peak).
"""
import numpy as np
import scipy.signal as sg

rng = np.random.default_rng(20261130)
n = 500
# White noise, a step and an impulse: broadband, DC and the filter's own ringing.
x = rng.standard_normal(n) * 0.3
x[150:300] += 0.5
x[400] += 1.0


def fmt(v, digits=None):
    if digits:
        return " ".join(f"{float(t):.{digits}g}" for t in np.ravel(v))
    return " ".join(repr(float(t)) for t in np.ravel(v))


def rbj(kind, f0, fs, q, db=0.0):
    """The Audio EQ Cookbook (R. Bristow-Johnson), written out independently of convoy."""
    a = 10 ** (db / 40)
    w0 = 2 * np.pi * f0 / fs
    alpha = np.sin(w0) / (2 * q)
    c = np.cos(w0)
    if kind == "peq":
        b = [1 + alpha * a, -2 * c, 1 - alpha * a]
        den = [1 + alpha / a, -2 * c, 1 - alpha / a]
    elif kind == "lowshelf":
        s = 2 * np.sqrt(a) * alpha
        b = [a * ((a + 1) - (a - 1) * c + s), 2 * a * ((a - 1) - (a + 1) * c), a * ((a + 1) - (a - 1) * c - s)]
        den = [(a + 1) + (a - 1) * c + s, -2 * ((a - 1) + (a + 1) * c), (a + 1) + (a - 1) * c - s]
    elif kind == "highshelf":
        s = 2 * np.sqrt(a) * alpha
        b = [a * ((a + 1) + (a - 1) * c + s), -2 * a * ((a - 1) + (a + 1) * c), a * ((a + 1) + (a - 1) * c - s)]
        den = [(a + 1) - (a - 1) * c + s, 2 * ((a - 1) - (a + 1) * c), (a + 1) - (a - 1) * c - s]
    else:  # allpass
        b = [1 - alpha, -2 * c, 1 + alpha]
        den = [1 + alpha, -2 * c, 1 - alpha]
    return sg.tf2sos(b, den)


fs = 48000
cases = [
    ("butter:lowpass,1000", sg.butter(4, 1000, "lowpass", fs=fs, output="sos")),
    ("butter:highpass,80", sg.butter(4, 80, "highpass", fs=fs, output="sos")),
    ("butter:highpass,20,order=2", sg.butter(2, 20, "highpass", fs=fs, output="sos")),
    ("butter:lowpass,5000,order=7", sg.butter(7, 5000, "lowpass", fs=fs, output="sos")),
    ("butter:bandpass,300,3400", sg.butter(4, [300, 3400], "bandpass", fs=fs, output="sos")),
    ("butter:bandpass,100,200,order=3", sg.butter(3, [100, 200], "bandpass", fs=fs, output="sos")),
    ("butter:bandstop,45,55,order=2", sg.butter(2, [45, 55], "bandstop", fs=fs, output="sos")),
    ("butter:bandstop,1k,2k,order=5", sg.butter(5, [1000, 2000], "bandstop", fs=fs, output="sos")),
    ("butter:lowpass,20000,order=10", sg.butter(10, 20000, "lowpass", fs=fs, output="sos")),
    ("notch:60", sg.tf2sos(*sg.iirnotch(60, 30, fs=fs))),
    ("notch:1000,q=5", sg.tf2sos(*sg.iirnotch(1000, 5, fs=fs))),
    ("peak:2000,q=10", sg.tf2sos(*sg.iirpeak(2000, 10, fs=fs))),
    ("peq:1000,gain=6", rbj("peq", 1000, fs, np.sqrt(0.5), 6)),
    ("peq:250,gain=-9db,q=2", rbj("peq", 250, fs, 2, -9)),
    ("lowshelf:200,gain=-4", rbj("lowshelf", 200, fs, np.sqrt(0.5), -4)),
    ("highshelf:6k,gain=3,q=0.9", rbj("highshelf", 6000, fs, 0.9, 3)),
    ("allpass:1500", rbj("allpass", 1500, fs, np.sqrt(0.5))),
    ("biquad:0.2,0.3,0.1,2,-0.5,0.2", sg.tf2sos([0.2, 0.3, 0.1], [2, -0.5, 0.2])),
]
print("x " + fmt(x))
for word, sos in cases:
    print(f"case {word} rate={fs}")
    print("sos " + fmt(sos))
    print("causal " + fmt(sg.sosfilt(sos, x), 14))
    print("zero " + fmt(sg.sosfiltfilt(sos, x), 14))
