#!/usr/bin/env python3
"""Makes the denoising samples: synthetic speech (espeak-ng), a noisy take and a noise-only take.

    python3 samples/make_speech.py        # needs espeak-ng, numpy, scipy, soundfile

speech_clean.wav  two sentences (en-us, en-gb voices), 16 kHz mono 16-bit, -10.5 dBFS peak
speech_noisy.wav  the same + mains hum (50 Hz and harmonics, drifting 50.0..50.1 Hz) + white hiss,
                  about 3 dB SNR (hum 6 dB under the speech, hiss 12 dB under)
speech_noise.wav  2 s of the same hum + hiss alone (another stretch of it): the noise profile
The files are committed; the script documents how they were made (seeded, reproducible given the
same espeak-ng).
"""
import subprocess, tempfile, os
import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

RATE = 16000
here = os.path.dirname(os.path.abspath(__file__))


def speak(text, voice):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", path, text], check=True)
        x, r = sf.read(path)
    return resample_poly(x, 320, 441) if r == 22050 else resample_poly(x, RATE, r)


def main():
    rng = np.random.default_rng(2026)
    a = speak("The quick brown fox jumps over the lazy dog.", "en-us")
    b = speak("Please call Stella and ask her to bring these things from the store.", "en-gb")
    s = np.concatenate([np.zeros(4000), a, np.zeros(3000), b, np.zeros(3000)])
    s = 0.3 * s / np.max(np.abs(s))
    p = np.mean(s ** 2)
    n, m = len(s), 2 * RATE
    t = np.arange(n + m) / RATE
    f0 = 50.0 + 0.05 * (1 + np.sin(2 * np.pi * 0.1 * t))
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    amps = [1.0, 0.6, 0.45, 0.3, 0.25, 0.15, 0.1, 0.08]
    hum = sum(a_ * np.sin((k + 1) * phase + 0.7 * k) for k, a_ in enumerate(amps))
    hum *= np.sqrt(p / np.mean(hum ** 2) / 10 ** (6 / 10))
    hiss = rng.standard_normal(n + m) * np.sqrt(p / 10 ** (12 / 10))
    noise = hum + hiss
    sf.write(os.path.join(here, "speech_clean.wav"), s, RATE, subtype="PCM_16")
    sf.write(os.path.join(here, "speech_noisy.wav"), s + noise[:n], RATE, subtype="PCM_16")
    sf.write(os.path.join(here, "speech_noise.wav"), noise[n:], RATE, subtype="PCM_16")


if __name__ == "__main__":
    main()
