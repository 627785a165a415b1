#!/bin/bash
# audio-bench — AudioServer against PulseAudio in the same run.
#  1. Server CPU per second of audio: 16 clients play 48 kHz stereo files
#     (8 of them 44.1 kHz, resampled by the server) into a null sink; the
#     server's CPU time (its threads' schedstat) over the run, divided by the
#     seconds of audio. The same 16 files through PulseAudio (Debian's,
#     started here in a temp XDG_RUNTIME_DIR/HOME with module-null-sink and
#     a private native socket) with 16 `paplay`. Prints the ratio (goal
#     <= 0.5x). Both decode in the client (libsndfile) and resample in the
#     server (AudioServer: libsoxr HQ; PulseAudio: its default method).
#  2. The lowest quantum with zero xruns: 16 clients on a null sink at
#     quantum 64, 128, 256, ... (goal 64).
#  3. ALSA: an alsa:null sink through a private ALSA configuration
#     (ALSA_CONFIG_PATH): the device path runs; this VM has no sound card.
#   audio-bench [--seconds N] [--quality Q]   (default 10 s, libsoxr high)
set -u
server=@SERVER@ cli=@CLI@
secs=10 quality=high
while [ $# -ge 2 ]; do
	case $1 in
	--seconds) secs=$2 ;;
	--quality) quality=$2 ;;
	*) echo "usage: audio-bench [--seconds N] [--quality Q]" >&2; exit 2 ;;
	esac
	shift 2
done
dir=$(mktemp -d /tmp/audio-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
command -v sox >/dev/null || { echo "audio-bench: needs sox (scripts/deps.txt)"; exit 1; }

for k in $(seq 0 15); do
	rate=$([ $((k % 2)) -eq 0 ] && echo 48000 || echo 44100)
	sox -n -r $rate -c 2 -b 16 "$dir/c$k.wav" synth "$secs" sine $((220 + 55 * k)) vol 0.05
done

# CPU time of every thread of $1, in microseconds (schedstat: ns on CPU;
# finer than utime+stime's 10 ms ticks, which made short runs noisy).
cpu_us() { cat /proc/"$1"/task/*/schedstat | awk '{t += $1} END {printf "%d\n", t / 1000}'; }

# $1: the server's pid; then the 16 client commands run with {} as the file.
measure() {
	local pid=$1; shift
	local t0 c=() k
	t0=$(cpu_us "$pid")
	for k in $(seq 0 15); do
		"${@//\{\}/$dir/c$k.wav}" >/dev/null 2>>"$dir/clients.log" &
		c+=($!)
	done
	wait "${c[@]}"
	echo $(( $(cpu_us "$pid") - t0 ))
}

start_haven() {
	"$server" --socket "$dir/audio" --sink null --resample-quality "$quality" "$@" 2>>"$dir/haven.log" &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$dir/audio" ] && break; sleep 0.05; done
}
stop_haven() { kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null; unset 'pids[-1]'; rm -f "$dir/audio"; }

echo "16 clients x $secs s (8 resampled 44.1 -> 48 kHz, libsoxr $quality), null sinks, $(nproc) CPUs"
start_haven --quantum 1024
haven=$(measure "${pids[-1]}" "$cli" --socket "$dir/audio" play {})
stop_haven

# PulseAudio, as a user would run it, in a private runtime dir.
export XDG_RUNTIME_DIR=$dir/pa-run HOME=$dir/pa-home
mkdir -p "$XDG_RUNTIME_DIR" "$HOME" && chmod 700 "$XDG_RUNTIME_DIR"
cat >"$dir/pa.pa" <<PA
load-module module-null-sink sink_name=bench rate=48000 channels=2
set-default-sink bench
load-module module-native-protocol-unix socket=$dir/pa.sock auth-anonymous=1
PA
if command -v pulseaudio >/dev/null && command -v paplay >/dev/null; then
	pulseaudio -n -F "$dir/pa.pa" --daemonize=no --exit-idle-time=-1 --disallow-exit \
		--log-target=stderr --log-level=error 2>>"$dir/pa.log" &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$dir/pa.sock" ] && break; sleep 0.05; done
	pulse=$(measure "${pids[-1]}" paplay --server "unix:$dir/pa.sock" {})
	kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null; unset 'pids[-1]'
else
	pulse=
fi
audio_s=$((16 * secs))
awk -v h="$haven" -v p="${pulse:-0}" -v a="$audio_s" 'BEGIN {
	printf "AudioServer: %.3f ms CPU per second of audio (%.1f ms over %d s of audio)\n", h / 1000 / a, h / 1000, a
	if (p > 0) {
		printf "PulseAudio:  %.3f ms CPU per second of audio (%.1f ms)\n", p / 1000 / a, p / 1000
		printf "ratio AudioServer / PulseAudio: %.2fx (goal <= 0.5x)\n", h / p
	} else print "PulseAudio: not measured (pulseaudio or paplay missing, or no CPU time)"
}'

# 2. The lowest quantum with zero xruns, 16 clients.
for q in 64 128 256 512 1024 2048; do
	start_haven --quantum $q
	measure "${pids[-1]}" "$cli" --socket "$dir/audio" play {} >/dev/null
	x=$("$cli" --socket "$dir/audio" list --json | sed 's/.*"xruns":\([0-9]*\).*/\1/')
	stop_haven
	echo "quantum $q: $x xruns"
	if [ "$x" = 0 ]; then echo "lowest quantum with zero xruns: $q (goal 64)"; break; fi
done

# 3. ALSA through its null plugin (no sound card here): the device path
#    (snd_pcm_open, set_params, writei) runs, paced by the clock.
cat >"$dir/asound.conf" <<ALSA
pcm.!default { type null }
pcm.null { type null }
ALSA
sox -n -r 44100 -c 2 -b 16 "$dir/short.wav" synth 1 sine 440 vol 0.1
ALSA_CONFIG_PATH=$dir/asound.conf "$server" --socket "$dir/audio" --sink alsa:null 2>>"$dir/alsa.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$dir/audio" ] && break; sleep 0.05; done
t0=$(cpu_us "${pids[-1]}")
if "$cli" --socket "$dir/audio" play "$dir/short.wav"; then
	json=$("$cli" --socket "$dir/audio" list --json)
	echo "alsa:null: a 1 s file played; $(echo "$json" | sed 's/.*"frames":\([0-9]*\),"xruns":\([0-9]*\).*/\1 frames mixed, \2 xruns/'), $(( ($(cpu_us "${pids[-1]}") - t0) / 1000 )) ms of CPU"
else
	echo "alsa:null: play failed: $(tail -3 "$dir/alsa.log")"
fi
stop_haven
