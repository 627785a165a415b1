/* fuzz-chess-notation — chess-core's parsers of outside text: the first
 * byte picks FEN, a move (UCI or SAN) in a few positions, or a PGN game.
 * What parses must also write back and parse again to the same thing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chess.h"

static const char *const positions[] = {
	CH_START_FEN,
	"r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1",
	"8/P7/8/8/8/8/8/k6K w - - 0 1",
	"4k3/8/8/KPp4r/8/8/8/8 w - c6 0 2",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1 << 16)
		return 0;
	ch_init();
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	char err[200];
	switch (data[0] % 3) {
	case 0: {
		ch_pos p, q;
		if (ch_fen_parse(text, &p, err, sizeof err) == 0) {
			char out[CH_FEN_MAX];
			ch_fen_write(&p, out);
			if (ch_fen_parse(out, &q, err, sizeof err) != 0 || q.key != p.key)
				abort();
			ch_movelist l;
			ch_gen_legal(&p, &l);
		}
		break;
	}
	case 1:
		for (size_t i = 0; i < sizeof positions / sizeof *positions; i++) {
			ch_pos p;
			ch_move m;
			ch_fen_parse(positions[i], &p, NULL, 0);
			if (ch_move_parse(&p, text, &m) == 0) {
				char san[CH_MOVE_STR_MAX], uci[CH_MOVE_STR_MAX];
				ch_move n;
				ch_move_san(&p, m, san);
				ch_move_uci(m, uci);
				if (ch_move_parse_san(&p, san, &n) || n != m ||
				    ch_move_parse_uci(&p, uci, &n) || n != m)
					abort();
			}
		}
		break;
	default: {
		ch_game g;
		if (ch_pgn_parse(text, size - 1, &g, err, sizeof err) == 0) {
			char *out = ch_pgn_write(&g);
			ch_game h;
			if (!out || ch_pgn_parse(out, strlen(out), &h, err, sizeof err) != 0 ||
			    h.n != g.n || h.pos.key != g.pos.key)
				abort();
			ch_game_fini(&h);
			free(out);
			ch_game_fini(&g);
		}
		break;
	}
	}
	free(text);
	return 0;
}
