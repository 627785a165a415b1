#!/bin/bash
# systemserver.sh SYSTEMSERVER FILEOP FSA ETC_DIR — FileOperation and
# FileSystemAccessServer as a session runs them: a real SystemServer
# (--user) from the shipped definitions, sandboxed as they say. fileop
# copies through the "fileop" portal (one instance per operation, gone
# after); fsa cat is denied with no agent and no NotificationServer, and
# allowed once `fsa agent` (the trusted agent) answers.
. "$(dirname "$0")/../lib/cli-test.sh" fileop-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 fileop=$2 fsa=$3 etc=$4
cp "$etc/FileOperation.ini" "$etc/FileSystemAccessServer.ini" "$dir/etc/"
session_start "$ss" fileop

mkdir -p "$dir/src/sub" && echo one >"$dir/src/a" && echo two >"$dir/src/sub/b"
"$fileop" copy "$dir/src" "$dir/dst" 2>"$dir/err" || fail "fileop through the portal: $(cat "$dir/err")"
diff -r "$dir/src" "$dir/dst" >/dev/null || fail "the copy differs"

echo "for your eyes" >"$dir/doc.txt"
"$fsa" cat "$dir/doc.txt" >"$dir/out" 2>"$dir/err" && fail "fsa cat allowed with nobody to ask"
grep -q "no prompt agent" "$dir/err" || fail "the refusal does not say why: $(cat "$dir/err")"
mkfifo "$dir/answers"
"$fsa" agent <"$dir/answers" >"$dir/agent.out" 2>&1 &
agent=$!
pids+=("$agent")
exec 3>"$dir/answers"
wait_for grep -q "answering" "$dir/agent.out" || fail "fsa agent did not register: $(cat "$dir/agent.out")"
"$fsa" cat "$dir/doc.txt" >"$dir/out" 2>"$dir/err" &
cat_pid=$!
wait_for grep -q "wants to read" "$dir/agent.out" || fail "the agent was not asked: $(cat "$dir/agent.out")"
echo o >&3
wait $cat_pid || fail "fsa cat after allow: $(cat "$dir/err")"
[ "$(cat "$dir/out")" = "for your eyes" ] || fail "fsa cat printed $(cat "$dir/out")"
exec 3>&-
session_finish
