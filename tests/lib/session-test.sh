# session-test.sh — what the tests of shipped definitions under a real
# `SystemServer --user` share; source it after cli-test.sh:
#   . "$(dirname "$0")/../lib/cli-test.sh" NAME
#   . "$(dirname "$0")/../lib/session-test.sh"
# The session gets private XDG_CONFIG_HOME, XDG_DATA_HOME and XDG_STATE_HOME
# under $dir and no HAVEN_PORTAL_DIR (clients find the portals as a
# session's clients do). Put the definitions in $dir/etc, then:
#   session_start SYSTEMSERVER PORTAL...  start the manager on $dir/etc (log
#       $dir/ss.log, pid $sspid, killed on exit) and wait for each portal
#       under $portal. Under SANITIZED=1 the definitions lose Pledge=,
#       Unveil= and LimitAS= first: the sanitizer runtime starts before
#       main() with calls no service pledges and LeakSanitizer needs ptrace
#       at exit, so there the services start unconfined and narrow
#       themselves in main() (their own hv_pledge still runs); the plain
#       build tests the definitions as shipped.
#   svc_pid NAME       the main pid of service NAME (`$svc status --json`)
#   svc_respawned NAME PID  NAME runs again, with a pid other than PID
#   session_finish     a sandbox violation in any log is a failure; on
#                      failure the logs are shown; then finish.
unset HAVEN_PORTAL_DIR
export XDG_CONFIG_HOME=$dir/config XDG_DATA_HOME=$dir/data XDG_STATE_HOME=$dir/state
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_STATE_HOME" "$dir/etc"
portal=$XDG_RUNTIME_DIR/haven/portal

session_start() {
	local ss=$1 p; shift
	if [ -n "${SANITIZED:-}" ]; then
		sed -i -e '/^Pledge=/d' -e '/^Unveil=/d' -e '/^LimitAS=/d' "$dir"/etc/*.ini
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	fi
	"$ss" --user --config "$dir/etc" >"$dir/ss.log" 2>&1 &
	sspid=$!
	pids+=("$sspid")
	for p in "$@"; do
		wait_for test -S "$portal/$p" || { cat "$dir/ss.log"; echo "no $p portal"; exit 1; }
	done
}

svc_pid() { "$svc" status "$1" --json | sed -n 's/.*"pid": \([0-9]*\).*/\1/p'; }
# For wait_for, which runs its command again each time (a "$(svc_pid X)"
# in wait_for's arguments would be expanded once, before it waits).
svc_respawned() { local p; p=$(svc_pid "$1"); [ -n "$p" ] && [ "$p" != "$2" ]; }

session_finish() {
	grep -q 'Bad system call\|sandbox violation\|SIGSYS' "$dir/ss.log" "$XDG_RUNTIME_DIR"/haven/log/*.log 2>/dev/null &&
		fail "a sandbox violation: $(cat "$dir/ss.log" "$XDG_RUNTIME_DIR"/haven/log/*.log)"
	[ "$fails" -eq 0 ] || cat "$dir/ss.log" "$XDG_RUNTIME_DIR"/haven/log/*.log >&2
	finish
}
