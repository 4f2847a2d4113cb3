#!/usr/bin/env python3
"""Denoising benchmark: convoy `denoise` against SoX `noisered` and Python's `noisereduce`.

    python3 benches/denoise_vs_peers.py [target/release/convoy] [--runs N]

Needs sox, numpy, scipy, soundfile and noisereduce (pip); not part of the tests (the tests
check convoy's own numbers on the committed samples without Python).

Speech: samples/speech_clean.wav (espeak-ng, 16 kHz). Conditions, each with a separate 2 s
noise-only clip of the same noise (another stretch of it) as the profile:
  white 0 dB    white noise at the speech's power
  white 10 dB   white noise 10 dB under it
  hum + hiss    50 Hz mains hum with 7 harmonics at the speech's power, drifting by 0.01 %,
                plus white hiss 15 dB under the speech
Methods, run alternately per condition: convoy `denoise,profile=NOISE` (defaults: the hybrid
model), convoy `denoise` (no profile: learned), the same with `model=spectral`, `sox noisered` with `noiseprof` of the same clip at 0.21 and
0.5, `noisereduce.reduce_noise(y, sr, y_noise=clip, stationary=True)`.
Score: SNR and segmental SNR (20 ms frames with speech, each clamped to -10..35 dB) of the
output against the clean speech, after aligning (cross-correlation, +-2000 samples) and
scaling by the least-squares gain; reported as the improvement over the noisy input scored the
same way. Also the wall time of each run (median).
"""
import os, subprocess, sys, tempfile, time
import numpy as np
import soundfile as sf

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = sys.argv[1:]
runs = 3
if "--runs" in args:
    i = args.index("--runs")
    runs = int(args[i + 1])
    del args[i:i + 2]
convoy = args[0] if args else os.path.join(here, "target/release/convoy")
RATE = 16000


def conditions(s, rng):
    p = np.mean(s ** 2)
    n, m = len(s), 2 * RATE

    def white(k, snr):
        return rng.standard_normal(k) * np.sqrt(p / 10 ** (snr / 10))

    t = np.arange(n + m) / RATE
    ph = rng.uniform(0, 2 * np.pi, 8)
    amps = [1, .6, .45, .3, .25, .15, .1, .08]
    hum = sum(a * np.sin(2 * np.pi * 50.0 * (k + 1) * t * (1 + 1e-4 * np.sin(2 * np.pi * 0.2 * t)) + ph[k])
              for k, a in enumerate(amps))
    hum *= np.sqrt(p / np.mean(hum ** 2))
    hh = hum + white(n + m, 15)
    return {
        "white 0 dB": (white(n, 0), white(m, 0)),
        "white 10 dB": (white(n, 10), white(m, 10)),
        "hum + hiss": (hh[:n], hh[n:]),
    }


def score(ref, y):
    y = np.pad(y, (0, max(0, len(ref) - len(y))))[:len(ref)]
    size = 2 * len(ref)
    xc = np.fft.irfft(np.fft.rfft(y, size) * np.conj(np.fft.rfft(ref, size)))
    lags = np.r_[0:2000, size - 2000:size]
    lag = lags[np.argmax(xc[lags])]
    y = np.roll(y, -(lag if lag < size // 2 else lag - size))
    g = np.dot(ref, y) / np.dot(y, y)
    e = ref - g * y
    snr = 10 * np.log10(np.sum(ref ** 2) / np.sum(e ** 2))
    fl, p, seg = 320, np.mean(ref ** 2), []
    for i in range(len(ref) // fl):
        r, ee = ref[i * fl:(i + 1) * fl], e[i * fl:(i + 1) * fl]
        if np.sum(r ** 2) >= 1e-4 * p * fl:
            seg.append(np.clip(10 * np.log10(np.sum(r ** 2) / max(np.sum(ee ** 2), 1e-20)), -10, 35))
    return snr, float(np.mean(seg))


def main():
    import noisereduce as nr
    s = sf.read(os.path.join(here, "samples/speech_clean.wav"))[0]
    d = tempfile.mkdtemp()
    noisy, prof, out = (os.path.join(d, f) for f in ("noisy.wav", "noise.wav", "out.wav"))

    def via(cmd):
        def f(y, clip):
            subprocess.run(cmd, shell=True, check=True, stderr=subprocess.DEVNULL)
            return sf.read(out)[0]
        return f

    methods = {
        "convoy denoise (profile)": via(f"{convoy} run -q -i {noisy} -o {out} denoise,profile={prof}"),
        "convoy denoise (learned)": via(f"{convoy} run -q -i {noisy} -o {out} denoise"),
        "convoy denoise,model=spectral (profile)":
            via(f"{convoy} run -q -i {noisy} -o {out} denoise,model=spectral,profile={prof}"),
        "convoy denoise,model=spectral (learned)": via(f"{convoy} run -q -i {noisy} -o {out} denoise,model=spectral"),
        "sox noisered 0.21": via(f"sox {prof} -n noiseprof {d}/p.prof && sox {noisy} {out} noisered {d}/p.prof 0.21"),
        "sox noisered 0.5": via(f"sox {prof} -n noiseprof {d}/p.prof && sox {noisy} {out} noisered {d}/p.prof 0.5"),
        "noisereduce stationary": lambda y, clip: nr.reduce_noise(y=y, sr=RATE, y_noise=clip, stationary=True),
    }
    rows = {}
    for cond, (noise, clip) in conditions(s, np.random.default_rng(11)).items():
        y = s + noise
        sf.write(noisy, y, RATE, subtype="FLOAT")
        sf.write(prof, clip, RATE, subtype="FLOAT")
        base = score(s, y)
        times = {m: [] for m in methods}
        results = {}
        for _ in range(runs):
            for name, f in methods.items():
                t = time.perf_counter()
                o = f(y, clip)
                times[name].append(time.perf_counter() - t)
                results[name] = score(s, o)
        rows[cond] = (base, {m: (results[m][0] - base[0], results[m][1] - base[1],
                                 float(np.median(times[m]))) for m in methods})
    print(f"speech: samples/speech_clean.wav ({len(s) / RATE:.1f} s, 16 kHz); {runs} alternating runs")
    print("| condition | input SNR / segSNR | method | SNR gain | segSNR gain | wall |")
    print("|---|---|---|---|---|---|")
    for cond, (base, res) in rows.items():
        for i, (m, (ds, dseg, t)) in enumerate(res.items()):
            lead = f"{cond} | {base[0]:.2f} / {base[1]:.2f} dB" if i == 0 else " | "
            print(f"| {lead} | {m} | {ds:+.2f} dB | {dseg:+.2f} dB | {t * 1e3:.0f} ms |")
    print()
    for cond, (base, res) in rows.items():
        sox = res["sox noisered 0.21"][0]
        best = max(res["sox noisered 0.21"][0], res["sox noisered 0.5"][0], res["noisereduce stationary"][0])
        for m in ["convoy denoise (profile)", "convoy denoise,model=spectral (profile)"]:
            c = res[m][0]
            print(f"{cond}: {m} - sox(0.21) = {c - sox:+.2f} dB (target >= +3), "
                  f"- best peer = {c - best:+.2f} dB (target >= +1.5)")


if __name__ == "__main__":
    main()
