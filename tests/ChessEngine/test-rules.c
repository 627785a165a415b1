/* test-rules — the rules of chess as chess-core implements them: perft
 * node counts of the standard published positions (chessprogramming.org
 * "Perft Results"), positions with a known outcome, FEN and PGN round
 * trips, and malformed FEN refused with the field named. Deeper perft runs
 * are in bench/ChessEngine. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chess.h"
#include "check.h"

static const struct {
	const char *name, *fen;
	int depth;
	uint64_t nodes;
} perfts[] = {
	{"initial", CH_START_FEN, 1, 20},
	{"initial", CH_START_FEN, 3, 8902},
	{"initial", CH_START_FEN, 5, 4865609},
	{"kiwipete", "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1", 1, 48},
	{"kiwipete", "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1", 3, 97862},
	{"kiwipete", "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1", 4, 4085603},
	{"position 3", "8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1", 5, 674624},
	{"position 4", "r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1", 4, 422333},
	{"position 4 mirrored", "r2q1rk1/pP1p2pp/Q4n2/bbp1p3/Np6/1B3NBn/pPPP1PPP/R3K2R b KQ - 0 1", 4, 422333},
	{"position 5", "rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8", 3, 62379},
	{"position 5", "rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8", 4, 2103487},
	{"position 6", "r4rk1/1pp1qppp/p1np1n2/2b1p1B1/2B1P1b1/P1NP1N2/1PP1QPPP/R4RK1 w - - 0 10", 4, 3894594},
};

static ch_pos pos(const char *fen)
{
	ch_pos p;
	char err[160];
	if (ch_fen_parse(fen, &p, err, sizeof err) < 0) {
		fprintf(stderr, "%s: %s\n", fen, err);
		abort();
	}
	return p;
}

static bool has_move(const char *fen, const char *uci)
{
	ch_pos p = pos(fen);
	ch_move m;
	return ch_move_parse_uci(&p, uci, &m) == 0;
}

static void test_perft(void)
{
	for (size_t i = 0; i < sizeof perfts / sizeof *perfts; i++) {
		ch_pos p = pos(perfts[i].fen);
		uint64_t n = ch_perft(&p, perfts[i].depth);
		CHECK_MSG(n == perfts[i].nodes, "perft %s depth %d: %llu, expected %llu",
			  perfts[i].name, perfts[i].depth, (unsigned long long)n,
			  (unsigned long long)perfts[i].nodes);
	}
}

static void test_outcomes(void)
{
	static const struct {
		const char *what, *fen;
		enum ch_outcome want;
	} cases[] = {
		{"fool's mate", "rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3", CH_CHECKMATE},
		{"back-rank mate", "6k1/5ppp/8/8/8/8/8/R5K1 b - - 0 1", CH_ONGOING},
		{"back-rank mate", "R5k1/5ppp/8/8/8/8/8/6K1 b - - 1 1", CH_CHECKMATE},
		{"stalemate", "7k/5Q2/6K1/8/8/8/8/8 b - - 0 1", CH_STALEMATE},
		{"fifty moves", "8/8/8/4k3/8/8/3K4/R7 w - - 100 80", CH_FIFTY_MOVES},
		{"99 plies", "8/8/8/4k3/8/8/3K4/R7 w - - 99 80", CH_ONGOING},
		{"K v K", "8/8/8/4k3/8/8/8/4K3 w - - 0 1", CH_INSUFFICIENT},
		{"KB v K", "8/8/8/4k3/8/8/8/4K2B w - - 0 1", CH_INSUFFICIENT},
		{"KN v K", "8/8/8/4k3/8/8/8/4K1N1 b - - 0 1", CH_INSUFFICIENT},
		{"KB v KB same colour", "8/8/8/4kb2/8/8/8/4K2B w - - 0 1", CH_INSUFFICIENT},
		{"KB v KB opposite colours", "8/8/8/4k1b1/8/8/8/4K2B w - - 0 1", CH_ONGOING},
		{"KNN v K", "8/8/8/4k3/8/8/8/4KNN1 w - - 0 1", CH_ONGOING},
		{"KP v K", "8/8/8/4k3/8/8/4P3/4K3 w - - 0 1", CH_ONGOING},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ch_pos p = pos(cases[i].fen);
		enum ch_outcome o = ch_pos_outcome(&p);
		CHECK_MSG(o == cases[i].want, "%s: %s, expected %s", cases[i].what,
			  ch_outcome_name(o), ch_outcome_name(cases[i].want));
	}
}

static void test_special_moves(void)
{
	/* Castling: not through, out of or into check; b1 attacked is fine. */
	CHECK(!has_move("4kr2/8/8/8/8/8/8/R3K2R w KQ - 0 1", "e1g1"));
	CHECK(has_move("4kr2/8/8/8/8/8/8/R3K2R w KQ - 0 1", "e1c1"));
	CHECK(!has_move("3rk3/8/8/8/8/8/8/R3K2R w KQ - 0 1", "e1c1"));
	CHECK(has_move("1r2k3/8/8/8/8/8/8/R3K2R w KQ - 0 1", "e1c1"));
	CHECK(!has_move("4k3/8/8/8/8/8/8/R3K1rR w KQ - 0 1", "e1g1")); /* into */
	CHECK(!has_move("4r1k1/8/8/8/8/8/8/R3K2R w KQ - 0 1", "e1c1")); /* out of */
	CHECK(has_move("4k3/8/8/8/8/8/8/R3K2R w KQ - 0 1", "e1g1"));
	CHECK(!has_move("4k3/8/8/8/8/8/8/R3K2R w Q - 0 1", "e1g1"));   /* no right */
	CHECK(!has_move("4k3/8/8/8/8/8/8/RN2K2R w KQ - 0 1", "e1c1")); /* b1 blocked */
	/* En passant: legal, and refused when the capture uncovers the king
	 * along the rank (both pawns leave it) or leaves a diagonal pin. */
	CHECK(has_move("4k3/8/8/KPp5/8/8/8/8 w - c6 0 2", "b5c6"));
	CHECK(!has_move("4k3/8/8/KPp4r/8/8/8/8 w - c6 0 2", "b5c6"));
	CHECK(!has_move("4k3/8/8/KpP4r/8/8/8/8 w - b6 0 2", "c5b6"));
	CHECK(!has_move("8/8/8/8/k1pP3Q/8/8/7K b - d3 0 1", "c4d3"));
	/* the pawn that gave check may be taken en passant */
	CHECK(has_move("8/8/8/2k5/3Pp3/8/8/4K3 b - d3 0 1", "e4d3"));
	/* a pawn pinned on a diagonal may take en passant only along it */
	CHECK(has_move("8/k7/8/8/3pP3/8/8/4K1B1 b - e3 0 1", "d4e3"));
	CHECK(!has_move("8/k7/8/8/2Pp4/8/8/4K1B1 b - c3 0 1", "d4c3"));
	/* Promotion to each piece, SAN with '='. */
	const char *pf = "8/P7/8/8/8/8/8/k6K w - - 0 1";
	const char *promos[] = {"a7a8q", "a7a8r", "a7a8b", "a7a8n"};
	for (int i = 0; i < 4; i++)
		CHECK(has_move(pf, promos[i]));
	ch_pos p = pos(pf);
	ch_move m;
	CHECK_EQ(ch_move_parse_san(&p, "a8=N", &m), 0);
	CHECK_EQ(CH_PROMO(m), CH_KNIGHT);
	CHECK_EQ(ch_move_parse_san(&p, "a8N", &m), 0);
	ch_make(&p, m);
	CHECK_EQ(p.board[56], CH_PIECE(CH_WHITE, CH_KNIGHT));
	/* underpromotion with check: the knight forks from g8 */
	ch_pos q = pos("8/4k1P1/8/8/8/8/8/K7 w - - 0 1");
	CHECK_EQ(ch_move_parse_uci(&q, "g7g8n", &m), 0);
	char san[CH_MOVE_STR_MAX];
	ch_move_san(&q, m, san);
	CHECK_STR(san, "g8=N+");
	ch_make(&q, m);
	CHECK(ch_in_check(&q));
}

