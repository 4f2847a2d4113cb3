#!/usr/bin/env python3
"""Denoising on real recordings (issue 18): convoy `denoise` against RNNoise, noisereduce and
SoX, scored with PESQ-WB, STOI and SNR.

    python3 benches/denoise_real.py fetch SRC        # the public recordings (GitHub, ~12 MB)
    python3 benches/denoise_real.py build SRC SET    # the development set: 20 noisy/clean pairs
    python3 benches/denoise_real.py score SET [--convoy BIN] [--only NAME,...] [--try NAME=WORDS]...
                                             [--cmd NAME=SHELL]...

`--try` adds convoy with other stage words; `--cmd` any shell command, with {noisy}, {clip},
{out}, {tmp} and {rate} filled in (e.g. another tool, or two in a row).

Needs numpy, scipy, soundfile, pesq, pystoi, noisereduce (pip), sox and ffmpeg (with arnndn);
not part of the tests. No recording is committed: `fetch` takes them from the repositories that
publish them, at fixed commits.

Sources (all real recordings, none synthetic):
  speech, 16 kHz   SiSEC 2011 dev1 read speech, 2 female + 2 male takes of 10 s (as shipped in
                   LCAV/pyroomacoustics' examples); the P.862 test pair of ludlows/python-pesq
                   (speech, and the same speech in real babble at 0 dB)
  speech, 48 kHz   freesound #33711 (read speech, as shipped in Rikorose/DeepFilterNet's assets)
  noise            Google Speech Commands' background recordings, 16 kHz, CC BY 4.0 (dish
                   washing, an exercise bike, a running tap; via pyroomacoustics); freesound
                   #573577 (48 kHz, via DeepFilterNet)
  RNNoise          ffmpeg `arnndn` with richardpl/arnndn-models' std.rnnn (Xiph's RNNoise model
                   as a file, resampled to 48 kHz and back by ffmpeg), and convoy's own
                   `denoise,model=rnnoise` (nnnoiseless, Xiph's weights built in, resampled by
                   rubato, primed offline on the first 2 s)

Conditions (20): each 16 kHz speech take in each of the 3 noises, at 0, 5 or 10 dB (rotating),
12; the P.862 babble pair (its noise is the noisy file minus the clean one, so its profile is
the very noise: marked "exact profile"); one take in the bike noise with the noise stepping up
10 dB half way (non-stationary); at 48 kHz the freesound speech in its noise at 0, 5, 10 dB and
in the 3 noises (upsampled) at 5 dB. SNR is the ratio of whole-file powers. Each noise's
profile clip for the methods that take one is 2 s of the same noise from another stretch.

Scores: PESQ-WB (ITU-T P.862.2, `pesq`, at 16 kHz: 48 kHz files are resampled for it), STOI
(`pystoi`, at the file's rate), and SNR after aligning (cross-correlation, +-2000 samples) and
a least-squares gain; CPU seconds (user+sys of the child) per method summed over the set, and
one 60 s file at 48 kHz.
"""
import os, resource, subprocess, sys, tempfile
import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

