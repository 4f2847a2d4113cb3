#!/usr/bin/env bash
# Starts a private PulseAudio with two null sinks ("mic", "spk") in WORKDIR and leaves it
# running (../shared/LIVE-TESTING.md, section 1), for tests that kill or freeze the server.
#   pulse-server.sh WORKDIR
# Writes WORKDIR/env (KEY=VALUE lines for the program under test: PULSE_SERVER,
# ALSA_CONFIG_PATH, ...), WORKDIR/pa.pid (the server) and WORKDIR/keepers.pid (the two
# recorders that keep the sinks awake). The caller ends them all.
set -euo pipefail
W=${1:?workdir}
mkdir -p "$W/run" "$W/home"; chmod 700 "$W/run"
export XDG_RUNTIME_DIR="$W/run" PULSE_SERVER="unix:$W/native"
# Plain socket transport (see pulse-e2e.sh).
printf 'enable-shm = no\nenable-memfd = no\n' > "$W/client.conf"
export PULSE_CLIENTCONFIG="$W/client.conf"
cat > "$W/test.pa" <<PA
load-module module-native-protocol-unix auth-anonymous=1 socket=$W/native
load-module module-null-sink sink_name=mic rate=48000 channels=1 format=float32le sink_properties=device.description=test-mic
load-module module-null-sink sink_name=spk rate=48000 channels=1 format=float32le sink_properties=device.description=test-speaker
set-default-sink spk
set-default-source mic.monitor
PA
HOME="$W/home" setsid pulseaudio -n -F "$W/test.pa" --daemonize=no --exit-idle-time=-1 --disallow-exit \
  --use-pid-file=no --disable-shm=yes --enable-memfd=no --realtime=false --high-priority=false \
  --log-target=file:"$W/pa.log" </dev/null >/dev/null 2>&1 &
echo $! > "$W/pa.pid"
for _ in $(seq 1 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
pactl info >/dev/null || { cat "$W/pa.log"; exit 1; }
F="--format=float32le --rate=48000 --channels=1 --raw"
setsid pacat -r -d spk.monitor $F --latency-msec=10 > "$W/keep_spk.raw" 2>/dev/null </dev/null & K1=$!
setsid pacat -r -d mic.monitor $F --latency-msec=10 > "$W/keep_mic.raw" 2>/dev/null </dev/null & K2=$!
echo "$K1 $K2" > "$W/keepers.pid"
for _ in $(seq 1 100); do
  [ -s "$W/keep_spk.raw" ] && [ -s "$W/keep_mic.raw" ] && break; sleep 0.05
done
[ -s "$W/keep_spk.raw" ] && [ -s "$W/keep_mic.raw" ] || { echo "pulse null sinks never ran"; exit 1; }
cat > "$W/asound.conf" <<ALSA
</usr/share/alsa/alsa.conf>
pcm.test_mic { type pulse device "mic.monitor" hint { show on description "test microphone" } }
pcm.test_spk { type pulse device "spk"         hint { show on description "test speaker" } }
ALSA
cat > "$W/env" <<ENV
XDG_RUNTIME_DIR=$W/run
PULSE_SERVER=unix:$W/native
PULSE_CLIENTCONFIG=$W/client.conf
ALSA_CONFIG_PATH=$W/asound.conf
ENV