static void test_fen(void)
{
	static const char *const round[] = {
		CH_START_FEN,
		"r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1",
		"rnbqkbnr/ppp1pppp/8/3pP3/8/8/PPPP1PPP/RNBQKBNR w KQkq d6 0 3",
		"8/8/8/4k3/8/8/3K4/R7 b - - 37 80",
	};
	for (size_t i = 0; i < sizeof round / sizeof *round; i++) {
		ch_pos p = pos(round[i]);
		char out[CH_FEN_MAX];
		ch_fen_write(&p, out);
		CHECK_STR(out, round[i]);
	}
	/* a FEN without its counters gets 0 and 1 */
	ch_pos p = pos("4k3/8/8/8/8/8/8/4K3 w - -");
	CHECK_EQ(p.halfmove, 0);
	CHECK_EQ(p.fullmove, 1);
	static const struct {
		const char *fen, *names;
	} bad[] = {
		{"", "field 1 (placement): missing"},
		{"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP w KQkq - 0 1", "field 1 (placement)"},
		{"rnbqkbnr/pppppppp/9/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "field 1 (placement)"},
		{"rnbqkbnr/ppppxppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "field 1 (placement): unexpected 'x'"},
		{"rnbq1bnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQ - 0 1", "field 1 (placement): black has 0 kings"},
		{"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR x KQkq - 0 1", "field 2 (side to move)"},
		{"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w", "field 3 (castling): missing"},
		{"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkz - 0 1", "field 3 (castling): unexpected 'z'"},
		{"rnbqkbn1/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "field 3 (castling)"},
		{"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq e4 0 1", "field 4 (en passant)"},
		{"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq e6 0 1", "field 4 (en passant): no pawn"},
		{"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - x 1", "field 5 (halfmove clock)"},
		{"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 0", "field 6 (fullmove number)"},
		{"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1 extra", "after field 6"},
		{"4k3/8/8/8/8/8/8/4K2R b - - 0 1", NULL},
		{"4k2R/8/8/8/8/8/8/4K3 w - - 0 1", "field 2 (side to move): the side not to move is in check"},
		{"4k3/8/8/8/8/8/8/P3K3 w - - 0 1", "a pawn on the first or last rank"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char err[160] = "";
		int r = ch_fen_parse(bad[i].fen, &p, err, sizeof err);
		if (!bad[i].names) {
			CHECK_MSG(r == 0, "\"%s\" refused: %s", bad[i].fen, err);
			continue;
		}
		CHECK_MSG(r == -EINVAL && strstr(err, bad[i].names),
			  "\"%s\": %d \"%s\", expected an error with \"%s\"", bad[i].fen, r, err,
			  bad[i].names);
	}
}

static void test_repetition(void)
{
	ch_game g;
	ch_pos p = pos(CH_START_FEN);
	ch_game_init(&g, &p);
	const char *moves[] = {"Nf3", "Nf6", "Ng1", "Ng8", "Nf3", "Nf6", "Ng1", "Ng8"};
	for (int i = 0; i < 8; i++) {
		ch_move m;
		REQUIRE(ch_move_parse_san(&g.pos, moves[i], &m) == 0);
		REQUIRE(ch_game_push(&g, m) == 0);
		CHECK_MSG(ch_game_outcome(&g) == (i == 7 ? CH_REPETITION : CH_ONGOING),
			  "after %d plies: %s", i + 1, ch_outcome_name(ch_game_outcome(&g)));
	}
	CHECK_EQ(ch_game_repetitions(&g), 3);
	/* an illegal move is refused and changes nothing */
	ch_move bad = CH_MOVE(4, 36, 0, 0);
	CHECK_EQ(ch_game_push(&g, bad), -ENOENT);
	CHECK_EQ(g.n, 8);
	ch_game_fini(&g);
	/* castling rights lost make the "same" position a different one */
	p = pos("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1");
	ch_game_init(&g, &p);
	const char *m2[] = {"Ke2", "Ke7", "Ke1", "Ke8", "Ke2", "Ke7", "Ke1", "Ke8"};
	for (int i = 0; i < 8; i++) {
		ch_move m;
		REQUIRE(ch_move_parse_san(&g.pos, m2[i], &m) == 0);
		REQUIRE(ch_game_push(&g, m) == 0);
	}
	CHECK_EQ(ch_game_repetitions(&g), 2);
	/* fifty moves reached by play */
	ch_game_fini(&g);
	p = pos("8/8/8/4k3/8/8/3K4/R7 w - - 99 80");
	ch_game_init(&g, &p);
	ch_move m;
	REQUIRE(ch_move_parse_san(&g.pos, "Ra2", &m) == 0);
	REQUIRE(ch_game_push(&g, m) == 0);
	CHECK_EQ(ch_game_outcome(&g), CH_FIFTY_MOVES);
	ch_game_fini(&g);
}

static const char pgn_text[] =
	"[Event \"Casual \\\"blitz\\\"\"]\n"
	"[Site \"?\"]\n"
	"[Date \"2026.12.07\"]\n"
	"[Round \"1\"]\n"
	"[White \"Haven\"]\n"
	"[Black \"Fairy-Max\"]\n"
	"[Result \"1-0\"]\n"
	"[ECO \"C60\"]\n"
	"\n"
	"1. e4 e5 2. Nf3 Nc6 3. Bb5 a6 4. Ba4 Nf6 5. O-O Be7 6. Re1 b5 7. Bb3 d6 8. c3\n"
	"O-O 9. h3 Nb8 10. d4 Nbd7 11. c4 c6 12. cxb5 axb5 13. Nc3 Bb7 14. Bg5 b4\n"
	"15. Nb1 h6 16. Bh4 c5 17. dxe5 Nxe4 18. Bxe7 Qxe7 19. exd6 Qf6 20. Nbd2 Nxd6\n"
	"21. Nc4 Nxc4 22. Bxc4 Nb6 23. Ne5 Rae8 24. Bxf7+ Rxf7 25. Nxf7 Rxe1+ 26. Qxe1\n"
	"Kxf7 27. Qe3 Qg5 28. Qxg5 hxg5 29. b3 Ke6 30. a3 Kd6 31. axb4 cxb4 32. Ra5 Nd5\n"
	"33. f3 Bc8 34. Kf2 Bf5 35. Ra7 g6 36. Ra6+ Kc5 37. Ke1 Nf4 38. g3 Nxh3 39. Kd2\n"
	"Kb5 40. Rd6 Kc5 41. Ra6 Nf2 42. g4 Bd3 43. Re6 1-0\n";

static void test_pgn(void)
{
	ch_game g;
	char err[160] = "";
	int r = ch_pgn_parse(pgn_text, strlen(pgn_text), &g, err, sizeof err);
	REQUIRE_EQ(r, 0);
	CHECK_EQ(g.n, 85);
	CHECK_STR(g.result, "1-0");
	CHECK_STR(ch_game_tag(&g, "ECO"), "C60");
	CHECK_STR(ch_game_tag(&g, "Event"), "Casual \"blitz\"");
	char *out = ch_pgn_write(&g);
	REQUIRE(out);
	CHECK_STR(out, pgn_text);
	free(out);
	ch_game_fini(&g);

	/* comments, NAGs, variations, a FEN start, black to move first */
	const char *messy = "[FEN \"4k3/8/8/8/8/8/4P3/4K3 b - - 0 30\"]\n"
			    "30... Kd7 {a comment (with parens)} 31. e4 $1 (31. e3 Ke6) Ke6 ; eol\n"
			    "32. e5 *";
	REQUIRE_EQ(ch_pgn_parse(messy, strlen(messy), &g, err, sizeof err), 0);
	CHECK_EQ(g.n, 4);
	CHECK_STR(g.result, "*");
	out = ch_pgn_write(&g);
	REQUIRE(out);
	CHECK(strstr(out, "[SetUp \"1\"]\n[FEN \"4k3/8/8/8/8/8/4P3/4K3 b - - 0 30\"]"));
	CHECK(strstr(out, "30... Kd7 31. e4 Ke6 32. e5 *"));
	ch_game g2;
	REQUIRE_EQ(ch_pgn_parse(out, strlen(out), &g2, err, sizeof err), 0);
	CHECK_EQ(g2.n, 4);
	CHECK_EQ(g2.pos.key, g.pos.key);
	free(out);
	ch_game_fini(&g2);
	ch_game_fini(&g);

	/* errors name the line */
	const char *illegal = "[Event \"x\"]\n\n1. e4 e5\n2. Ke3 *";
	CHECK_EQ(ch_pgn_parse(illegal, strlen(illegal), &g, err, sizeof err), -EINVAL);
	CHECK_STR(err, "PGN line 4: Ke3 is illegal here");
	const char *garbage = "1. e4 {never closed";
	CHECK_EQ(ch_pgn_parse(garbage, strlen(garbage), &g, err, sizeof err), -EINVAL);
	CHECK(strstr(err, "unterminated comment"));
}

int main(void)
{
	ch_init();
	test_perft();
	test_outcomes();
	test_special_moves();
	test_fen();
	test_repetition();
	test_pgn();
	return check_result();
}