# (local name, repository, commit, path)
FILES = [
    ("f1.wav", "LCAV/pyroomacoustics", "4ac8f49ec9e48dab841b0429b7c183f1a379abf2",
     "examples/input_samples/SiSec2011_Speech/dev1_female4_src_1.wav"),
    ("f2.wav", "LCAV/pyroomacoustics", "4ac8f49ec9e48dab841b0429b7c183f1a379abf2",
     "examples/input_samples/SiSec2011_Speech/dev1_female4_src_2.wav"),
    ("m1.wav", "LCAV/pyroomacoustics", "4ac8f49ec9e48dab841b0429b7c183f1a379abf2",
     "examples/input_samples/SiSec2011_Speech/dev1_male4_src_1.wav"),
    ("m2.wav", "LCAV/pyroomacoustics", "4ac8f49ec9e48dab841b0429b7c183f1a379abf2",
     "examples/input_samples/SiSec2011_Speech/dev1_male4_src_2.wav"),
    ("dishes.wav", "LCAV/pyroomacoustics", "6fe43fecb7c358ac9aaa054e7e73641189f1afff", "examples/input_samples/doing_the_dishes.wav"),
    ("bike.wav", "LCAV/pyroomacoustics", "6fe43fecb7c358ac9aaa054e7e73641189f1afff", "notebooks/exercise_bike.wav"),
    ("tap.wav", "LCAV/pyroomacoustics", "0b72e7558bbcd0593fc742c0a339e11f16d7b640",
     "examples/input_samples/running_tap.wav"),
    ("pesq_clean.wav", "ludlows/python-pesq", "05f835a196ea1aea01e6d7e51c38a242e9049b64", "audio/speech.wav"),
    ("pesq_babble.wav", "ludlows/python-pesq", "05f835a196ea1aea01e6d7e51c38a242e9049b64", "audio/speech_bab_0dB.wav"),
    ("fs_speech48.wav", "Rikorose/DeepFilterNet", "d375b2d8309e0935d165700c91da9de862a99c31", "assets/clean_freesound_33711.wav"),
    ("fs_noise48.wav", "Rikorose/DeepFilterNet", "d375b2d8309e0935d165700c91da9de862a99c31", "assets/noise_freesound_573577.wav"),
    ("std.rnnn", "richardpl/arnndn-models", "0fda24c46d78f0207d820bb970fbe85c1971b39c", "std.rnnn"),
]

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fetch(src):
    os.makedirs(src, exist_ok=True)
    for name, repo, commit, path in FILES:
        dst = os.path.join(src, name)
        if not os.path.exists(dst):
            url = f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"
            subprocess.run(["curl", "-fsSL", "-o", dst, url], check=True)
        print(dst)


