#!/bin/bash
# test-systemserver.sh — a crash inside a pledged and unveiled Haven
# service under a real SystemServer (--user) reaches the shipped
# CrashDaemon through the service runner's handler: one report naming the
# service, its signal and crash_here <- level2 <- level1 <- on_crash. A
# manager-confined service must opt in (HAVEN_CRASH_HANDLER=yes, with
# "unix" in its Pledge=); with HAVEN_CRASH_HANDLER=no, no report.
#   test-systemserver.sh SYSTEMSERVER SVC CRASH CRASH_SEND CRASHTEST ETC_DIR
set -u
ss=$1 svc=$2 crash=$(realpath "$3") send=$(realpath "$4") crashtest=$(realpath "$5") etc=$6
dir=$(mktemp -d /tmp/haven-crashss-XXXXXX)
export XDG_RUNTIME_DIR=$dir/run XDG_CONFIG_HOME=$dir/config XDG_STATE_HOME=$dir/state
unset HAVEN_PORTAL_DIR HAVEN_CRASH_SOCKET HAVEN_CRASH_HANDLER
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$dir/etc"
cp "$etc/CrashDaemon.ini" "$dir/etc/"
# The daemon that can trace: no Pledge=/Unveil= from the manager (it
# confines itself after forking its tracer).
cat >"$dir/etc/CrashDaemonFull.ini" <<EOT
[CrashDaemonFull]
Executable=CrashDaemon
Arguments=--store $dir/full
Socket=%portal/crashfull
KeepAlive=true
EOT
cat >"$dir/etc/CrashTest.ini" <<EOT
[CrashTest]
Executable=$crashtest
Socket=%portal/crashtest
Lazy=true
Pledge=stdio rpath unix accept
Unveil=$dir/nothing:r
Environment=HAVEN_CRASH_HANDLER=yes HAVEN_CRASH_SOCKET=$XDG_RUNTIME_DIR/haven/portal/crashfull
EOT
sed -e 's/^\[CrashTest\]/[CrashTestQuiet]/' -e 's|%portal/crashtest|%portal/crashquiet|' \
	-e 's/HAVEN_CRASH_HANDLER=yes/HAVEN_CRASH_HANDLER=no/' "$dir/etc/CrashTest.ini" >"$dir/etc/CrashTestQuiet.ini"
# To the shipped, confined daemon: a record without a backtrace.
sed -e 's/^\[CrashTest\]/[CrashTestShipped]/' -e 's|%portal/crashtest|%portal/crashshipped|' \
	-e 's/ HAVEN_CRASH_SOCKET=.*//' "$dir/etc/CrashTest.ini" >"$dir/etc/CrashTestShipped.ini"
mkdir -p "$dir/nothing"
if [ -n "${SANITIZED:-}" ]; then
	sed -i -e '/^Pledge=/d' -e '/^Unveil=/d' "$dir"/etc/*.ini
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
fi
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
wait_for() { for _ in $(seq 1 ${WAIT_TICKS:-300}); do "$@" && return 0; sleep 0.1; done; return 1; }
"$ss" --user --config "$dir/etc" >"$dir/ss.log" 2>&1 &
sspid=$!
cleanup() { kill "$sspid" 2>/dev/null; wait "$sspid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"; }
trap cleanup EXIT
portal=$XDG_RUNTIME_DIR/haven/portal
wait_for test -S "$portal/crash" -a -S "$portal/crashfull" -a -S "$portal/crashtest" || { cat "$dir/ss.log"; echo "no portals"; exit 1; }
running() { "$svc" status "$1" --json | grep -q '"pid": [1-9]'; }
wait_for running CrashDaemonFull || fail "CrashDaemonFull not running"
wait_for running CrashDaemon || fail "CrashDaemon not running"
store=$dir/full
entries() { "$crash" --store "$store" list 2>/dev/null | wc -l; }

"$send" --crashtest "$portal/crashtest" >/dev/null 2>&1 && fail "CrashTest answered instead of crashing"
has1() { [ "$(entries)" -eq 1 ]; }
wait_for has1 || fail "no report: $(entries) entries; $(cat "$XDG_RUNTIME_DIR"/haven/log/CrashDaemon*.log 2>/dev/null | tail -3)"
id=$("$crash" --store "$store" list | cut -d' ' -f1)
"$crash" --store "$store" show "$id" >"$dir/show"
grep -q "^service: CrashTest\$" "$dir/show" || fail "the service is not named: $(head -12 "$dir/show")"
grep -q "^signal: 11 SIGSEGV\$" "$dir/show" || fail "signal: $(grep signal: "$dir/show")"
grep -q "^executable: $crashtest\$" "$dir/show" || fail "executable: $(grep executable: "$dir/show")"
frames=$(awk '/\(crashing\):$/ {on=1; next} on && NF == 0 {exit} on {sub(/\+0x.*/, "", $3); printf "%s ", $3}' "$dir/show")
[[ "$frames" == "crash_here level2 level1 on_crash "* ]] || fail "frames: $frames"
# It was confined when it crashed: the manager's seccomp (and its own).
if [ -z "${SANITIZED:-}" ]; then
	grep -q "^pid: " "$dir/show" && grep -q "Pledge=stdio rpath unix" "$dir/etc/CrashTest.ini" || fail "definition"
fi

# The shipped definition's daemon, confined from exec: a clean record
# without a backtrace, that says why.
shipped=$XDG_STATE_HOME/haven/CrashDaemon
"$send" --crashtest "$portal/crashshipped" >/dev/null 2>&1 && fail "CrashTestShipped answered"
shipped1() { [ "$("$crash" --store "$shipped" list 2>/dev/null | wc -l)" -eq 1 ]; }
wait_for shipped1 || fail "the shipped daemon made no record"
"$crash" --store "$shipped" show "$("$crash" --store "$shipped" list | cut -d' ' -f1)" >"$dir/show2"
# (Under ASan the definitions lose Pledge=/Unveil=: that daemon traces.)
[ -n "${SANITIZED:-}" ] || grep -q "^error: not traced" "$dir/show2" || fail "shipped daemon traced?"
grep -q "^signal: 11 SIGSEGV\$" "$dir/show2" && grep -q "^executable: $crashtest" "$dir/show2" ||
	fail "shipped daemon's record: $(cat "$dir/show2")"

# Off by the definition's Environment=: the same crash, no report.
"$send" --crashtest "$portal/crashquiet" >/dev/null 2>&1 && fail "CrashTestQuiet answered"
sleep 0.5
[ "$(entries)" -eq 1 ] || fail "HAVEN_CRASH_HANDLER=no still reported"
kill -0 "$sspid" || fail "SystemServer died"
grep -q 'Bad system call' "$dir/ss.log" && fail "a sandbox violation: $(grep 'Bad system call' "$dir/ss.log")"
[ $fails -eq 0 ] && echo ok
[ $fails -eq 0 ] || cat "$dir/ss.log" "$XDG_RUNTIME_DIR"/haven/log/*.log >&2
exit $((fails > 0))
