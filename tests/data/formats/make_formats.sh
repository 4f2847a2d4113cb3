#!/usr/bin/env bash
# Makes the audio-format fixtures of tests/formats.rs (issue 17) with ffmpeg (5.1 here) and sox:
# one source signal (0.25 s, stereo, 44.1 kHz: a 997 Hz tone on the left, a 3 kHz tone plus noise
# on the right, starting at full scale so a lost or added sample shows), encoded in every format
# convoy decodes, and ffmpeg's own decode of each lossy file as a float WAV (the reference:
# convoy must give the same sample count and the same samples within -90 dB).
#   bash tests/data/formats/make_formats.sh
set -euo pipefail
cd "$(dirname "$0")"
python3 - <<'PY'
import numpy as np, wave
rate, n = 44100, 11025
t = np.arange(n) / rate
rng = np.random.default_rng(17)
left = 0.9 * np.cos(2 * np.pi * 997 * t)
right = 0.5 * np.sin(2 * np.pi * 3000 * t) + 0.1 * rng.standard_normal(n)
x = np.clip(np.stack([left, right], 1), -1, 1)
def write(path, bits):
    full = 2 ** (bits - 1)
    q = np.clip(np.round(x * full), -full, full - 1).astype('<i4')
    b = q.astype('<i2').tobytes() if bits == 16 else b''.join(int(v).to_bytes(3, 'little', signed=True) for v in q.ravel())
    with wave.open(path, 'wb') as w:
        w.setnchannels(2); w.setsampwidth(bits // 8); w.setframerate(rate); w.writeframes(b)
write('src16.wav', 16)
write('src24.wav', 24)
PY
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
# Lossless: must decode to exactly src16.wav / src24.wav.
ff -i src16.wav -c:a flac s16.flac
ff -i src24.wav -c:a flac s24.flac
ff -i src16.wav -c:a pcm_s16be s16.aiff
ff -i src24.wav -c:a pcm_s24be s24.aiff
ff -i src16.wav -c:a pcm_s16le s16.caf
ff -i src16.wav -c:a alac s16_alac.m4a
ff -i src16.wav -c:a flac s16_flac.ogg
# Lossy: must match ffmpeg's decode (written next to each as *.ref.wav, f32).
ff -i src16.wav -c:a libmp3lame -b:a 192k s16.mp3
ff -i src16.wav -c:a libvorbis -q:a 6 s16.ogg
ff -i src16.wav -c:a aac -b:a 192k s16_aac.m4a
for f in s16.mp3 s16.ogg s16_aac.m4a; do ff -i "$f" -c:a pcm_f32le "${f%.*}_${f##*.}.ref.wav"; done
# Wave64 (Sony's 64-bit RIFF) through convoy's own WAV reader; Opus, which no decoder here reads.
ff -i src24.wav -c:a pcm_s24le s24.w64
ff -i src16.wav -c:a libopus -b:a 64k s16.opus
# A mono IR (the left channel's first 441 frames) as WAV and FLAC, for fir:, taps:@, convolve.
ff -i src16.wav -af "pan=mono|c0=c0,atrim=end_sample=441" -c:a pcm_s16le ir.wav
ff -i ir.wav -c:a flac ir.flac
# Not audio, a FLAC cut inside its header, and one cut after 4608 of its frames.
printf 'PK\003\004 not audio at all' > not_audio.zip
head -c 3000 s16.flac > cut_header.flac
head -c 20000 s16.flac > cut.flac
ls -l
