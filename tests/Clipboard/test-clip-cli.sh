#!/bin/bash
# test-clip-cli.sh — `clip` against a real Clipboard: byte-exact copy/paste
# (100 MiB, binary, empty), types, history, restore, watch, errors and exit
# codes.   test-clip-cli.sh CLIPBOARD_EXE CLIP_EXE
set -u
server=$1 clip=$2
. "$(dirname "$0")/../lib/cli-test.sh" clip-cli
start_service "$server" clipboard

expect_rc 0 "$clip" --help; grep -q '^Usage: clip' "$dir/out" || fail "--help has no usage"
expect_rc 0 "$clip" paste --help
expect_rc 2 "$clip"
expect_rc 2 "$clip" frobnicate; grep -q 'unknown command' "$dir/err" || fail "no 'unknown command'"
expect_rc 2 "$clip" paste --serial abc
expect_rc 2 "$clip" copy --meta novalue
expect_rc 2 "$clip" restore 0
expect_rc 1 "$clip" paste; grep -q 'empty' "$dir/err" || fail "empty clipboard not said: $(cat "$dir/err")"
expect_rc 1 "$clip" types

# 100 MiB of random bytes, byte-exact through a pipe.
head -c $((100 << 20)) /dev/urandom >"$dir/big"
"$clip" copy --type application/octet-stream <"$dir/big" || fail "copy 100 MiB"
"$clip" paste | cmp -s - "$dir/big" || fail "100 MiB paste differs"
"$clip" copy < "$dir/big" && "$clip" paste | cmp -s - "$dir/big" || fail "clip copy | clip paste differs"
rm -f "$dir/big"

# Binary with NULs and no final newline; empty input.
printf 'a\0b\0\377\nno newline' >"$dir/bin"
"$clip" copy --type application/x-bin <"$dir/bin" && "$clip" paste | cmp -s - "$dir/bin" || fail "binary differs"
"$clip" copy </dev/null && [ "$("$clip" paste | wc -c)" -eq 0 ] || fail "empty copy"

# Two representations of one entry.
printf 'hello' | "$clip" copy --meta app=test || fail "copy text"
printf '<b>hello</b>' | "$clip" copy --add --type text/html || fail "copy --add"
[ "$("$clip" paste --type text/html)" = '<b>hello</b>' ] || fail "paste --type text/html"
[ "$("$clip" paste)" = hello ] || fail "paste primary"
expect_rc 1 "$clip" paste --type image/png; grep -q 'no image/png' "$dir/err" || fail "missing type not said"
"$clip" types >"$dir/types" || fail "types"
grep -q $'^text/plain\t5$' "$dir/types" && grep -q $'^text/html\t12$' "$dir/types" || fail "types: $(cat "$dir/types")"
expect_rc 1 "$clip" copy --type 'not a type'; grep -q 'invalid MIME' "$dir/err" || fail "bad type not said"

# History and restore.
"$clip" history >"$dir/hist" || fail "history"
grep -q $'text/plain:5,text/html:12\t"hello"' "$dir/hist" || fail "history row: $(cat "$dir/hist")"
[ "$(wc -l <"$dir/hist")" -ge 4 ] || fail "history too short"
bin_serial=$(grep 'application/x-bin' "$dir/hist" | cut -f1)
"$clip" restore "$bin_serial" >/dev/null || fail "restore"
"$clip" paste | cmp -s - "$dir/bin" || fail "restored entry differs"
"$clip" paste --serial "$bin_serial" >/dev/null 2>&1 && fail "old serial still there after restore"
expect_rc 1 "$clip" restore 999999
"$clip" clear-history || fail "clear-history"
[ "$("$clip" history | wc -l)" -eq 1 ] || fail "history not cleared"

# watch: one line per change.
"$clip" watch >"$dir/watch" 2>"$dir/watch.err" &
wpid=$!; pids+=($wpid)
wait_for grep -q watching "$dir/watch.err" || fail "watch did not start"
printf 'x' | "$clip" copy --type text/x-watched
wait_for grep -q ' text/x-watched$' "$dir/watch" || fail "watch saw nothing: $(cat "$dir/watch")"

# The Clipboard gone: a clear error, exit 1; watch ends too.
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null
expect_rc 1 "$clip" paste; grep -q 'cannot reach the Clipboard' "$dir/err" || fail "no server not said: $(cat "$dir/err")"
wait "$wpid"; [ $? -eq 1 ] || fail "watch did not end with 1 when the Clipboard went away"

finish
