#!/bin/bash
# test-launch-cli.sh — the launch CLI against LaunchServer on a temporary
# XDG tree, and Debian's own tools on the same tree: xdg-mime (xdg-utils,
# generic desktop) and gio (libglib2.0-bin) must agree with `launch` on
# the default application of each type and on each file's type.
#   test-launch-cli.sh LAUNCHSERVER LAUNCH RECORDER
. "$(dirname "$0")/../lib/cli-test.sh" launch-cli
server=$1 launch=$(realpath "$2") recorder=$(realpath "$3")
. "$(dirname "$0")/xdg-fixture.sh"
start_service "$server" launch
L() { "$launch" "$@"; }

expect_rc 0 L --help
grep -q "open PATH|URL" "$dir/out" || fail "--help lists the verbs: $(cat "$dir/out")"
expect_rc 2 L
expect_rc 2 L frobnicate
expect_rc 2 L open
expect_rc 2 L --no-such-option type x

# Defaults: launch against xdg-mime and gio, type by type.
for t in image/png image/gif text/plain x-scheme-handler/https x-scheme-handler/mailto text/html; do
	expect_rc 0 L default "$t"
	ours=$(cat "$dir/out")
	theirs=$(xdg-mime query default "$t" 2>/dev/null)
	[ "$ours" = "$theirs" ] || fail "default for $t: launch says '$ours', xdg-mime '$theirs'"
	gio=$(gio mime "$t" 2>/dev/null | sed -n 's/^Default application for “.*”: //p')
	[ "$ours" = "$gio" ] || fail "default for $t: launch says '$ours', gio mime '$gio'"
done
[ "$(cat "$dir/out")" = browser.desktop ] || fail "text/html is browser.desktop: $(cat "$dir/out")"
expect_rc 1 L default application/x-nothing-handles-this
expect_rc 1 L default "not a type"

# Types: launch against xdg-mime (libmagic: the content) and gio (globs
# and magic), file by file; these files' names and contents agree.
for f in picture.png picture notes.txt page.html data.json archive.gz; do
	expect_rc 0 L type "$x/files/$f"
	ours=$(cat "$dir/out")
	theirs=$(xdg-mime query filetype "$x/files/$f")
	[ "$ours" = "$theirs" ] || fail "type of $f: launch says '$ours', xdg-mime '$theirs'"
	gio=$(gio info -a standard::content-type "$x/files/$f" | sed -n 's/^ *standard::content-type: //p')
	[ "$ours" = "$gio" ] || fail "type of $f: launch says '$ours', gio '$gio'"
done
expect_rc 0 L type --json "$x/files/picture"
grep -q '"by":"content"' "$dir/out" || fail "picture (no extension) by content: $(cat "$dir/out")"
expect_rc 1 L type "$x/files/no-such-file"
grep -q "No such file" "$dir/err" || fail "a missing file says so: $(cat "$dir/err")"

# Handlers, JSON; opening (relative path, the user's viewer).
expect_rc 0 L handlers --json https://example.org/
grep -q '"type":"x-scheme-handler/https","handlers":\[{"id":"browser.desktop"' "$dir/out" ||
	fail "handlers --json: $(cat "$dir/out")"
(cd "$x/files" && "$launch" open picture.png) 2>"$dir/err" || fail "open picture.png: $(cat "$dir/err")"
pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$dir/err")
wait_for test -e "$x/out/uviewer.$pid" || fail "the user's viewer did not run: $(cat "$dir/err")"
[ "$(tr '\0' '|' <"$x/out/uviewer.$pid")" = "$x/bin/uviewer|$x/files/picture.png|" ] ||
	fail "viewer argv: $(tr '\0' '|' <"$x/out/uviewer.$pid")"
expect_rc 1 L open "$(printf 'https://example.org/\x07')"
grep -q "control character" "$dir/err" || fail "a control character is refused: $(cat "$dir/err")"
expect_rc 1 L open no-such-scheme:x

# Setting a default: launch, then xdg-mime and gio see it too.
expect_rc 0 L default image/png csvapp.desktop
[ "$(xdg-mime query default image/png)" = csvapp.desktop ] || fail "xdg-mime after set: $(xdg-mime query default image/png)"
expect_rc 0 L default image/png
[ "$(cat "$dir/out")" = csvapp.desktop ] || fail "launch after set: $(cat "$dir/out")"
expect_rc 1 L default image/png no-such.desktop
finish
