#!/bin/bash
# test-session.sh — AudioServer as a session runs it: under a real
# SystemServer (--user) from the shipped definition (its Socket=, Pledge=
# and Arguments= as shipped), started lazily by the first `audio`, confined,
# playing a file through the CLI while `audio record` records the sink,
# its quantum taken from ConfigServer's
# Audio/Mixer/Quantum (also shipped), and respawned after a SIGKILL.
#   test-session.sh SYSTEMSERVER SVC AUDIO ETC_DIR CONFIG
. "$(dirname "$0")/../lib/cli-test.sh" audio-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 audio=$3 etc=$4 config=$5
cp "$etc/AudioServer.ini" "$etc/ConfigServer.ini" "$dir/etc/"
session_start "$ss" audio config
# Set before AudioServer starts: read when it does, without waiting for it.
expect_rc 0 "$config" set Audio Mixer Quantum 512

[ -z "$(svc_pid AudioServer)" ] || fail "AudioServer started before its first client (Lazy=true)"
expect_rc 0 "$audio" list --json
grep -q '"sinks":\[{"name":"null","kind":"null"' "$dir/out" || fail "audio list: $(cat "$dir/out")"
wait_for sh -c "'$audio' list --json | grep -q '\"quantum\":512'" ||
	fail "ConfigServer's quantum 512 not applied: $("$audio" list --json)"
pid=$(svc_pid AudioServer)
[ -n "$pid" ] || fail "no AudioServer pid"
grep -q $'^Seccomp:\t2$' "/proc/$pid/status" && grep -q $'^NoNewPrivs:\t1$' "/proc/$pid/status" ||
	fail "AudioServer is not sandboxed: $(grep -E 'Seccomp|NoNewPrivs' "/proc/$pid/status")"

# A short file, decoded by the CLI, played through the ring under the sandbox.
if command -v sox >/dev/null; then
	sox -n -r 44100 -c 1 "$dir/beep.wav" synth 0.2 sine 880 vol 0.3 || fail "sox"
	# Recorded meanwhile into a file the CLI opens and hands over as an fd.
	"$audio" record --sink null "$dir/rec.wav" --seconds 1 2>"$dir/rec.err" &
	rec=$!
	sleep 0.2
	expect_rc 0 "$audio" play "$dir/beep.wav"
	wait $rec || fail "audio record: $(cat "$dir/rec.err")"
	peak=$(sox "$dir/rec.wav" -n stat 2>&1 | sed -n 's/^Maximum amplitude: *//p')
	awk -v p="$peak" 'BEGIN { exit !(p > 0.25 && p < 0.35) }' ||
		fail "the recording's peak is '$peak', not the beep's 0.3: $(sox "$dir/rec.wav" -n stat 2>&1)"
	expect_rc 0 "$audio" volume 0.5
	expect_rc 0 "$audio" list
	grep -q $'^null\tnull\t48000\t512\t0.50' "$dir/out" || fail "volume not listed: $(cat "$dir/out")"
fi
# A change while it runs applies at the next cycle.
expect_rc 0 "$config" set Audio Mixer Quantum 128
wait_for sh -c "'$audio' list --json | grep -q '\"quantum\":128'" || fail "quantum 128 not applied"

kill -9 "$pid"
expect_rc 0 "$audio" list
wait_for svc_respawned AudioServer "$pid" || fail "not respawned"

"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "${pids[-1]}"; rc=$?
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
session_finish
