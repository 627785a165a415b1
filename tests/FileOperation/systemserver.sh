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
# Once more, answered "always": the grant is listed (as JSON too), and a
# third read needs no answer.
"$fsa" cat "$dir/doc.txt" >"$dir/out" 2>"$dir/err" &
cat_pid=$!
asked_twice() { [ "$(grep -c "wants to read" "$dir/agent.out")" -ge 2 ]; }
wait_for asked_twice || fail "the agent was not asked twice: $(cat "$dir/agent.out")"
echo a >&3
wait $cat_pid || fail "fsa cat after always: $(cat "$dir/err")"
"$fsa" --json grants >"$dir/grants.json" 2>"$dir/err" || fail "fsa --json grants: $(cat "$dir/err")"
python3 - "$dir/grants.json" "$fsa" "$dir/doc.txt" <<'PY' || fail "fsa --json grants: $(cat "$dir/grants.json")"
import json, os, sys
g = json.load(open(sys.argv[1]))
want = {"executable": os.path.realpath(sys.argv[2]), "access": "read", "path": sys.argv[3]}
assert any(all(e[k] == v for k, v in want.items()) and e["granted_at"] > 0 for e in g), g
PY
timeout 10 "$fsa" cat "$dir/doc.txt" >"$dir/out" 2>"$dir/err" || fail "fsa cat with a grant: $(cat "$dir/err")"
[ "$(grep -c "wants to read" "$dir/agent.out")" -eq 2 ] || fail "asked again despite the grant: $(cat "$dir/agent.out")"
exec 3>&-
session_finish
