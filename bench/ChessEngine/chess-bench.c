/* chess-bench — ChessEngine's engine beside Stockfish, and a match.
 *
 *   chess-bench [--quick] [--games N] [--movetime MS] [--pgn FILE]
 *
 * 1. perft 5 from the initial position: chess-core's nodes/s against
 *    Stockfish's `go perft 5` in the same run (goal >= 0.5x);
 * 2. a 1 s search of a middlegame position: nodes/s and depth reached,
 *    beside Stockfish's (one thread each);
 * 3. a match against Fairy-Max (Debian's fairymax, xboard) at a fixed time
 *    per move, colours alternating, every move of both sides checked
 *    legal: the score. --quick: perft 4, 0.2 s, 2 games at 20 ms (the
 *    smoke run in make test; it checks legality, never speed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "peer.h"

#define STOCKFISH "/usr/games/stockfish"
#define FAIRYMAX "/usr/games/fairymax"
#define MIDDLEGAME "r1bq1rk1/pp2bppp/2n1pn2/3p4/2PP4/2N1PN2/PP3PPP/R2QKB1R w KQ - 0 9"

static bool quick;
static int games = 20, movetime = 100;
static FILE *pgn_out; /* --pgn FILE: every game, to replay */

static void bench_perft(int depth)
{
	ch_pos p;
	ch_fen_parse(CH_START_FEN, &p, NULL, 0);
	double t0 = now_s();
	uint64_t n = ch_perft(&p, depth);
	double own = (double)n / (now_s() - t0);
	printf("perft %d: %llu nodes, Haven %.1f Mnodes/s", depth, (unsigned long long)n, own / 1e6);
	struct peer sf;
	char *argv[] = {STOCKFISH, NULL};
	if (access(STOCKFISH, X_OK) || peer_start(&sf, argv) < 0) {
		printf(" (no stockfish)\n");
		return;
	}
	peer_send(&sf, "uci");
	peer_expect(&sf, "uciok", 10000);
	peer_send(&sf, "isready");
	peer_expect(&sf, "readyok", 10000);
	peer_send(&sf, "position startpos");
	t0 = now_s();
	peer_send(&sf, "go perft %d", depth);
	const char *l = peer_expect(&sf, "Nodes searched:", 120000);
	double sfs = l ? (double)strtoull(l + 15, NULL, 10) / (now_s() - t0) : 0;
	printf(", Stockfish %.1f Mnodes/s: ratio %.2fx (goal >= 0.5x)\n", sfs / 1e6,
	       sfs > 0 ? own / sfs : 0);
	peer_stop(&sf);
}

static void bench_search(int ms)
{
	ch_pos p;
	ch_fen_parse(MIDDLEGAME, &p, NULL, 0);
	ch_search *s;
	if (ch_search_new(16, &s) < 0)
		exit(1);
	ch_limits lim = {.movetime_ms = ms, .skill = -1};
	ch_info info;
	ch_search_run(s, &p, NULL, 0, &lim, NULL, NULL, &info);
	ch_search_free(s);
	printf("search %d ms (middlegame): Haven depth %d, %.2f Mnodes/s", ms, info.depth,
	       (double)info.nps / 1e6);
	struct peer sf;
	char *argv[] = {STOCKFISH, NULL};
	if (access(STOCKFISH, X_OK) || peer_start(&sf, argv) < 0) {
		printf(" (no stockfish)\n");
		return;
	}
	peer_send(&sf, "uci");
	peer_expect(&sf, "uciok", 10000);
	peer_send(&sf, "setoption name Threads value 1");
	peer_send(&sf, "isready");
	peer_expect(&sf, "readyok", 10000);
	peer_send(&sf, "position fen %s", MIDDLEGAME);
	peer_send(&sf, "go movetime %d", ms);
	int depth = 0;
	unsigned long long nps = 0;
	const char *l;
	while ((l = peer_line(&sf, ms + 10000)) && strncmp(l, "bestmove", 8)) {
		const char *d = strstr(l, " depth "), *n = strstr(l, " nps ");
		if (!strncmp(l, "info", 4) && d && n && strstr(l, " pv ")) {
			depth = atoi(d + 7);
			nps = strtoull(n + 5, NULL, 10);
		}
	}
	printf("; Stockfish depth %d, %.2f Mnodes/s\n", depth, (double)nps / 1e6);
	peer_stop(&sf);
}

/* One game; returns Haven's points x2 (0, 1, 2), or -1 if a move of
 * either side was illegal or the opponent stopped answering. */
