#!/bin/bash
# test-devices.sh — DeviceMapper against the real kernel, in a network and
# mount namespace of its own (with its own sysfs, so /sys/class/net shows
# this namespace's interfaces): coldplug finds what exists; veth pairs
# made and deleted arrive as add/remove events to a subscriber; a loop
# device attached to a temp file gets the rule's group, mode and symlink
# under a temp --dev-root, and loses the symlink when detached; properties
# match /sys; a synthetic uevent written to /sys/.../uevent arrives with
# its arguments; a uevent sent from a user socket (sender port id not 0)
# and a "libudev" one are dropped. Nothing outside the namespace and the
# temp dir is touched (the loop device is detached in a trap).
#   test-devices.sh DEVICEMAPPER DEVICES DM_FAKE_UEVENT
if [ -z "${DM_TEST_IN_NS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (namespaces, loop devices, uevents)"; exit 77; }
	unshare --net --mount --propagation private true 2>/dev/null ||
		{ echo "SKIP: cannot make a network and mount namespace here"; exit 77; }
	DM_TEST_IN_NS=1 exec unshare --net --mount --propagation private "$0" "$@"
fi
. "$(dirname "$0")/../lib/cli-test.sh" devices
dm=$1 devices=$2 fake=$3
loopdev=
trap '[ -n "$loopdev" ] && losetup -d "$loopdev" 2>/dev/null; cleanup' EXIT
mount -t sysfs sysfs /sys || { echo "SKIP: cannot mount a sysfs of this namespace"; exit 77; }
ip link set lo up

mkdir -p "$dir/dev" "$dir/rules"
truncate -s 1M "$dir/disk.img"
cat >"$dir/rules/50-test.ini" <<RULES
# only the loop device backed by this test's file
[test loop]
SUBSYSTEM=block
KERNEL=loop*
ATTR{loop/backing_file}=$dir/disk.img
GROUP=disk
MODE=0660
SYMLINK=haven/test-loop
SETENV{HAVEN_TEST}=yes
RULES
d() { "$devices" "$@"; }
# Sanitized builds: the service's own pledge forbids LeakSanitizer's
# ptrace at exit (tests/lib/service.h turns it off the same way).
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 start_service "$dm" devices --rules "$dir/rules" --dev-root "$dir/dev" --make-nodes

