#!/usr/bin/env python3
"""Makes the small sample files in samples/ (run once by hand; needs numpy).

    python3 samples/make_samples.py
"""
import pathlib

import numpy as np

here = pathlib.Path(__file__).resolve().parent
rng = np.random.default_rng(7)

# A slow sine (a sensor reading) with white noise, 400 samples, as one number per line.
t = np.arange(400)
clean = np.sin(2 * np.pi * t / 100.0)
noisy = clean + 0.3 * rng.standard_normal(t.size)
np.savetxt(here / "noisy_sine.txt", noisy, fmt="%.6f")

# A 9-tap Hann smoothing kernel with unit DC gain, on one line.
hann = np.hanning(11)[1:-1]
hann /= hann.sum()
np.savetxt(here / "hann9.txt", hann[None, :], fmt="%.10f")

# A stereo 16-bit WAV: 0.25 s at 16 kHz, a 440 Hz tone left, 1 kHz right, with noise.
import wave

rate = 16000
n = rate // 4
tt = np.arange(n) / rate
left = 0.5 * np.sin(2 * np.pi * 440 * tt) + 0.05 * rng.standard_normal(n)
right = 0.5 * np.sin(2 * np.pi * 1000 * tt) + 0.05 * rng.standard_normal(n)
pcm = np.clip(np.round(np.stack([left, right], axis=1) * 32767), -32768, 32767).astype("<i2")
with wave.open(str(here / "tones_noisy.wav"), "wb") as w:
    w.setnchannels(2)
    w.setsampwidth(2)
    w.setframerate(rate)
    w.writeframes(pcm.tobytes())
