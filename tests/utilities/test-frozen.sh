#!/bin/bash
# test-frozen.sh — every CLI against a frozen service (SIGSTOP): each one
# returns by itself within its call timeout ($HAVEN_TIMEOUT_MS, 500 ms
# here), says which service did not answer, and exits 1. `timeout` only
# catches a CLI that hangs (killed: exit 137); nothing here times speed.
#   test-frozen.sh KEY=EXE...   (keys: clipboard clip notificationserver
#   notify configserver config echoserver echo-client imagedecoder imgdecode
#   systemserver svc windowserver wsctl sqlserver sql lookupserver lookup
#   launchserver launch fileoperation fileop filesystemaccessserver fsa;
#   launchserver launch chessengine chess; devicemapper devices;
#   audioserver audio;
#   networkserver net;
#   loginserver sessions;
#   keyboardpreferenceloader keyboard;
#   a pair whose service or CLI is missing is skipped)
set -u
declare -A exe
for a in "$@"; do exe[${a%%=*}]=${a#*=}; done
. "$(dirname "$0")/../lib/cli-test.sh" frozen
HANG=60 # far above the timeout: only a CLI that ignores it gets there

have() { for k in "$@"; do [ -n "${exe[$k]:-}" ] || { echo "skipped: no $k"; return 1; }; done; }
# frozen SERVICE_NAME CMD...: exit 1 (or $RC), one line naming the service and the timeout
frozen() {
	local who=$1 want=${RC:-1}; shift
	HAVEN_TIMEOUT_MS=500 timeout -s KILL $HANG "$@" </dev/null >"$dir/out" 2>"$dir/err"
	local rc=$?
	[ $rc -eq "$want" ] || fail "$* exited $rc against a frozen $who, expected $want: $(cat "$dir/err")"
	grep -q "$who did not answer within 500 ms (HAVEN_TIMEOUT_MS)" "$dir/err" ||
		fail "$*: timeout not said: $(cat "$dir/err")"
}
stop_last() { kill -STOP "${pids[-1]}"; }
cont_last() { kill -CONT "${pids[-1]}"; }

if have clipboard clip; then
	start_service "${exe[clipboard]}" clipboard --state-dir -
	clip=${exe[clip]}
	echo hi | "$clip" copy || fail "clip copy before the freeze"
	stop_last
	for cmd in "paste" "copy" "types" "history" "watch" "restore 1" "clear-history"; do
		frozen "the Clipboard" "$clip" $cmd
	done
	cont_last
	[ "$("$clip" paste)" = hi ] || fail "clip paste after SIGCONT"
fi

if have notificationserver notify; then
	start_service "${exe[notificationserver]}" notify
	notify=${exe[notify]}
	stop_last
	for cmd in "send t x" "list" "history" "dnd" "dnd on" "close 1" "invoke 1 a" "watch" "icon 1 $dir/x.pam"; do
		frozen NotificationServer "$notify" $cmd
	done
	cont_last
	"$notify" list >/dev/null || fail "notify list after SIGCONT"
fi

if have configserver config; then
	start_service "${exe[configserver]}" config
	config=${exe[config]}
	stop_last
	for cmd in "get D G K" "set D G K V" "rm D G" "add D G" "list D" "batch D" "watch D"; do
		frozen ConfigServer "$config" $cmd
	done
	cont_last
	"$config" set D G K V || fail "config set after SIGCONT"
fi

if have echoserver echo-client; then
	start_service "${exe[echoserver]}" echo
	stop_last
	frozen EchoServer "${exe[echo-client]}"
	cont_last
fi

if have imagedecoder imgdecode; then
	start_service "${exe[imagedecoder]}" image
	stop_last
	printf 'P1 1 1 1\n' >"$dir/in.pbm"
	frozen "the ImageDecoder" "${exe[imgdecode]}" --socket "$HAVEN_PORTAL_DIR/image" "$dir/in.pbm"
	frozen "the ImageDecoder" "${exe[imgdecode]}" "$dir/in.pbm" # through the portal
	kill -KILL "${pids[-1]}" # by hand it serves one client; two wait
fi

if have systemserver svc; then
	mkdir -p "$dir/etc" "$dir/ssrun"
	XDG_RUNTIME_DIR=$dir/ssrun "${exe[systemserver]}" --user --config "$dir/etc" 2>"$dir/ss.log" &
	pids+=($!)
	ctl=$dir/ssrun/haven/portal/SystemServer
	wait_for test -S "$ctl" || fail "SystemServer did not start: $(cat "$dir/ss.log")"
	stop_last
	for cmd in "status" "start X" "stop X" "restart X" "logs X" "reload" "introspect X" "call X m"; do
		frozen SystemServer "${exe[svc]}" --socket "$ctl" $cmd
	done
	cont_last
	"${exe[svc]}" --socket "$ctl" status >/dev/null || fail "svc status after SIGCONT"
fi

if have windowserver wsctl; then
	start_service "${exe[windowserver]}" window
	stop_last
	for cmd in "windows" "screenshot $dir/shot.png" "theme"; do
		frozen "the WindowServer" "${exe[wsctl]}" $cmd
	done
	cont_last
	"${exe[wsctl]}" windows >/dev/null || fail "wsctl windows after SIGCONT"
fi

if have sqlserver sql; then
	mkdir -p "$dir/sqldb"
	start_service "${exe[sqlserver]}" sql --dir "$dir/sqldb"
	stop_last
	frozen SQLServer "${exe[sql]}" db "SELECT 1"
	cont_last
	"${exe[sql]}" db "SELECT 1" >/dev/null || fail "sql after SIGCONT"
fi

if have lookupserver lookup; then
	printf '127.0.0.1 frozen.test\n' >"$dir/hosts"
	start_service "${exe[lookupserver]}" lookup --hosts "$dir/hosts" --nameserver 127.0.0.1:9
	stop_last
	RC=5 frozen LookupServer "${exe[lookup]}" frozen.test # lookup's "service failed" status
	cont_last
	"${exe[lookup]}" frozen.test >/dev/null || fail "lookup after SIGCONT"
fi

if have loginserver sessions; then
	start_service "${exe[loginserver]}" login --runtime-root "$dir/rt"
	stop_last
	for cmd in "list" "lock 1" "terminate 1"; do
		frozen LoginServer "${exe[sessions]}" $cmd
	done
	cont_last
	"${exe[sessions]}" list >/dev/null || fail "sessions list after SIGCONT"
fi

if have launchserver launch; then
	XDG_CONFIG_HOME=$dir/config start_service "${exe[launchserver]}" launch
	stop_last
	for cmd in "open https://example.org/" "handlers https://example.org/" "default text/plain" \
		"default text/plain x.desktop" "type https://example.org/" "apps"; do
		frozen LaunchServer "${exe[launch]}" $cmd
	done
	cont_last
	"${exe[launch]}" type https://example.org/ >/dev/null || fail "launch type after SIGCONT"
fi

if have requestserver request; then
	echo hi >"$dir/frozen.txt"
	start_service "${exe[requestserver]}" request --file-root "$dir"
	stop_last
	frozen RequestServer "${exe[request]}" "file://$dir/frozen.txt"
	cont_last
	"${exe[request]}" "file://$dir/frozen.txt" >/dev/null || fail "request after SIGCONT"
fi

if have fileoperation fileop; then
	start_service "${exe[fileoperation]}" fileop
	stop_last
	echo data >"$dir/fileop-src"
	frozen FileOperation "${exe[fileop]}" --socket "$HAVEN_PORTAL_DIR/fileop" copy "$dir/fileop-src" "$dir/fileop-dst"
	[ -e "$dir/fileop-dst" ] && fail "fileop copied through a frozen FileOperation"
	kill -KILL "${pids[-1]}" # by hand it serves one client
fi

if have filesystemaccessserver fsa; then
	start_service "${exe[filesystemaccessserver]}" fsa --state-dir - --agent-exe "${exe[fsa]}"
	stop_last
	frozen FileSystemAccessServer "${exe[fsa]}" grants
	frozen FileSystemAccessServer "${exe[fsa]}" revoke /usr/bin/x
	cont_last
	"${exe[fsa]}" grants >/dev/null || fail "fsa grants after SIGCONT"
fi

# Read-only calls only: a request queued while frozen runs after SIGCONT,
# and this NetworkServer sees the machine's own interfaces.
if have networkserver net; then
	start_service "${exe[networkserver]}" network
	stop_last
	for cmd in "list" "list --json" "list lo" "watch"; do
		frozen NetworkServer "${exe[net]}" $cmd
	done
	cont_last
	"${exe[net]}" list lo >/dev/null || fail "net list after SIGCONT"
fi

if have chessengine chess; then
	start_service "${exe[chessengine]}" chess
	stop_last
	frozen ChessEngine "${exe[chess]}" perft startpos 2
	cont_last
	[ "$("${exe[chess]}" perft startpos 2)" = 400 ] || fail "chess after SIGCONT"
fi

if have devicemapper devices; then
	mkdir -p "$dir/dev"
	start_service "${exe[devicemapper]}" devices --no-trigger --dev-root "$dir/dev" --rules "$dir/no-rules"
	stop_last
	for cmd in "list" "info /devices/virtual/net/lo" "settle" "monitor"; do
		frozen DeviceMapper "${exe[devices]}" $cmd
	done
	cont_last
	"${exe[devices]}" settle || fail "devices settle after SIGCONT"
fi

if have audioserver audio; then
	start_service "${exe[audioserver]}" audio
	sox_wav="$dir/frozen.wav"
	# A WAV header and 0.1 s of silence, written here (no sox needed).
	printf 'RIFF\x44\x25\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x20\x06\x00\x00' >"$sox_wav"
	head -c 1568 /dev/zero >>"$sox_wav"
	stop_last
	for cmd in "list" "volume 0.5" "volume 1 0.5" "mute" "unmute 1" "move 1 null" "play $sox_wav" \
		"record --sink null $dir/rec.wav"; do
		frozen AudioServer "${exe[audio]}" $cmd
	done
	cont_last
	"${exe[audio]}" list >/dev/null || fail "audio list after SIGCONT"
fi

if have configserver keyboardpreferenceloader keyboard; then
	XDG_CONFIG_HOME=$dir/kbconfig start_service "${exe[configserver]}" kbconfig
	start_service "${exe[keyboardpreferenceloader]}" keyboard --config-socket "$HAVEN_PORTAL_DIR/kbconfig" \
		--console none --windowserver-socket "$dir/no-window"
	stop_last
	frozen KeyboardPreferenceLoader "${exe[keyboard]}" --config-socket "$HAVEN_PORTAL_DIR/kbconfig" show
	cont_last
	"${exe[keyboard]}" --config-socket "$HAVEN_PORTAL_DIR/kbconfig" show >/dev/null ||
		fail "keyboard show after SIGCONT"
fi

finish
