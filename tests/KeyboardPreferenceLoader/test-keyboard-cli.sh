#!/bin/bash
# test-keyboard-cli.sh — `keyboard` and KeyboardPreferenceLoader with a
# real ConfigServer, without WindowServer: set checks a preference with
# xkbcommon against xkb-data before writing it (an invalid one is refused
# with the reason and nothing is written), show says what is asked and
# what is in effect, a change is applied at once, and the console path
# runs loadkeys with the layout-variant name (a recording stand-in for
# kbd's loadkeys, on /dev/null as the console: this machine's console is
# never touched).
#   test-keyboard-cli.sh CONFIGSERVER KEYBOARDPREFERENCELOADER KEYBOARD CONFIG
. "$(dirname "$0")/../lib/cli-test.sh" keyboard
cfgsrv=$1 kpl=$2 kb=$3 config=$4
export XDG_CONFIG_HOME=$dir/config
start_service "$cfgsrv" config
k() { "$kb" "$@"; }

# --- usage and refusals ---------------------------------------------------
expect_rc 2 k
expect_rc 2 k frob
expect_rc 2 k set
expect_rc 2 k set de --num-lock maybe
expect_rc 2 k set de --delay 5
expect_rc 1 k set xx-no-such
grep -q "xx-no-such does not compile" "$dir/err" || fail "why xx-no-such was refused: $(cat "$dir/err")"
expect_rc 1 k set de no-such-variant
grep -q "de(no-such-variant) does not compile" "$dir/err" || fail "bad variant: $(cat "$dir/err")"
expect_rc 1 k set de --options no-such:option
grep -q 'Unrecognized RMLVO option "no-such:option"' "$dir/err" || fail "bad option: $(cat "$dir/err")"
expect_rc 1 k set "../../etc/passwd"
expect_rc 1 "$config" get Keyboard Mapping Layout # nothing was written

# --- set, then the loader applies it (to a stand-in console) --------------
cat >"$dir/loadkeys" <<SH
#!/bin/sh
echo "\$*" >>"$dir/loadkeys.calls"
exit \${LOADKEYS_RC:-0}
SH
chmod +x "$dir/loadkeys"
expect_rc 0 k set de nodeadkeys --options caps:escape --delay 300 --rate 25 --num-lock on
expect_rc 0 "$config" get Keyboard Mapping Layout
[ "$(cat "$dir/out")" = de ] || fail "Layout: $(cat "$dir/out")"
start_service "$kpl" keyboard --config-socket "$HAVEN_PORTAL_DIR/config" --windowserver-socket "$dir/no-ws" \
	--console /dev/null --loadkeys "$dir/loadkeys"
wait_for grep -q "de-nodeadkeys" "$dir/loadkeys.calls" 2>/dev/null || fail "loadkeys not run: $(cat "$dir/server.log")"
grep -qx -- "-q -C /dev/null de-nodeadkeys" "$dir/loadkeys.calls" || fail "loadkeys args: $(cat "$dir/loadkeys.calls")"
expect_rc 0 k show
grep -q "^Layout   de$" "$dir/out" && grep -q "^Options  caps:escape$" "$dir/out" &&
	grep -q "^NumLock  true$" "$dir/out" || fail "show: $(cat "$dir/out")"
grep -q "^in effect: de(nodeadkeys) caps:escape (applied 1 times)$" "$dir/out" || fail "in effect: $(cat "$dir/out")"
# /dev/null is no VT: the repeat and Num Lock ioctls fail and say so.
grep -q "^console: applied (keymap de-nodeadkeys); repeat: Inappropriate ioctl" "$dir/out" ||
	fail "console: $(cat "$dir/out")"
grep -q "^Delay    300$" "$dir/out" && grep -q "^Rate     25$" "$dir/out" || fail "repeat: $(cat "$dir/out")"
grep -q "^WindowServer: not running$" "$dir/out" || fail "WindowServer: $(cat "$dir/out")"

# --- a change while running: applied at once, no restart ------------------
pid=${pids[-1]}
expect_rc 0 k set fr
wait_for grep -qx -- "-q -C /dev/null fr" "$dir/loadkeys.calls" || fail "fr not applied: $(cat "$dir/loadkeys.calls")"
kill -0 "$pid" || fail "the loader was restarted"
# A hand edit that does not compile (the CLI would refuse it): the loader
# keeps fr and says why.
expect_rc 0 "$config" set Keyboard Mapping Layout zz-nope
wait_for grep -q "zz-nope does not compile" "$dir/server.log" || fail "no reason logged: $(cat "$dir/server.log")"
expect_rc 0 k show
grep -q "^in effect: fr " "$dir/out" && grep -q "^not applied: zz-nope does not compile" "$dir/out" ||
	fail "show after a bad edit: $(cat "$dir/out")"
[ "$(grep -c zz-nope "$dir/loadkeys.calls")" -eq 0 ] || fail "loadkeys ran with an invalid layout"
finish
