#!/bin/sh
# fake-uci.sh — a UCI engine that misbehaves as $FAKE_UCI_MODE says when
# asked to search: crash (SIGSEGV), hang (busy, never answers), silent
# (answers nothing at all, not even uciok), illegal (a bestmove that is
# not legal), exit (status 3). Shell builtins only: the service's child
# sees no other programs.
while read -r line; do
	case $line in
	uci)
		[ "$FAKE_UCI_MODE" = silent ] && continue
		echo "id name fake"
		echo uciok ;;
	go*)
		echo "info depth 1 score cp 0 pv e2e4"
		case $FAKE_UCI_MODE in
		crash) kill -SEGV $$ ;;
		hang) while :; do :; done ;;
		illegal) echo "bestmove e2e5" ;;
		exit) exit 3 ;;
		esac ;;
	esac
done
