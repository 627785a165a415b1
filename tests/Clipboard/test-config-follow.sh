#!/bin/bash
# test-config-follow.sh — the Clipboard follows its history size in
# ConfigServer without ever waiting for it (issue 12): started while
# ConfigServer is frozen (SIGSTOP) it serves at once, and it picks the
# setting up when ConfigServer resumes, then follows a change live.
#   test-config-follow.sh CLIPBOARD CONFIGSERVER CLIP CONFIG
set -u
clipboard=$1 configserver=$2 clip=$3 config=$4
. "$(dirname "$0")/../lib/cli-test.sh" config-follow
export XDG_CONFIG_HOME=$dir/config
history_lines() { [ "$("$clip" history | wc -l)" -eq "$1" ]; }
start_service "$configserver" config
cfg_pid=${pids[-1]}
"$config" set Clipboard History Size 2 || fail "config set 2"
kill -STOP "$cfg_pid"

# Frozen ConfigServer: the Clipboard's start makes no call that waits on it.
# (The old one blocked 5 s in a sync call at start: a 4 s call timeout here
# fails against it; the new one answers at once.)
start_service "$clipboard" clipboard --state-dir -
for i in 1 2 3 4; do
	echo "entry $i" | HAVEN_TIMEOUT_MS=4000 "$clip" copy || fail "copy $i while ConfigServer is frozen"
done
[ "$(HAVEN_TIMEOUT_MS=4000 "$clip" paste)" = "entry 4" ] || fail "paste while ConfigServer is frozen"
history_lines 4 || fail "history with the default size: $("$clip" history)"

# Resumed: the pending read is answered and the history trimmed to 2.
kill -CONT "$cfg_pid"
wait_for history_lines 2 || fail "setting not picked up after SIGCONT: $("$clip" history)"
[ "$("$clip" paste)" = "entry 4" ] || fail "current entry lost in the trim"

# A change is followed live.
"$config" set Clipboard History Size 3 || fail "config set 3"
grows() { echo more | "$clip" copy && history_lines 3; }
wait_for grows || fail "change to 3 not followed: $("$clip" history)"

# Removed: back to the default (the history grows past 3 again).
"$config" rm Clipboard History Size || fail "config rm"
for i in 1 2 3; do echo "again $i" | "$clip" copy; done
wait_for history_lines 6 || fail "default not back after removal: $("$clip" history)"
finish
