#!/bin/sh
# serenity-compat.sh DIR [IPCC] — how many .ipc endpoint files under DIR (a
# checkout of SerenityOS or Ladybird, or any directory of .ipc files) pass
# `ipcc --types tools/ipcc/types/SerenityOS.ipc --check` unchanged, and
# whose generated C then compiles with the project's warnings. Prints one
# line per failing file and a summary; exit 0 only if every file passes.
# Not part of `make test`: it needs a checkout this project does not carry.
# IPCC defaults to build/tools/ipcc/ipcc of this source tree; CC to cc.
set -u
dir=${1:?usage: serenity-compat.sh DIR [IPCC]}
src=$(cd "$(dirname "$0")/../.." && pwd)
ipcc=${2:-$src/build/tools/ipcc/ipcc}
types=$src/tools/ipcc/types/SerenityOS.ipc
cc=${CC:-cc}
flags="-std=gnu17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2"
tmp=$(mktemp -d /tmp/serenity-compat-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
total=0 checked=0 compiled=0
list=$tmp/list
find "$dir" -name '*.ipc' -type f | sort >"$list"
while IFS= read -r f; do
	total=$((total + 1))
	out=$tmp/$total
	mkdir "$out"
	if ! "$ipcc" --types "$types" --check "$f" 2>"$out/err"; then
		echo "CHECK FAIL $f: $(head -n 3 "$out/err" | tr '\n' ' ')"
		continue
	fi
	checked=$((checked + 1))
	base=$(basename "$f" .ipc)
	if ! "$ipcc" --types "$types" -o "$out" "$f" 2>"$out/err" ||
		! $cc $flags -I"$src/lib/ipc/include" -I"$src/lib/core/include" -c "$out/$base.ipc.c" -o /dev/null 2>"$out/err"; then
		echo "CC FAIL $f: $(grep -m 3 'error' "$out/err" | tr '\n' ' ')"
		continue
	fi
	compiled=$((compiled + 1))
done <"$list"
echo "$total files: $checked pass --check, $compiled also compile"
[ "$total" -gt 0 ] && [ "$compiled" -eq "$total" ]
