#!/bin/sh
# expect-error.sh IPCC FIXTURE — `ipcc --check` must reject FIXTURE with exit
# status 1 and print exactly its "// expect: " lines on stderr, in order
# (run from the fixture's directory, so paths in messages are stable).
set -u
ipcc=$1
fixture=$2
case $ipcc in /*) ;; *) ipcc=$PWD/$ipcc ;; esac
dir=$(dirname "$fixture")
name=$(basename "$fixture")
expected=$(sed -n 's|^// expect: ||p' "$fixture")
if [ -z "$expected" ]; then
	echo "$fixture has no '// expect:' line"
	exit 1
fi
actual=$(cd "$dir" && "$ipcc" --check "$name" 2>&1 >/dev/null)
rc=$?
status=0
if [ "$rc" -ne 1 ]; then
	echo "ipcc exited with $rc, expected 1"
	status=1
fi
if [ "$actual" != "$expected" ]; then
	printf 'expected on stderr:\n%s\ngot:\n%s\n' "$expected" "$actual"
	status=1
fi
exit $status
