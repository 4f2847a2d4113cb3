#!/usr/bin/env bash
# Real-time end-to-end run of the live path: real cpal + real ALSA (pulse ioplug) + a private
# PulseAudio with two null sinks. Follows ../shared/LIVE-TESTING.md (section 1).
#   pulse-e2e.sh WORKDIR APP [APP ARGS...]
# WORKDIR must hold in.raw (f32le mono 48 kHz stimulus). The script starts PulseAudio, feeds
# in.raw into null sink "mic" while APP runs (it records mic.monitor through ALSA pcm test_mic
# and plays into null sink "spk" through pcm test_spk), and leaves:
#   out.raw  what reached the speaker sink (spk.monitor), f32le mono 48 kHz
#   mic.raw  what reached the mic sink (mic.monitor), recorded alongside, for latency
#   app.log  APP's stderr and stdout
# STOP_AFTER=S sends the app SIGINT after S seconds (Ctrl-C).
# Verification is in Rust (tests/live_pulse.rs). Needs root for the packages (installed by
# .ci/run), no sound hardware.
set -euo pipefail
W=${1:?workdir}; shift
APP=${1:?app}; shift
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# The server, its two null sinks and their keepers (tests/live/pulse-server.sh), ended on exit.
bash "$(dirname "$0")/pulse-server.sh" "$W"
PIDS+=($(cat "$W/pa.pid") $(cat "$W/keepers.pid"))
set -a; . "$W/env"; set +a
F="--format=float32le --rate=48000 --channels=1 --raw"

pacat -r -d spk.monitor $F --latency-msec=10 > "$W/out.raw" & REC=$!; PIDS+=($REC)
pacat -r -d mic.monitor $F --latency-msec=10 > "$W/mic.raw" & MICREC=$!; PIDS+=($MICREC)
"$APP" "$@" > "$W/app.log" 2>&1 & APPPID=$!
# STOP_AFTER=S: Ctrl-C the app after S seconds instead of letting --duration end it.
if [ -n "${STOP_AFTER:-}" ]; then (sleep "$STOP_AFTER"; kill -INT $APPPID 2>/dev/null || true) & PIDS+=($!); fi
sleep 1.0
pacat -p -d mic $F --latency-msec=10 "$W/in.raw"
rc=0; wait $APPPID || rc=$?
sleep 0.3; kill $REC $MICREC; wait $REC $MICREC 2>/dev/null || true
cat "$W/app.log"
exit $rc
