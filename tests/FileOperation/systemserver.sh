#!/bin/bash
# systemserver.sh SYSTEMSERVER FILEOP FSA ETC_DIR — FileOperation and
# FileSystemAccessServer as a session runs them: a real SystemServer
# (--user) from the shipped definitions, sandboxed as they say. fileop
# copies through the "fileop" portal (one instance per operation, gone
# after); fsa cat is denied with no agent and no NotificationServer, and
# allowed once `fsa agent` (the trusted agent) answers.
set -u
ss=$1 fileop=$2 fsa=$3 etc=$4
dir=$(mktemp -d /tmp/haven-fo-ss-XXXXXX)
export XDG_RUNTIME_DIR=$dir/run XDG_CONFIG_HOME=$dir/config XDG_STATE_HOME=$dir/state
unset HAVEN_PORTAL_DIR
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME" "$dir/etc"
cp "$etc/FileOperation.ini" "$etc/FileSystemAccessServer.ini" "$dir/etc/"
if [ -n "${SANITIZED:-}" ]; then
	sed -i -e '/^Pledge=/d' -e '/^Unveil=/d' "$dir"/etc/*.ini
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
fi
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
wait_for() { for _ in $(seq 1 600); do "$@" && return 0; sleep 0.1; done; return 1; }
"$ss" --user --config "$dir/etc" >"$dir/ss.log" 2>&1 &
sspid=$!
agent=
cleanup() { [ -n "$agent" ] && kill "$agent" 2>/dev/null; kill "$sspid" 2>/dev/null; wait "$sspid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
portal=$XDG_RUNTIME_DIR/haven/portal
wait_for test -S "$portal/fileop" || { cat "$dir/ss.log"; echo "no portal"; exit 1; }

mkdir -p "$dir/src/sub" && echo one >"$dir/src/a" && echo two >"$dir/src/sub/b"
"$fileop" copy "$dir/src" "$dir/dst" 2>"$dir/err" || fail "fileop through the portal: $(cat "$dir/err")"
diff -r "$dir/src" "$dir/dst" >/dev/null || fail "the copy differs"

echo "for your eyes" >"$dir/doc.txt"
"$fsa" cat "$dir/doc.txt" >"$dir/out" 2>"$dir/err" && fail "fsa cat allowed with nobody to ask"
grep -q "no prompt agent" "$dir/err" || fail "the refusal does not say why: $(cat "$dir/err")"
mkfifo "$dir/answers"
"$fsa" agent <"$dir/answers" >"$dir/agent.out" 2>&1 &
agent=$!
exec 3>"$dir/answers"
wait_for grep -q "answering" "$dir/agent.out" || fail "fsa agent did not register: $(cat "$dir/agent.out")"
"$fsa" cat "$dir/doc.txt" >"$dir/out" 2>"$dir/err" &
cat_pid=$!
wait_for grep -q "wants to read" "$dir/agent.out" || fail "the agent was not asked: $(cat "$dir/agent.out")"
echo o >&3
wait $cat_pid || fail "fsa cat after allow: $(cat "$dir/err")"
[ "$(cat "$dir/out")" = "for your eyes" ] || fail "fsa cat printed $(cat "$dir/out")"
exec 3>&-
grep -q "killed by SIGSYS\|sandbox violation" "$dir/ss.log" && fail "a sandbox violation: $(cat "$dir/ss.log")"
[ $fails -eq 0 ] && echo ok
exit $((fails > 0))