def load(path, rate=None):
    x, r = sf.read(path, dtype="float64")
    if x.ndim > 1:
        x = x.mean(axis=1)
    if rate and r != rate:
        g = np.gcd(r, rate)
        x, r = resample_poly(x, rate // g, r // g), rate
    return x, r


def stretch(noise, start, n):
    """n samples of `noise` from `start`, wrapping around (a short noise is repeated)."""
    idx = (start + np.arange(n)) % len(noise)
    return noise[idx]


def mix(clean, noise, snr):
    g = np.sqrt(np.mean(clean ** 2) / (np.mean(noise ** 2) * 10 ** (snr / 10)))
    return clean + g * noise, g


def build(src, out):
    os.makedirs(out, exist_ok=True)
    speech = {k: load(os.path.join(src, f"{k}.wav"))[0] for k in ("f1", "m1", "f2", "m2")}
    noises16 = {k: load(os.path.join(src, f"{k}.wav"))[0] for k in ("dishes", "bike", "tap")}
    conds = []  # (name, rate, clean, noisy, profile clip, note)
    for i, (sk, s) in enumerate(speech.items()):
        for j, (nk, nz) in enumerate(noises16.items()):
            snr = (0, 5, 10)[(i + j) % 3]
            # The mix takes the noise from 20 s on; the profile is its first 2 s.
            noisy, g = mix(s, stretch(nz, 20 * 16000 + 3 * 16000 * i, len(s)), snr)
            conds.append((f"16k {sk} {nk} {snr} dB", 16000, s, noisy, g * nz[:2 * 16000], ""))
    c, _ = load(os.path.join(src, "pesq_clean.wav"))
    b, _ = load(os.path.join(src, "pesq_babble.wav"))
    conds.append(("16k P.862 babble 0 dB", 16000, c, b, b - c, "exact profile"))
    s = speech["f1"]
    nz = stretch(noises16["bike"], 30 * 16000, len(s))
    step = np.where(np.arange(len(s)) < len(s) // 2, 1.0, 10 ** 0.5)
    noisy, g = mix(s, nz * step, 5)
    conds.append(("16k f1 bike +10 dB step", 16000, s, noisy, g * noises16["bike"][:2 * 16000],
                  "non-stationary"))
    s48, _ = load(os.path.join(src, "fs_speech48.wav"))
    n48, _ = load(os.path.join(src, "fs_noise48.wav"))
    for snr in (0, 5, 10):
        noisy, g = mix(s48, stretch(n48, 2 * 48000, len(s48)), snr)
        conds.append((f"48k fs {snr} dB", 48000, s48, noisy, g * n48[:2 * 48000], ""))
    for nk in ("dishes", "bike", "tap"):
        nz = resample_poly(noises16[nk], 3, 1)
        noisy, g = mix(s48, stretch(nz, 40 * 48000, len(s48)), 5)
        conds.append((f"48k fs {nk} 5 dB", 48000, s48, noisy, g * nz[:2 * 48000], ""))
    with open(os.path.join(out, "conditions.txt"), "w") as f:
        for k, (name, rate, clean, noisy, clip, note) in enumerate(conds):
            peak = max(np.max(np.abs(noisy)), np.max(np.abs(clean)))
            scale = 0.9 / peak if peak > 0.9 else 1.0
            base = os.path.join(out, f"c{k:02d}")
            sf.write(base + ".clean.wav", clean * scale, rate, subtype="FLOAT")
            sf.write(base + ".noisy.wav", noisy * scale, rate, subtype="FLOAT")
            sf.write(base + ".noise.wav", clip * scale, rate, subtype="FLOAT")
            f.write(f"c{k:02d}\t{rate}\t{name}\t{note}\n")
            print(f"c{k:02d} {name} {len(clean) / rate:.1f} s {note}")


def align(ref, y):
    y = np.pad(y, (0, max(0, len(ref) - len(y))))[:len(ref)]
    size = 2 * len(ref)
    xc = np.fft.irfft(np.fft.rfft(y, size) * np.conj(np.fft.rfft(ref, size)))
    lags = np.r_[0:2000, size - 2000:size]
    lag = lags[np.argmax(xc[lags])]
    return np.roll(y, -(lag if lag < size // 2 else lag - size))


def score(ref, y, rate):
    from pesq import pesq
    from pystoi import stoi
    y = align(ref, y)
    g = np.dot(ref, y) / max(np.dot(y, y), 1e-30)
    snr = 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - g * y) ** 2))
    r16, y16 = (ref, y) if rate == 16000 else (resample_poly(ref, 1, 3), resample_poly(y, 1, 3))
    try:
        p = pesq(16000, r16, y16, "wb")
    except Exception:  # noqa: BLE001 (pesq raises on a silent output)
        p = float("nan")
    return p, stoi(ref, y, rate, extended=False), snr


def methods(convoy, rnn, extra):
    m = {
        "noisy input": None,
        "convoy denoise (learned)": f"{convoy} run -q -i {{noisy}} -o {{out}} denoise",
        "convoy denoise (profile)": f"{convoy} run -q -i {{noisy}} -o {{out}} denoise,profile={{clip}}",
        "convoy denoise,model=spectral (learned)": f"{convoy} run -q -i {{noisy}} -o {{out}} denoise,model=spectral",
        "convoy denoise,model=spectral (profile)": f"{convoy} run -q -i {{noisy}} -o {{out}} "
                                                  f"denoise,model=spectral,profile={{clip}}",
        "convoy denoise,model=rnnoise (nnnoiseless)": f"{convoy} run -q -i {{noisy}} -o {{out}} denoise,model=rnnoise",
        "RNNoise (arnndn std.rnnn)": f"ffmpeg -v error -y -i {{noisy}} -af aresample=48000,arnndn=m={rnn},"
                                    f"aresample={{rate}} -c:a pcm_f32le {{out}}",
        "noisereduce stationary": "python3 -c \"import soundfile as sf, noisereduce as nr; "
                                  "y, r = sf.read('{noisy}'); c, _ = sf.read('{clip}'); "
                                  "sf.write('{out}', nr.reduce_noise(y=y, sr=r, y_noise=c, stationary=True), r, subtype='FLOAT')\"",
        "sox noisered 0.21": "sox {clip} -n noiseprof {tmp}/p.prof && sox {noisy} {out} noisered {tmp}/p.prof 0.21",
    }
    for e in extra:
        name, words = e.split("=", 1)
        if name.startswith("!"):
            m[name[1:]] = words  # a shell command with {noisy} {clip} {out} {tmp} {rate}
        else:
            m[name] = f"{convoy} run -q -i {{noisy}} -o {{out}} {words}"
    return m


def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_score(setdir, convoy, only, extra):
    src_rnn = os.path.join(os.path.dirname(os.path.abspath(setdir)), "src", "std.rnnn")
    rnn = os.environ.get("RNNOISE_MODEL", src_rnn)
    ms = methods(convoy, rnn, extra)
    if only:
        keep = set(only) | {"noisy input"} | {e.split("=", 1)[0].lstrip("!") for e in extra}
        ms = {k: v for k, v in ms.items() if k in keep or any(k.startswith(o) for o in only)}
    conds = [l.rstrip("\n").split("\t") for l in open(os.path.join(setdir, "conditions.txt"))]
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "out.wav")
    rows, secs = {}, {k: 0.0 for k in ms}
    for key, rate, name, note in conds:
        rate = int(rate)
        base = os.path.join(setdir, key)
        clean = load(base + ".clean.wav")[0]
        noisy_path = base + ".noisy.wav"
        for mname, cmd in ms.items():
            if cmd is None:
                y = load(noisy_path)[0]
            else:
                t = cpu()
                subprocess.run(cmd.format(noisy=noisy_path, clip=base + ".noise.wav", out=out,
                                          tmp=tmp, rate=rate), shell=True, check=True)
                secs[mname] += cpu() - t
                y = load(out)[0]
            rows.setdefault(name, {})[mname] = score(clean, y, rate)
        print(f"{name}: " + ", ".join(f"{m.split(' (')[0]} {p:.3f}/{s:.3f}/{n:+.1f}"
                                      for m, (p, s, n) in rows[name].items()), flush=True)
    names = list(ms)
    print()
    print("| condition | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for cond, r in rows.items():
        inp = r["noisy input"]
        cells = []
        for m in names:
            p, s, n = r[m]
            cells.append(f"{p:.2f} / {s:.3f} / {n - inp[2]:+.1f}" if m != "noisy input"
                         else f"{p:.2f} / {s:.3f} / {n:.1f} dB")
        print(f"| {cond} | " + " | ".join(cells) + " |")
    print()
    print("| method | mean PESQ-WB | mean STOI | mean SNR gain | min STOI - input | min SNR gain | CPU over the set |")
    print("|---|---|---|---|---|---|---|")
    for m in names:
        p = np.nanmean([r[m][0] for r in rows.values()])
        s = np.mean([r[m][1] for r in rows.values()])
        g = np.mean([r[m][2] - r["noisy input"][2] for r in rows.values()])
        ds = min(r[m][1] - r["noisy input"][1] for r in rows.values())
        dg = min(r[m][2] - r["noisy input"][2] for r in rows.values())
        print(f"| {m} | {p:.3f} | {s:.3f} | {g:+.2f} dB | {ds:+.3f} | {dg:+.2f} dB | {secs[m]:.2f} s |")


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    if a[0] == "fetch":
        fetch(a[1])
    elif a[0] == "build":
        build(a[1], a[2])
    elif a[0] == "score":
        convoy = os.path.join(here, "target/release/convoy")
        only, extra = [], []
        rest = a[2:]
        while rest:
            k = rest.pop(0)
            if k == "--convoy":
                convoy = rest.pop(0)
            elif k == "--only":
                only = rest.pop(0).split(",")
            elif k == "--try":
                extra.append(rest.pop(0))
            elif k == "--cmd":
                extra.append("!" + rest.pop(0))
        run_score(a[1], convoy, only, extra)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
