#!/bin/bash
# svc introspect / svc call against real services: the contract a service
# answers is exactly what ipcc compiled into it; calls built from that
# contract reach the handlers with structs, enums, vectors and optionals
# intact; bad arguments are usage errors (2), a service's error is 1.
# Usage: test-svc-introspect.sh SVC IPCC ECHOSERVER NOTIFICATIONSERVER SYSTEMSERVER ECHO_IPC
. "$(dirname "$0")/../lib/cli-test.sh" svc-introspect
svc=$1 ipcc=$2 echoserver=$3 notifyserver=$4 systemserver=$5 echo_ipc=$6

HAVEN_IPC_TRACE=1 start_service "$echoserver" echo # the trace shows one-way arrivals
echo_sock=$HAVEN_PORTAL_DIR/echo

# The contract, byte for byte what the compiler made of the .ipc.
expect_rc 0 "$svc" introspect --json "$echo_sock"
"$ipcc" --describe "$echo_ipc" >"$dir/want.json"
cmp -s "$dir/out" "$dir/want.json" || fail "introspect --json differs from ipcc --describe: $(diff "$dir/out" "$dir/want.json" | head -5)"
expect_rc 0 "$svc" introspect "$echo_sock"
grep -q '^    Echo(String text) => (String text)$' "$dir/out" || fail "readable contract: $(head -5 "$dir/out")"
grep -q '^    Ping(u64 seq) =|$' "$dir/out" || fail "one-way message missing: $(cat "$dir/out")"

# Calls: a bare word for a String, JSON otherwise.
expect_rc 0 "$svc" call "$echo_sock" Echo 'hello world'
[ "$(cat "$dir/out")" = '{ "text": "hello world" }' ] || fail "Echo: $(cat "$dir/out")"
expect_rc 0 "$svc" call "$echo_sock" Echo '"tab\there"'
[ "$(cat "$dir/out")" = '{ "text": "tab\there" }' ] || fail "Echo JSON string: $(cat "$dir/out")"
expect_rc 0 "$svc" call "$echo_sock" Ping 7 # one-way: sent, nothing printed
[ -s "$dir/out" ] && fail "a one-way call printed: $(cat "$dir/out")"
wait_for grep -q 'ipc recv EchoServer\.Ping oneway' "$dir/server.log" || fail "the one-way Ping did not arrive"
printf 'from a file\n' >"$dir/f.txt"
expect_rc 0 "$svc" call "$echo_sock" EchoFile '"'"$dir/f.txt"'"'
grep -q 'file descriptor' "$dir/out" || fail "EchoFile: $(cat "$dir/out")"
# The service's own error: exit 1, its message.
expect_rc 1 "$svc" call "$echo_sock" Fail -- -5
grep -q "failing with -5 as asked" "$dir/err" || fail "Fail -5: $(cat "$dir/err")"
# Bad arguments never reach the service: exit 2 with the reason.
expect_rc 2 "$svc" call "$echo_sock" Fail '"x"'
grep -q "i32 expected" "$dir/err" || fail "type check: $(cat "$dir/err")"
expect_rc 2 "$svc" call "$echo_sock" Fail 4294967296
grep -q "out of range" "$dir/err" || fail "range check: $(cat "$dir/err")"
expect_rc 2 "$svc" call "$echo_sock" Echo
grep -q "takes 1 argument, 0 given" "$dir/err" || fail "arity: $(cat "$dir/err")"
expect_rc 2 "$svc" call "$echo_sock" NoSuchMessage
expect_rc 2 "$svc" call "$echo_sock" EchoBuffer 1
grep -q "cannot be given on the command line" "$dir/err" || fail "Buffer: $(cat "$dir/err")"
expect_rc 1 "$svc" introspect "$dir/nothing-here"

# Structs, enums, vectors, optionals through NotificationServer.
start_service "$notifyserver" notify --state-dir -
n=$HAVEN_PORTAL_DIR/notify
expect_rc 0 "$svc" call "$n" show Title Body null '""' '"Critical"' '[{"id":"ok","label":"OK"}]' 0
[ "$(cat "$dir/out")" = '{ "id": 1 }' ] || fail "show: $(cat "$dir/out")"
expect_rc 0 "$svc" call "$n" list
grep -q '"urgency": "Critical", "actions": \[ { "id": "ok", "label": "OK" } \]' "$dir/out" ||
	fail "list: $(cat "$dir/out")"
expect_rc 0 "$svc" call "$n" get_icon 1 # an Optional left out: null, not an error
[ "$(cat "$dir/out")" = '{ "icon": null }' ] || fail "get_icon: $(cat "$dir/out" "$dir/err")"
expect_rc 2 "$svc" call "$n" show T B null '""' '"Loud"' '[]' 0
grep -q "Urgency has no value Loud" "$dir/err" || fail "enum check: $(cat "$dir/err")"
expect_rc 2 "$svc" call "$n" show T B null '""' '"Low"' '[{"id":"x"}]' 0
grep -q 'Action needs field "label"' "$dir/err" || fail "struct check: $(cat "$dir/err")"

# By service name: the manager says where its socket is.
mkdir -p "$dir/etc" "$dir/ssrun"
cat >"$dir/etc/EchoServer.ini" <<INI
[EchoServer]
Executable=$echoserver
Socket=%portal/echo
Lazy=true
INI
XDG_RUNTIME_DIR=$dir/ssrun "$systemserver" --user --config "$dir/etc" 2>"$dir/ss.log" &
pids+=($!)
ctl=$dir/ssrun/haven/portal/SystemServer
wait_for test -S "$ctl" || fail "SystemServer did not start: $(cat "$dir/ss.log")"
expect_rc 0 "$svc" --socket "$ctl" introspect EchoServer
grep -q '^endpoint EchoServer' "$dir/out" || fail "introspect by name: $(cat "$dir/out" "$dir/err")"
expect_rc 0 "$svc" --socket "$ctl" call EchoServer Echo lazy
[ "$(cat "$dir/out")" = '{ "text": "lazy" }' ] || fail "call by name: $(cat "$dir/out" "$dir/err")"
expect_rc 1 "$svc" --socket "$ctl" introspect NoSuchService
grep -q 'no service named' "$dir/err" || fail "unknown service: $(cat "$dir/err")"
finish
