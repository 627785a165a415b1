#!/bin/sh
# check-json.sh — smoke test of ipc-bench: a --quick --json run must print
# one JSON object carrying every key the issue names (dbus_rtt_ns only when
# dbus-daemon exists). Figures are not judged: speed is never a test.
set -eu
bench=$1
out=$("$bench" --quick --json)
echo "$out"
keys="raw_rtt_ns hv_rtt_ns rtt_ratio raw_oneway_msgs_s hv_oneway_msgs_s small_call_ns buffer_64m_call_ns buffer_4k_call_ns bytes_64m_call_ns"
if command -v dbus-daemon >/dev/null 2>&1; then
	keys="$keys dbus_rtt_ns"
fi
for k in $keys; do
	echo "$out" | grep -Eq "\"$k\": [0-9.]+[,}]" || { echo "missing or non-numeric key: $k" >&2; exit 1; }
done
n=$(echo "$out" | grep -o '"[a-z0-9_]*":' | wc -l)
want=$(echo $keys | wc -w)
[ "$n" -eq "$want" ] || { echo "expected exactly $want keys, got $n" >&2; exit 1; }
case "$out" in "{"*"}") ;; *) echo "not one JSON object" >&2; exit 1 ;; esac
# Bad usage: exit 2.
if "$bench" --rounds nope >/dev/null 2>&1; then exit 1; else [ $? -eq 2 ]; fi
"$bench" --help | grep -q '^Usage: '