static int play_game(int g, ch_search *s, int *plies)
{
	bool haven_white = g % 2 == 0;
	struct peer fm;
	char *argv[] = {FAIRYMAX, NULL};
	if (peer_start(&fm, argv) < 0)
		return -1;
	peer_send(&fm, "xboard");
	peer_send(&fm, "protover 2");
	peer_send(&fm, "new");
	peer_send(&fm, "st %g", movetime / 1000.0);
	if (!haven_white)
		peer_send(&fm, "go");
	ch_pos start;
	ch_fen_parse(CH_START_FEN, &start, NULL, 0);
	ch_game game;
	ch_game_init(&game, &start);
	ch_search_clear(s);
	int result = -1;
	while (game.n < 400) {
		enum ch_outcome o = ch_game_outcome(&game);
		if (o == CH_CHECKMATE) {
			bool haven_mated = (game.pos.side == CH_WHITE) == haven_white;
			result = haven_mated ? 0 : 2;
			break;
		}
		if (o != CH_ONGOING) {
			result = 1;
			break;
		}
		ch_move m;
		char uci[CH_MOVE_STR_MAX];
		if ((game.pos.side == CH_WHITE) == haven_white) {
			ch_limits lim = {.movetime_ms = movetime, .skill = -1};
			m = ch_search_run(s, &game.pos, game.keys, game.n, &lim, NULL, NULL, NULL);
			if (ch_game_push(&game, m) < 0)
				break;
			ch_move_uci(m, uci);
			peer_send(&fm, "%s", uci);
			continue;
		}
		const char *l;
		while ((l = peer_line(&fm, movetime * 20 + 5000)) && strncmp(l, "move ", 5) &&
		       strncmp(l, "resign", 6))
			;
		if (!l)
			break;
		if (!strncmp(l, "resign", 6)) {
			result = 2;
			break;
		}
		if (ch_move_parse_uci(&game.pos, l + 5, &m) < 0 || ch_game_push(&game, m) < 0) {
			fprintf(stderr, "game %d: Fairy-Max's %s is illegal\n", g + 1, l + 5);
			break;
		}
	}
	if (game.n >= 400)
		result = 1; /* adjudicated */
	if (pgn_out) {
		ch_game_set_tag(&game, "Event", "chess-bench");
		ch_game_set_tag(&game, "White", haven_white ? "Haven" : "Fairy-Max");
		ch_game_set_tag(&game, "Black", haven_white ? "Fairy-Max" : "Haven");
		bool white_won = result == 2 ? haven_white : result == 0 ? !haven_white : false;
		strcpy(game.result, result == 1 ? "1/2-1/2" : result < 0 ? "*" : white_won ? "1-0" : "0-1");
		char *text = ch_pgn_write(&game);
		if (text)
			fprintf(pgn_out, "%s\n", text);
		free(text);
	}
	*plies = (int)game.n;
	ch_game_fini(&game);
	peer_stop(&fm);
	return result;
}

static int bench_match(void)
{
	if (access(FAIRYMAX, X_OK)) {
		printf("match: no fairymax (scripts/deps.txt)\n");
		return 0;
	}
	ch_search *s;
	if (ch_search_new(16, &s) < 0)
		return 1;
	int points2 = 0, wins = 0, draws = 0, losses = 0, bad = 0;
	for (int g = 0; g < games; g++) {
		int plies = 0, r = play_game(g, s, &plies);
		printf("  game %2d (Haven %s): %s in %d plies\n", g + 1, g % 2 ? "black" : "white",
		       r < 0 ? "ILLEGAL or no answer" : r == 2 ? "Haven won" : r == 1 ? "draw" : "Fairy-Max won",
		       plies);
		fflush(stdout);
		if (r < 0)
			bad++;
		else
			points2 += r, wins += r == 2, draws += r == 1, losses += r == 0;
	}
	ch_search_free(s);
	printf("match vs Fairy-Max 5.0b, %d ms a move: Haven %.1f / %d (+%d =%d -%d)%s\n", movetime,
	       points2 / 2.0, games, wins, draws, losses, bad ? ", SOME GAMES BROKEN" : ", all legal");
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = true;
		else if (!strcmp(argv[i], "--games") && i + 1 < argc)
			games = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--movetime") && i + 1 < argc)
			movetime = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pgn") && i + 1 < argc && (pgn_out = fopen(argv[++i], "w")))
			;
		else {
			fprintf(stderr, "usage: chess-bench [--quick] [--games N] [--movetime MS] [--pgn FILE]\n");
			return 2;
		}
	}
	if (quick) {
		games = 2;
		movetime = 20;
	}
	ch_init();
	bench_perft(quick ? 4 : 5);
	bench_search(quick ? 200 : 1000);
	return bench_match();
}
