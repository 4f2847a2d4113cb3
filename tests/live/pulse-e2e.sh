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

mkdir -p "$W/run" "$W/home"; chmod 700 "$W/run"
export XDG_RUNTIME_DIR="$W/run" PULSE_SERVER="unix:$W/native"
# Plain socket transport: with shared memory, PulseAudio 16 hits "non-registered memfd ID"
# (pulseaudio issue 824) and now and then drops a client ("Connection terminated").
printf 'enable-shm = no\nenable-memfd = no\n' > "$W/client.conf"
export PULSE_CLIENTCONFIG="$W/client.conf"
cat > "$W/test.pa" <<PA
load-module module-native-protocol-unix auth-anonymous=1 socket=$W/native
load-module module-null-sink sink_name=mic rate=48000 channels=1 format=float32le sink_properties=device.description=test-mic
load-module module-null-sink sink_name=spk rate=48000 channels=1 format=float32le sink_properties=device.description=test-speaker
set-default-sink spk
set-default-source mic.monitor
PA
HOME="$W/home" pulseaudio -n -F "$W/test.pa" --daemonize=no --exit-idle-time=-1 --disallow-exit \
  --use-pid-file=no --disable-shm=yes --enable-memfd=no --realtime=false --high-priority=false --log-target=file:"$W/pa.log" </dev/null >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
pactl info >/dev/null || { cat "$W/pa.log"; exit 1; }

# Keep both sinks awake: a fresh null sink sleeps ~2 s; wait until both keepers have audio.
F="--format=float32le --rate=48000 --channels=1 --raw"
pacat -r -d spk.monitor $F --latency-msec=10 > "$W/keep_spk.raw" & PIDS+=($!)
pacat -r -d mic.monitor $F --latency-msec=10 > "$W/keep_mic.raw" & PIDS+=($!)
for _ in $(seq 1 100); do
  [ -s "$W/keep_spk.raw" ] && [ -s "$W/keep_mic.raw" ] && break; sleep 0.05
done
[ -s "$W/keep_spk.raw" ] && [ -s "$W/keep_mic.raw" ] || { echo "pulse null sinks never ran"; exit 1; }

cat > "$W/asound.conf" <<ALSA
</usr/share/alsa/alsa.conf>
pcm.test_mic { type pulse device "mic.monitor" hint { show on description "test microphone" } }
pcm.test_spk { type pulse device "spk"         hint { show on description "test speaker" } }
ALSA
export ALSA_CONFIG_PATH="$W/asound.conf"

pacat -r -d spk.monitor $F --latency-msec=10 > "$W/out.raw" & REC=$!; PIDS+=($REC)
pacat -r -d mic.monitor $F --latency-msec=10 > "$W/mic.raw" & MICREC=$!; PIDS+=($MICREC)
"$APP" "$@" > "$W/app.log" 2>&1 & APPPID=$!
# STOP_AFTER=S: Ctrl-C the app after S seconds instead of letting --duration end it.
if [ -n "${STOP_AFTER:-}" ]; then (sleep "$STOP_AFTER"; kill -INT $APPPID 2>/dev/null || true) & PIDS+=($!); fi
sleep 0.5
pacat -p -d mic $F --latency-msec=10 "$W/in.raw"
rc=0; wait $APPPID || rc=$?
sleep 0.3; kill $REC $MICREC; wait $REC $MICREC 2>/dev/null || true
cat "$W/app.log"
exit $rc
