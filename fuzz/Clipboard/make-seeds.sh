#!/bin/bash
# make-seeds.sh BUILD_DIR — regenerate fuzz/corpus/clipboard-state/ with
# entry files written by a real Clipboard (--state-dir) through the `clip`
# CLI: text, several representations, metadata, binary and empty data.
# Run by hand; seeds are committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: make-seeds.sh BUILD_DIR}" && pwd)
out=$root/fuzz/corpus/clipboard-state
tmp=$(mktemp -d /tmp/clipboard-seeds.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/state" "$tmp/portal" "$out"
export HAVEN_PORTAL_DIR=$tmp/portal
"$build/services/Clipboard/Clipboard" --socket "$tmp/portal/clipboard" --state-dir "$tmp/state" \
	--history 8 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/portal/clipboard" ] && break; sleep 0.1; done
clip=$build/utilities/clip/clip
save() { cp "$(ls -t "$tmp/state"/entry-* | head -1)" "$out/$1"; }
printf 'hello, clipboard' | "$clip" copy && save text
printf 'hello' | "$clip" copy --meta app=editor --meta window=3 &&
	printf '<b>hello</b>' | "$clip" copy --add --type text/html &&
	printf '{\\rtf1 hello}' | "$clip" copy --add --type 'text/rtf; charset=utf-8' && save multi
printf 'a\0b\0\377\nno newline' | "$clip" copy --type application/octet-stream && save binary
"$clip" copy </dev/null && save empty
chmod 644 "$out"/*
echo "seeds written to $out"
