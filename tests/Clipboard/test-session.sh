#!/bin/bash
# test-session.sh — Clipboard and NotificationServer as a session runs them:
# under a real SystemServer (--user) from the shipped definitions, sandboxed,
# lazily started, the history size taken from ConfigServer (and changed
# live), then SIGKILLed and respawned by the manager with nothing
# acknowledged lost.
#   test-session.sh SYSTEMSERVER SVC CLIP NOTIFY ETC_DIR [CONFIG]
. "$(dirname "$0")/../lib/cli-test.sh" clipboard-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 clip=$3 notify=$4 etc=$5 config=${6:-}
cp "$etc/Clipboard.ini" "$etc/NotificationServer.ini" "$dir/etc/"
[ -n "$config" ] && cp "$etc/ConfigServer.ini" "$dir/etc/"
session_start "$ss" clipboard notify
history_lines() { [ "$("$clip" history | wc -l)" -eq "$1" ]; }

if [ -n "$config" ]; then
	"$config" set Clipboard History Size 3 || fail "config set"
fi
for i in 1 2 3 4 5; do echo "entry $i" | "$clip" copy || fail "copy $i"; done
[ "$("$clip" paste)" = "entry 5" ] || fail "paste under SystemServer"
if [ -n "$config" ]; then
	history_lines 3 || fail "history size from ConfigServer: $("$clip" history)"
	# Changed live: the Clipboard hears ConfigServer's event and trims.
	"$config" set Clipboard History Size 2 || fail "config set 2"
	wait_for history_lines 2 || fail "live history size change not applied"
	# ConfigServer crashes and comes back: the Clipboard reconnects and
	# follows the setting again.
	# (It is lazy: the manager starts it again when someone connects.)
	kill -9 "$(svc_pid ConfigServer)"
	"$config" set Clipboard History Size 4 || fail "config set 4"
	grows() { echo more | "$clip" copy && history_lines 4; }
	wait_for grows || fail "history size not followed after ConfigServer's respawn"
	echo "entry 5" | "$clip" copy
else
	history_lines 5 || fail "history: $("$clip" history)"
fi
lines=$("$clip" history | wc -l)

# Both run confined: a seccomp filter and no_new_privs (the promises
# themselves are tested by tests/sandbox; here: that the definitions and the
# services' own narrowing take effect).
confined() { grep -q $'^Seccomp:\t2$' "/proc/$1/status" && grep -q $'^NoNewPrivs:\t1$' "/proc/$1/status"; }
"$notify" list >/dev/null || fail "notify list"
for s in Clipboard NotificationServer; do
	p=$(svc_pid $s)
	[ -n "$p" ] && confined "$p" || fail "$s is not sandboxed: $(grep -E 'Seccomp|NoNewPrivs' "/proc/$p/status")"
done

# SIGKILL; the manager respawns; the clipboard and its history are intact.
pid=$(svc_pid Clipboard)
[ -n "$pid" ] || fail "no Clipboard pid"
kill -9 "$pid"
[ "$("$clip" paste)" = "entry 5" ] || fail "clipboard lost in the crash"
history_lines "$lines" || fail "history lost in the crash"
wait_for svc_respawned Clipboard "$pid" || fail "not respawned"

id=$("$notify" send "Saved" "entry 5" --action open:Open) || fail "notify send"
"$notify" dnd on || fail "dnd on"
pid=$(svc_pid NotificationServer)
kill -9 "$pid"
"$notify" list | grep -q $'^'"$id"$'\tshown\tnormal\tSaved\tentry 5\topen:Open$' || fail "notification lost in the crash"
[ "$("$notify" dnd)" = on ] || fail "DND lost in the crash"
"$notify" invoke "$id" open || fail "invoke after respawn"

"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "$sspid"; rc=$?
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
session_finish
