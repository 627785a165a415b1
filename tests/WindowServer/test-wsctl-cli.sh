#!/bin/bash
# test-wsctl-cli.sh — wsctl and ws-demo against a real WindowServer:
# a demo window listed (table and JSON), a screenshot PNG whose pixels are
# the demo's colour and the desktop's, themes listed and switched, usage
# errors (2), an unreachable server (1), and ws-demo's own option errors.
#   test-wsctl-cli.sh WINDOWSERVER_EXE WSCTL_EXE WS_DEMO_EXE THEME.ini
set -u
server=$1 wsctl=$2 demo=$3 theme=$4
. "$(dirname "$0")/../lib/cli-test.sh" wsctl-cli
start_service "$server" window --size 320x240 --theme "$theme"

expect_rc 0 "$wsctl" --help; grep -q '^Usage: wsctl' "$dir/out" || fail "--help has no usage"
expect_rc 2 "$wsctl"
expect_rc 2 "$wsctl" frobnicate; grep -q 'unknown command' "$dir/err" || fail "no 'unknown command'"
expect_rc 2 "$wsctl" screenshot
expect_rc 2 "$wsctl" windows --frob
expect_rc 1 "$wsctl" --socket "$dir/nowhere" windows
expect_rc 2 "$demo" --color 12345
expect_rc 2 "$demo" --rect 1,2,3
expect_rc 0 "$demo" --help

expect_rc 0 "$wsctl" windows
[ "$(wc -l <"$dir/out")" -eq 1 ] || fail "an empty screen lists windows: $(cat "$dir/out")"

"$demo" --title 'Demo "one"' --color 20c040 --rect 40,50,100,80 2>"$dir/demo.log" &
pids+=($!)
has_window() { "$wsctl" windows --json >"$dir/json" && grep -q '"backing_serial": [1-9]' "$dir/json"; }
wait_for has_window || fail "the demo window never got painted: $(cat "$dir/json" "$dir/demo.log")"
grep -q '"title": "Demo \\"one\\""' "$dir/json" || fail "JSON title: $(cat "$dir/json")"
grep -q '"rect": \[40, 50, 100, 80\]' "$dir/json" || fail "JSON rect: $(cat "$dir/json")"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert len(v)==1 and v[0]["active"]' "$dir/json" \
	|| fail "not valid JSON with one active window: $(cat "$dir/json")"
expect_rc 0 "$wsctl" windows
grep -q 'Demo "one"' "$dir/out" || fail "table: $(cat "$dir/out")"

expect_rc 0 "$wsctl" screenshot "$dir/shot.png"
px() { convert "$dir/shot.png" -format "%[hex:p{$1,$2}]" info:; }
[ "$(identify -format '%w %h' "$dir/shot.png")" = "320 240" ] || fail "screenshot size"
[ "$(px 90 90)" = 20C040 ] || fail "demo pixel is $(px 90 90)"
[ "$(px 5 5)" = 102030 ] || fail "desktop pixel is $(px 5 5)"
expect_rc 1 "$wsctl" screenshot "$dir/no/such/dir/x.png"

# Themes: listed with the one in effect starred, switched, refused by name.
expect_rc 0 "$wsctl" theme
grep -qx '\* test-theme' "$dir/out" && grep -qx '  Default' "$dir/out" || fail "theme list: $(cat "$dir/out")"
expect_rc 0 "$wsctl" theme Default
expect_rc 0 "$wsctl" theme
grep -qx '\* Default' "$dir/out" || fail "theme after a switch: $(cat "$dir/out")"
expect_rc 0 "$wsctl" screenshot "$dir/shot2.png"
[ "$(convert "$dir/shot2.png" -format '%[hex:p{5,5}]' info:)" = 505050 ] || fail "the Default desktop is not shown"
expect_rc 1 "$wsctl" theme Nonesuch; grep -q 'no theme called "Nonesuch"' "$dir/err" || fail "unknown theme: $(cat "$dir/err")"
expect_rc 2 "$wsctl" theme a b

# ws-demo ends cleanly on SIGTERM; its window goes.
kill "${pids[1]}"; wait "${pids[1]}"; rc=$?
[ "$rc" -eq 0 ] || fail "ws-demo exited $rc on SIGTERM"
gone() { "$wsctl" windows --json >"$dir/json" && [ "$(cat "$dir/json")" = "[]" ]; }
wait_for gone || fail "the window stayed: $(cat "$dir/json")"
finish
