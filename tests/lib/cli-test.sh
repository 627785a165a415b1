# cli-test.sh — what the command-line tests share; source it:
#   . "$(dirname "$0")/../lib/cli-test.sh" NAME
# Makes $dir (a temp dir, removed on exit with every pid in $pids killed),
# points HAVEN_PORTAL_DIR and XDG_RUNTIME_DIR into it, and defines
#   fail MSG...            count a failure (the test goes on)
#   wait_for CMD...        until CMD succeeds (bounded only against hangs)
#   expect_rc RC CMD...    run CMD (stdout in $dir/out, stderr in $dir/err)
#   start_service EXE SOCKET [ARGS...]   EXE --socket $HAVEN_PORTAL_DIR/SOCKET,
#                          its log in $dir/server.log, pid in ${pids[0]}
#   finish                 print ok and exit 0, or exit 1 after failures
dir=$(mktemp -d "/tmp/haven-${1:-cli}-test-XXXXXX")
export HAVEN_PORTAL_DIR=$dir/portal XDG_RUNTIME_DIR=$dir/run
mkdir -p "$HAVEN_PORTAL_DIR" "$XDG_RUNTIME_DIR"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
wait_for() { for _ in $(seq 1 600); do "$@" && return 0; sleep 0.1; done; return 1; }
expect_rc() { local want=$1; shift; "$@" >"$dir/out" 2>"$dir/err"; local rc=$?
	[ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want: $(cat "$dir/err")"; }
start_service() {
	local exe=$1 sock=$2; shift 2
	"$exe" --socket "$HAVEN_PORTAL_DIR/$sock" "$@" 2>"$dir/server.log" &
	pids+=($!)
	wait_for test -S "$HAVEN_PORTAL_DIR/$sock" || { echo "$exe did not start: $(cat "$dir/server.log")"; exit 1; }
}
finish() { [ "$fails" -eq 0 ] && echo ok; exit $((fails > 0)); }
