#!/bin/bash
# make-seeds.sh BUILD_DIR — regenerate fuzz/corpus/configserver-ini/ with
# files written by a real ConfigServer through the `config` CLI (plain and
# quoted values, continuation lines, typed writes, empty groups), plus the
# three-part form the fuzzer reads (user file, "%%", defaults, "%%", hand
# edit). Run by hand; seeds are committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: make-seeds.sh BUILD_DIR}" && pwd)
out=$root/fuzz/corpus/configserver-ini
tmp=$(mktemp -d /tmp/configserver-seeds.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/user" "$tmp/defaults" "$out"
"$build/services/ConfigServer/ConfigServer" --socket "$tmp/sock" --config-dir "$tmp/user" \
	--defaults "$tmp/defaults" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/sock" ] && break; sleep 0.1; done
c() { "$build/utilities/config/config" --socket "$tmp/sock" "$@"; }
c set Terminal Window Width 80 --type u32
c set Terminal Window Height 24 --type i32
c set Terminal Window Bold true --type bool
c set Terminal Font Name "DejaVu Sans Mono"
c set Terminal Font Fallback "  leading blank; and # comment chars \"quoted\""
c set Terminal Text Greeting "$(printf 'line one\nline two\ttab \\ back')"
c set Terminal Text Unicode "grüße – 日本語 ✓"
c set Terminal Text Long "$(printf 'word%.0s ' $(seq 90))end"
c add Terminal Empty
c set Browser Home URL "https://example.org/?q=a;b#frag"
c set Browser Home Empty ""
printf 'set Proxy Host localhost\nset Proxy Port 8080\nadd Bookmarks\n' | c batch Browser
cp "$tmp/user/Terminal.ini" "$out/terminal.ini"
cp "$tmp/user/Browser.ini" "$out/browser.ini"
# user file, defaults under it, then a hand edit of the user file
{ cat "$tmp/user/Browser.ini"; printf '\n%%%%\n'; cat "$tmp/user/Terminal.ini"
  printf '\n%%%%\n'; sed 's/localhost/proxy.lan/; s/^Port = .*/Port: 3128/' "$tmp/user/Browser.ini"
  printf '[Added]\n; by hand\nkey=value\n'; } >"$out/layered-edit.ini"
# what people write by hand: BOM, ':' separators, comments, CRLF, indents
printf '\xef\xbb\xbf# hand written\r\n[Window]\r\nWidth: 100\r\n  ; indented comment\r\nTitle = "a \\"quoted\\" title"\r\n' \
	>"$out/hand-written.ini"
echo "seeds written to $out"