# --- coldplug: what exists is listed, with /sys's properties -------------
expect_rc 0 d list --subsystem net
grep -q "^net  *lo  *- */devices/virtual/net/lo$" "$dir/out" || fail "coldplug: no lo: $(cat "$dir/out")"
expect_rc 0 d list
for p in /sys/class/mem/*; do
	grep -q " $(realpath "$p" | sed 's|^/sys||')$" "$dir/out" || fail "coldplug missed $p"
done
expect_rc 0 d info /sys/class/mem/null
grep -qx "E: DEVNAME=null" "$dir/out" && grep -qx "E: MAJOR=$(cut -d: -f1 /sys/class/mem/null/dev)" "$dir/out" ||
	fail "info /sys/class/mem/null: $(cat "$dir/out")"
expect_rc 0 d list --json --subsystem net
grep -q '^\[{"devpath":"/devices/virtual/net/lo","subsystem":"net","name":"lo","devnode":"",' "$dir/out" ||
	fail "list --json: $(cat "$dir/out")"

# --- hotplug: veth pairs, to a subscriber --------------------------------
d monitor --properties >"$dir/mon" 2>"$dir/mon.err" &
pids+=($!)
wait_for grep -q monitoring "$dir/mon" || fail "monitor did not start: $(cat "$dir/mon.err")"
ip link add hvdmA type veth peer name hvdmB || fail "ip link add"
expect_rc 0 d settle
# settle answers once the events are on the monitor's connection; the
# monitor (another process) prints them when it is scheduled: wait for it.
wait_for grep -q "^add     /devices/virtual/net/hvdmA (net)$" "$dir/mon" || fail "no add for hvdmA: $(cat "$dir/mon")"
wait_for grep -q "^add     /devices/virtual/net/hvdmB (net)$" "$dir/mon" || fail "no add for hvdmB"
expect_rc 0 d info /sys/class/net/hvdmA
grep -qx "E: IFINDEX=$(cat /sys/class/net/hvdmA/ifindex)" "$dir/out" && grep -qx "E: INTERFACE=hvdmA" "$dir/out" ||
	fail "properties differ from /sys: $(cat "$dir/out")"
while IFS= read -r line; do
	grep -qx "E: $line" "$dir/out" || fail "/sys/class/net/hvdmA/uevent says $line, info does not"
done </sys/class/net/hvdmA/uevent

# --- a synthetic uevent, with its arguments -------------------------------
echo "change 7f3c8a52-0c4e-4c1e-9d7a-3b6f2e1d9a10 HAVEN=devmap" >/sys/class/net/hvdmA/uevent
expect_rc 0 d settle
synth() { grep -A30 "^change  /devices/virtual/net/hvdmA (net)$" "$dir/mon" | grep -q "SYNTH_ARG_HAVEN=devmap"; }
wait_for synth ||
	fail "synthetic uevent: $(cat "$dir/mon")"

# --- not from the kernel: dropped -----------------------------------------
"$fake" /devices/virtual/net/hvdmFake net; rc=$?
if [ $rc -eq 77 ]; then
	echo "skipped: cannot send to the uevent group here"
else
	[ $rc -eq 0 ] || fail "dm-fake-uevent exited $rc"
	ip link add hvdmC type veth peer name hvdmD
	expect_rc 0 d settle
	# One stream, in order: once hvdmC is there, so would the fake one be.
	wait_for grep -q "hvdmC" "$dir/mon" || fail "the event after the fake one did not arrive"
	grep -q "hvdmFake" "$dir/mon" && fail "a uevent from a user socket was taken for the kernel's"
	expect_rc 1 d info /devices/virtual/net/hvdmFake
	ip link del hvdmC
fi

ip link del hvdmA || fail "ip link del"
expect_rc 0 d settle
wait_for grep -q "^remove  /devices/virtual/net/hvdmA (net)$" "$dir/mon" || fail "no remove for hvdmA"
wait_for grep -q "^remove  /devices/virtual/net/hvdmB (net)$" "$dir/mon" || fail "no remove for hvdmB"
expect_rc 1 d info /sys/devices/virtual/net/hvdmA
grep -q "no such device" "$dir/err" || fail "info of a removed device: $(cat "$dir/err")"

# --- a loop device: the rule's group, mode and symlink --------------------
if ! loopdev=$(losetup -f --show "$dir/disk.img" 2>"$dir/losetup.err"); then
	loopdev=
	echo "skipped: no loop device here ($(cat "$dir/losetup.err"))"
else
	name=${loopdev#/dev/}
	expect_rc 0 d settle
	node=$dir/dev/$name
	[ -b "$node" ] || fail "$node is not a block device: $(ls -la "$dir/dev" | head)"
	[ "$(stat -c '%a %G' "$node")" = "660 disk" ] || fail "$node: $(stat -c '%a %G' "$node"), expected 660 disk"
	[ "$(readlink "$dir/dev/haven/test-loop")" = "../$name" ] ||
		fail "symlink: $(ls -la "$dir/dev/haven" 2>&1)"
	expect_rc 0 d info "$dir/dev/haven/test-loop"
	grep -qx "E: HAVEN_TEST=yes" "$dir/out" && grep -qx "E: DEVLINKS=$dir/dev/haven/test-loop" "$dir/out" &&
		grep -qx "E: DEVNAME=$name" "$dir/out" || fail "info by symlink: $(cat "$dir/out")"
	losetup -d "$loopdev" || fail "losetup -d"
	loopdev=
	expect_rc 0 d settle
	[ -e "$dir/dev/haven/test-loop" ] || [ -L "$dir/dev/haven/test-loop" ] &&
		fail "the symlink outlived the device: $(ls -la "$dir/dev/haven")"
fi

kill "${pids[0]}"; wait "${pids[0]}"; rc=$?
[ $rc -eq 0 ] || fail "DeviceMapper exited $rc: $(cat "$dir/server.log")"
pids=("${pids[@]:1}")
[ "$fails" -eq 0 ] || cat "$dir/server.log" >&2
finish
