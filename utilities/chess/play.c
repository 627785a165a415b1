/* play.c — `chess play`: a game in the terminal against ChessEngine. The
 * board is drawn with Unicode pieces after each move, white at the bottom
 * (black's view when the person plays black). Input is line by line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chess_client.h"

int chess_play(chc *c, const chess_engine_limits *lim, bool human_white);

static void draw(const char *fen, bool white_view)
{
	static const char *const glyph[128] = {
		['K'] = "♔", ['Q'] = "♕", ['R'] = "♖", ['B'] = "♗", ['N'] = "♘", ['P'] = "♙",
		['k'] = "♚", ['q'] = "♛", ['r'] = "♜", ['b'] = "♝", ['n'] = "♞", ['p'] = "♟"};
	char sq[8][8];
	memset(sq, 0, sizeof sq);
	int rank = 7, file = 0;
	for (const char *f = fen; *f && *f != ' '; f++) {
		if (*f == '/') {
			rank--;
			file = 0;
		} else if (*f >= '1' && *f <= '8') {
			file += *f - '0';
		} else if (rank >= 0 && file < 8) {
			sq[rank][file++] = *f;
		}
	}
	for (int i = 0; i < 8; i++) {
		int r = white_view ? 7 - i : i;
		printf("%d ", r + 1);
		for (int j = 0; j < 8; j++) {
			int f = white_view ? j : 7 - j;
			char p = sq[r][f];
			printf("%s ", p && glyph[(int)p] ? glyph[(int)p] : ((r + f) % 2 ? " " : "·"));
		}
		putchar('\n');
	}
	printf(white_view ? "  a b c d e f g h\n" : "  h g f e d c b a\n");
}

static bool over(const chc_state *st)
{
	if (st->outcome == CHESS_ENGINE_OUTCOME_ONGOING)
		return false;
	printf("Game over: %s.\n", chc_outcome_name(st->outcome));
	return true;
}

static int engine_move(chc *c, const chess_engine_limits *lim, chc_state *st)
{
	char best[CHC_MOVE_MAX], san[CHC_MOVE_MAX];
	int r = chc_search(c, lim, NULL, NULL, best, san);
	if (r < 0) {
		fprintf(stderr, "chess: the engine failed: %s\n", chc_strerror(c, r));
		return r;
	}
	if ((r = chc_play(c, best, NULL, NULL, st)) < 0)
		return r;
	printf("Engine plays %s\n", san);
	return 0;
}

static int command(chc *c, const char *line, chc_state *st, bool human_white, bool *quit)
{
	if (!strcmp(line, "quit")) {
		*quit = true;
	} else if (!strcmp(line, "undo")) { /* takes back the engine's move and yours */
		for (int i = 0; i < 2; i++)
			chess_engine_undo(chc_conn(c), NULL);
		chc_state_get(c, st);
		draw(st->fen, human_white);
	} else if (!strcmp(line, "moves")) {
		hv_vec_string uci, san;
		if (chess_engine_legal_moves(chc_conn(c), &uci, &san) == 0) {
			for (size_t i = 0; i < san.count; i++)
				printf("%s%s", i ? " " : "", san.items[i]);
			putchar('\n');
		}
	} else if (!strcmp(line, "pgn")) {
		const char *pgn;
		if (chess_engine_export_pgn(chc_conn(c), &pgn) == 0)
			fputs(pgn, stdout);
	} else {
		return 1; /* a move */
	}
	return 0;
}

int chess_play(chc *c, const chess_engine_limits *lim, bool human_white)
{
	chc_state st;
	char line[256];
	bool quit = false;
	if (chc_state_get(c, &st) < 0)
		return 1;
	draw(st.fen, human_white);
	while (!quit && !over(&st)) {
		bool white_to_move = strstr(st.fen, " w ") != NULL;
		if (white_to_move != human_white) {
			if (engine_move(c, lim, &st) < 0)
				return 1;
			draw(st.fen, human_white);
			continue;
		}
		printf("Your move%s: ", st.in_check ? " (check)" : "");
		fflush(stdout);
		if (!fgets(line, sizeof line, stdin))
			break;
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || command(c, line, &st, human_white, &quit) == 0)
			continue;
		char san[CHC_MOVE_MAX];
		int r = chc_play(c, line, NULL, san, &st);
		if (r < 0) {
			printf("%s\n", chc_strerror(c, r));
			continue;
		}
		printf("You play %s\n", san);
	}
	return 0;
}
