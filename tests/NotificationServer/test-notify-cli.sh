#!/bin/bash
# test-notify-cli.sh — `notify` against a real NotificationServer: send
# (with --wait answered by invoke and by close), list, history, dnd, watch,
# errors and exit codes.   test-notify-cli.sh NOTIFICATIONSERVER_EXE NOTIFY_EXE
set -u
server=$1 notify=$2
. "$(dirname "$0")/../lib/cli-test.sh" notify-cli
start_service "$server" notify --max-visible 2

expect_rc 0 "$notify" --help; grep -q '^Usage: notify' "$dir/out" || fail "--help has no usage"
expect_rc 2 "$notify"
expect_rc 2 "$notify" send onlytitle
expect_rc 2 "$notify" send t x --urgency urgent
expect_rc 2 "$notify" send t x --action nolabel
expect_rc 2 "$notify" close abc
expect_rc 2 "$notify" dnd maybe
expect_rc 1 "$notify" send "" x; grep -q 'title' "$dir/err" || fail "empty title not said"
expect_rc 1 "$notify" close 42; grep -q 'no active notification 42' "$dir/err" || fail "close 42 not said"

"$notify" watch >"$dir/watch" 2>"$dir/watch.err" &
pids+=($!)
wait_for grep -q watching "$dir/watch.err" || fail "watch did not start"

id1=$("$notify" send "Build" "done in 3s" --action open:Open --action log:Show\ log) || fail "send 1"
[ "$id1" = 1 ] || fail "first id is $id1"
wait_for grep -q "^shown 1 \[normal\] Build: done in 3s (open:Open,log:Show log)$" "$dir/watch" || fail "watch: $(cat "$dir/watch")"

# --wait answered by a click elsewhere.
"$notify" send "Question" "ok?" --action yes:Yes --wait >"$dir/wait1" &
w1=$!; pids+=($w1)
wait_for grep -q '^2$' "$dir/wait1" || fail "--wait did not print the id"
"$notify" invoke 2 yes || fail "invoke"
wait "$w1"; rc=$?
[ $rc -eq 0 ] || fail "--wait exit $rc"
[ "$(cat "$dir/wait1")" = $'2\naction yes' ] || fail "--wait printed: $(cat "$dir/wait1")"
expect_rc 1 "$notify" invoke 1 nope; grep -q 'no action "nope"' "$dir/err" || fail "bad action not said"

# --wait answered by a close.
"$notify" send "Other" "x" --wait >"$dir/wait2" &
w2=$!; pids+=($w2)
wait_for grep -q '^3$' "$dir/wait2" || fail "--wait 2 did not print the id"
"$notify" close 3 || fail "close 3"
wait "$w2"
[ "$(cat "$dir/wait2")" = $'3\nclosed dismissed' ] || fail "--wait 2 printed: $(cat "$dir/wait2")"

# DND: held; critical passes; released when it ends.
"$notify" dnd on && [ "$("$notify" dnd)" = on ] || fail "dnd on"
"$notify" send "Held" "later" --urgency low >/dev/null
"$notify" send "Fire" "now" --urgency critical >/dev/null
"$notify" list >"$dir/list"
grep -q $'^4\theld\tlow\tHeld\tlater\t$' "$dir/list" || fail "list held: $(cat "$dir/list")"
grep -q $'^5\tshown\tcritical\tFire\tnow\t$' "$dir/list" || fail "list critical: $(cat "$dir/list")"
wait_for grep -q '^shown 5 \[critical\]' "$dir/watch" || fail "critical not shown"
"$notify" dnd off
wait_for grep -q '^shown 4 \[low\] Held: later$' "$dir/watch" || fail "held one not shown after dnd off"

"$notify" history >"$dir/hist" || fail "history"
grep -q $'^3\tdismissed\tnormal\t' "$dir/hist" && grep -q $'^2\taction\tnormal\t' "$dir/hist" || fail "history: $(cat "$dir/hist")"
[ "$("$notify" history --max 1 | wc -l)" -eq 1 ] || fail "history --max"
grep -q '^hidden 2 action$' "$dir/watch" && grep -q '^dnd on$' "$dir/watch" || fail "watch lines: $(cat "$dir/watch")"

# A bitmap icon from an image file, decoded by an ImageDecoder process
# (spawned for the call: no "image" portal here), and read back as PAM.
if "$notify" --help | grep -q -- --icon-image && command -v convert >/dev/null; then
	convert -size 600x300 xc:'#ff0000' "$dir/red.png"
	id=$("$notify" send "Pic" "red" --icon-image "$dir/red.png") || fail "send --icon-image: $id"
	expect_rc 0 "$notify" icon "$id" "$dir/icon.pam"
	head -n 7 "$dir/icon.pam" | tr '\n' ' ' | grep -q '^P7 WIDTH 256 HEIGHT 128 DEPTH 4 MAXVAL 255 TUPLTYPE RGB_ALPHA ENDHDR' ||
		fail "icon PAM header (scaled to fit 256x256): $(head -c 80 "$dir/icon.pam")"
	[ "$(tail -c 4 "$dir/icon.pam" | od -An -tx1 | tr -d ' ')" = ff0000ff ] || fail "icon pixel is not opaque red"
	expect_rc 1 "$notify" send "Bad" "x" --icon-image "$dir/list"
	grep -q 'unrecognised image format' "$dir/err" || fail "a non-image not said: $(cat "$dir/err")"
	expect_rc 1 "$notify" icon 4 "$dir/none.pam"; grep -q 'no bitmap icon' "$dir/err" || fail "no icon not said"
	expect_rc 2 "$notify" icon 4
else
	echo "skipped: --icon-image (no ImageDecoder or no ImageMagick)"
fi

kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null
expect_rc 1 "$notify" list; grep -q 'cannot reach NotificationServer' "$dir/err" || fail "no server not said"

finish
