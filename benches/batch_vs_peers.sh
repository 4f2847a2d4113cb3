#!/usr/bin/env bash
# Batch runs against GNU parallel loops of the peers (issue 17): 200 files of 10 s stereo 48 kHz
# through a 65,536-tap stereo IR and through a denoiser, convoy --jobs 1 and --jobs 2 against
# `parallel -j2 ffmpeg ... afir` / `afftdn`, with hyperfine (wall and CPU). Needs sox, ffmpeg,
# GNU parallel and hyperfine (apt-get install -y sox ffmpeg parallel hyperfine).
#
#   benches/batch_vs_peers.sh [path/to/convoy] [workdir]
set -euo pipefail
CONVOY=$(realpath "${1:-target/release/convoy}")
W=${2:-/tmp/convoy-batch-bench}
mkdir -p "$W/in" "$W/tiny"
cd "$W"
if [ ! -f in/f200.wav ]; then
  for i in $(seq -w 1 200); do
    echo "sox -n -r 48000 -c 2 -b 16 in/f$i.wav synth 10 pinknoise vol 0.2"
  done | parallel -j2
  sox -n -r 48000 -c 2 -b 32 -e floating-point ir.wav synth 65536s whitenoise vol 0.05 fade l 0 65536s 65530s
  for i in $(seq -w 1 100); do sox -n -r 48000 -c 2 -b 16 "tiny/t$i.wav" synth 0.1 pinknoise vol 0.2; done
fi
AFIR='[0:a]apad=pad_len=65535[x];[x][1:a]afir=gtype=none:irgain=0.5:minp=32768:maxp=32768'
hyperfine -w 1 -r 3 --prepare 'rm -rf o; mkdir -p o' \
  "$CONVOY run -q -i in -o o --jobs 1 fir:ir.wav,mode=full" \
  "$CONVOY run -q -i in -o o --jobs 2 fir:ir.wav,mode=full" \
  "ls in | parallel -j2 ffmpeg -nostdin -hide_banner -loglevel error -y -i in/{} -i ir.wav -filter_complex '\"$AFIR\"' -c:a pcm_s16le o/{}"
hyperfine -w 1 -r 3 --prepare 'rm -rf o; mkdir -p o' \
  "$CONVOY run -q -i in -o o --jobs 1 denoise" \
  "$CONVOY run -q -i in -o o --jobs 2 denoise" \
  "ls in | parallel -j2 ffmpeg -nostdin -hide_banner -loglevel error -y -i in/{} -af afftdn -c:a pcm_s16le o/{}"
# Per-file overhead: 100 files of 0.1 s (divide by 100).
hyperfine -N -w 2 -r 10 "$CONVOY run -q -i tiny -o o_tiny --jobs 1 gain:1"
