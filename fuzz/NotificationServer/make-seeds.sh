#!/bin/bash
# make-seeds.sh BUILD_DIR — regenerate fuzz/corpus/notificationserver-state/
# with state files saved by a real NotificationServer (--state-dir) while the
# `notify` CLI shows, closes and holds notifications. Run by hand; seeds are
# committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: make-seeds.sh BUILD_DIR}" && pwd)
out=$root/fuzz/corpus/notificationserver-state
tmp=$(mktemp -d /tmp/notification-seeds.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/state" "$tmp/portal" "$out"
export HAVEN_PORTAL_DIR=$tmp/portal
"$build/services/NotificationServer/NotificationServer" --socket "$tmp/portal/notify" \
	--state-dir "$tmp/state" --max-visible 2 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/portal/notify" ] && break; sleep 0.1; done
n() { "$build/utilities/notify/notify" "$@"; }
save() { cp "$tmp/state/state" "$out/$1"; }
n send "Mail" "3 new messages" --action open:Open --action later:Later >/dev/null && save one
a=$(n send "Build" "finished" --urgency low --timeout 0)
n send "Battery" "5% left" --urgency critical --icon /usr/share/icons/battery.png >/dev/null
n send "Queued" "waits for a slot" >/dev/null && save queued
n close "$a" && n dnd on && n send "Held" "during DND" >/dev/null && save dnd-history
chmod 644 "$out"/*
echo "seeds written to $out"
