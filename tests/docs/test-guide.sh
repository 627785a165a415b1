#!/bin/bash
# test-guide.sh SRC_ROOT BUILD_ROOT — docs/writing-a-service.md works as
# written: its tagged code blocks are extracted and built out of the tree,
# as the guide says (this build installed into a temp dir, its ipcc,
# pkg-config haven-service / haven-ipc); the service is started by hand
# and, from the guide's definition, under SystemServer, and the guide's
# client gets its greeting and the typed error.
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d /tmp/haven-guide.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Blocks follow a "<!-- file: NAME -->" line; the fence lines are dropped.
awk -v dir="$tmp" '
	/^<!-- file: .* -->$/ { name = $3; next }
	name != "" && /^```/ { if (out) { close(out); out = ""; name = "" } else out = dir "/" name; next }
	out { print > out }
' "$src/docs/writing-a-service.md"
for f in Greeter.ipc Greeter.c Greeter.h main.c greet.c Greeter.ini; do
	[ -s "$tmp/$f" ] || fail "docs/writing-a-service.md has no block for $f"
done

# Out of the tree, as the guide says: the build installed (into $tmp/inst),
# then its ipcc and pkg-config files.
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/inst" >/dev/null ||
	fail "meson install failed"
prefix=$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
pcdir=$(dirname "$(find "$tmp/inst" -name haven-ipc.pc | head -1)")
[ -d "$pcdir" ] || fail "no haven-ipc.pc installed"
export PKG_CONFIG_SYSROOT_DIR=$tmp/inst PKG_CONFIG_PATH=$pcdir
"$tmp/inst$prefix/bin/ipcc" -o "$tmp" "$tmp/Greeter.ipc"
cc=${CC:-cc}
# The project's own warning flags (top meson.build).
flags=(-std=gnu17 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wmissing-prototypes
	-Wstrict-prototypes -D_GNU_SOURCE -I"$tmp")
# The build's sanitizer flags, if any, so its static libraries link.
if nm "$build/lib/ipc/libhaven-ipc.a" 2>/dev/null | grep __asan_ >/dev/null; then
	flags+=(-fsanitize=address,undefined)
fi
cd "$tmp"
"$cc" "${flags[@]}" -o Greeter main.c Greeter.c Greeter.ipc.c $(pkg-config --cflags --libs haven-service)
"$cc" "${flags[@]}" -o greet greet.c Greeter.ipc.c $(pkg-config --cflags --libs haven-ipc)
cd - >/dev/null

# The runner's command line: --help, and a usage error (exit 2).
"$tmp/Greeter" --help | grep -q "^Usage: Greeter \[--socket PATH\]" || fail "Greeter --help"
rc=0; "$tmp/Greeter" --bogus 2>"$tmp/usage.err" || rc=$?
[ "$rc" = 2 ] && grep -q "unknown option: --bogus" "$tmp/usage.err" || fail "a bad option: exit $rc"

# By hand, on --socket.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 # pledged: no ptrace for LSan
"$tmp/Greeter" --socket "$tmp/greeter.sock" &
pids+=($!)
for _ in $(seq 300); do [ -S "$tmp/greeter.sock" ] && break; sleep 0.1; done
out=$("$tmp/greet" Ada "$tmp/greeter.sock") || fail "greet: $out"
[ "$out" = "Hello, Ada! (greeting number 1)" ] || fail "unexpected greeting: $out"
if err=$("$tmp/greet" "" "$tmp/greeter.sock" 2>&1); then fail "an empty name was accepted"; fi
[ "$err" = "greet: greet needs a name" ] || fail "typed error not passed through: $err"
grep -q "Seccomp:[[:space:]]*2" "/proc/${pids[0]}/status" || fail "Greeter is not pledged"
kill "${pids[0]}"
wait "${pids[0]}" || fail "Greeter did not exit cleanly on SIGTERM"
pids=()

# Under SystemServer, from the guide's definition, on the "greeter" portal.
mkdir -p "$tmp/defs" "$tmp/run"
cp "$tmp/Greeter.ini" "$tmp/defs/"
export XDG_RUNTIME_DIR=$tmp/run
"$build/services/SystemServer/SystemServer" --user --config "$tmp/defs" \
	--service-path "$tmp" >"$tmp/ss.log" 2>&1 &
pids+=($!)
portal=$tmp/run/haven/portal/greeter
for _ in $(seq 300); do [ -S "$portal" ] && break; sleep 0.1; done
[ -S "$portal" ] || fail "no greeter portal: $(cat "$tmp/ss.log")"
out=$(env -u HAVEN_PORTAL_DIR "$tmp/greet" Grace) || fail "greet under SystemServer: $out $(cat "$tmp/ss.log")"
[ "$out" = "Hello, Grace! (greeting number 1)" ] || fail "unexpected greeting: $out"
echo "ok: the guide's Greeter builds, runs by hand and under SystemServer"
