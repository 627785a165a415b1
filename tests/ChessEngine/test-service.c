/* test-service — ChessEngine in a real process started as SystemServer
 * starts it (the socket as fd 3), through its client library: games,
 * perft, searches with their info events, stop, Busy, bad input (FEN,
 * moves, limits, PGN), a peer dying mid-search, a malformed message, and
 * two clients with their own games at once. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "chess_client.h"
#include "service.h"

static svc_fixture fx;

static chc *client(void)
{
	chc *c;
	REQUIRE(chc_from_conn(svc_connect(&fx), &c) == 0);
	chc_set_timeout(c, 60000);
	return c;
}

static void test_game(chc *c)
{
	chc_state st;
	CHECK_EQ(chc_set_position(c, "startpos", NULL, 0, &st), 0);
	CHECK_STR(st.fen, "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1");
	uint64_t n = 0;
	CHECK_EQ(chc_perft(c, 4, &n), 0);
	CHECK_EQ(n, 197281);
	char uci[CHC_MOVE_MAX], san[CHC_MOVE_MAX];
	CHECK_EQ(chc_play(c, "e4", uci, san, &st), 0);
	CHECK_STR(uci, "e2e4");
	CHECK_EQ(chc_play(c, "c7c5", uci, san, &st), 0);
	CHECK_STR(san, "c5");
	CHECK_EQ(st.moves, 2);
	CHECK_STR(st.fen, "rnbqkbnr/pp1ppppp/8/2p5/4P3/8/PPPP1PPP/RNBQKBNR w KQkq c6 0 2");
	/* illegal and nonsense moves: refused, the game unchanged */
	int r = chc_play(c, "Nf6", NULL, NULL, &st);
	CHECK_EQ(r, CHESS_ENGINE_ERR_ILLEGAL_MOVE);
	CHECK_MSG(strstr(chc_strerror(c, r), "Nf6 is not legal"), "%s", chc_strerror(c, r));
	CHECK_EQ(chc_play(c, "xyzzy", NULL, NULL, &st), CHESS_ENGINE_ERR_ILLEGAL_MOVE);
	CHECK_EQ(chc_state_get(c, &st), 0);
	CHECK_EQ(st.moves, 2);
	/* malformed FEN: the field named */
	r = chc_set_position(c, "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR x KQkq - 0 1", NULL, 0, &st);
	CHECK_EQ(r, CHESS_ENGINE_ERR_BAD_FEN);
	CHECK(strstr(chc_strerror(c, r), "FEN field 2 (side to move)"));
	const char *moves[] = {"f3", "e5", "g4", "Qh4#"};
	CHECK_EQ(chc_set_position(c, "startpos", moves, 4, &st), 0);
	CHECK_EQ(st.outcome, CHESS_ENGINE_OUTCOME_CHECKMATE);
	CHECK(st.in_check);
	/* no move to search for in a finished game */
	chess_engine_limits lim = {.depth = 2, .skill = 20};
	CHECK_EQ(chc_go(c, &lim, NULL), CHESS_ENGINE_ERR_ILLEGAL_MOVE);
	/* perft depth out of range */
	CHECK_EQ(chc_perft(c, 9, &n), CHESS_ENGINE_ERR_BAD_LIMITS);
	CHECK_EQ(chc_perft(c, 0, &n), CHESS_ENGINE_ERR_BAD_LIMITS);
}

struct infos {
	int count;
	unsigned last_depth;
	int mate;
};

static void on_info(void *ud, const chess_client_info_req *in)
{
	struct infos *i = ud;
	CHECK_MSG(in->depth == i->last_depth + 1, "info depth %u after %u", in->depth, i->last_depth);
	CHECK(in->pv.count >= 1 && in->nodes > 0);
	i->last_depth = in->depth;
	i->mate = in->mate;
	i->count++;
}

static void test_search(chc *c)
{
	chc_state st;
	/* mate in 2 (Legal's mate): found, said as mate 2, and playable */
	CHECK_EQ(chc_set_position(c, "r2qkb1r/pp2nppp/3p4/2pNN1B1/2BnP3/3P4/PPP2PPP/R2bK2R w KQkq - 1 1",
				  NULL, 0, &st), 0);
	chess_engine_limits lim = {.depth = 5, .skill = 20};
	struct infos in = {0};
	char best[CHC_MOVE_MAX], san[CHC_MOVE_MAX];
	CHECK_EQ(chc_search(c, &lim, on_info, &in, best, san), 0);
	CHECK_EQ(in.last_depth, 5);
	CHECK_EQ(in.mate, 2);
	CHECK_STR(best, "d5f6");
	CHECK_STR(san, "Nf6+");
	CHECK_EQ(chc_play(c, best, NULL, NULL, &st), 0);

	/* an infinite search: Busy for the game and another go, then stop */
	CHECK_EQ(chc_set_position(c, "startpos", NULL, 0, &st), 0);
	lim = (chess_engine_limits){.skill = 20};
	uint64_t id;
	CHECK_EQ(chc_go(c, &lim, &id), 0);
	CHECK(id > 0);
	CHECK_EQ(chc_play(c, "e4", NULL, NULL, &st), CHESS_ENGINE_ERR_BUSY);
	CHECK_EQ(chc_go(c, &lim, NULL), CHESS_ENGINE_ERR_BUSY);
	CHECK_EQ(chc_set_position(c, "startpos", NULL, 0, &st), CHESS_ENGINE_ERR_BUSY);
	usleep(200 * 1000);
	CHECK_EQ(chc_stop(c), 0);
	in = (struct infos){0};
	CHECK_EQ(chc_wait(c, on_info, &in, best, NULL), 0);
	CHECK_EQ(chc_play(c, best, NULL, NULL, &st), 0);
	/* limits: time and nodes end a search; absurd ones are refused */
	lim = (chess_engine_limits){.movetime_ms = 100, .skill = 20};
	CHECK_EQ(chc_search(c, &lim, NULL, NULL, best, NULL), 0);
	lim = (chess_engine_limits){.nodes = 3000, .skill = 5};
	CHECK_EQ(chc_search(c, &lim, NULL, NULL, best, NULL), 0);
	lim = (chess_engine_limits){.depth = 1000};
	CHECK_EQ(chc_go(c, &lim, NULL), CHESS_ENGINE_ERR_BAD_LIMITS);
	lim = (chess_engine_limits){.depth = 3, .skill = 21};
	CHECK_EQ(chc_go(c, &lim, NULL), CHESS_ENGINE_ERR_BAD_LIMITS);
	lim = (chess_engine_limits){.depth = 3, .engine = 7}; /* refused by the encoder */
	CHECK(chc_go(c, &lim, NULL) < 0);
}

static void test_pgn(chc *c)
{
	const char *pgn = "[Event \"Test\"]\n[White \"A\"]\n\n1. e4 e5 2. Nf3 Nc6 3. Bb5 *\n";
	chess_engine_state st;
	hv_conn *h = chc_conn(c);
	CHECK_EQ(chess_engine_import_pgn(h, pgn, &st), 0);
	CHECK_EQ(st.moves, 5);
	CHECK_EQ(chess_engine_set_tag(h, "Black", "B"), 0);
	CHECK_EQ(chess_engine_set_tag(h, "bad name", "x"), CHESS_ENGINE_ERR_BAD_PGN);
	const char *out;
	CHECK_EQ(chess_engine_export_pgn(h, &out), 0);
	CHECK(strstr(out, "[Event \"Test\"]\n[Site \"?\"]\n[Date \"????.??.??\"]\n[Round \"?\"]\n"
			  "[White \"A\"]\n[Black \"B\"]\n[Result \"*\"]\n\n1. e4 e5 2. Nf3 Nc6 3. Bb5 *\n"));
	int r = chess_engine_import_pgn(h, "1. e4 e5 2. Qh5 Ke7 3. Qxf7+ Kd6 4. O-O *", &st);
	CHECK_EQ(r, CHESS_ENGINE_ERR_BAD_PGN);
	CHECK(strstr(chc_strerror(c, r), "PGN line 1: O-O is illegal here"));
	CHECK_EQ(chess_engine_undo(h, &st), 0);
	CHECK_EQ(st.moves, 4);
	/* the legal moves, in both notations */
	hv_vec_string uci, san;
	CHECK_EQ(chess_engine_legal_moves(h, &uci, &san), 0);
	CHECK_EQ(uci.count, 27);
	CHECK_EQ(san.count, uci.count);
}

static void ignore_perft(hv_conn *c, int status, const chess_engine_perft_rep *rep, void *ud)
{
	(void)c, (void)status, (void)rep, (void)ud;
}

/* A client that leaves in the middle of a search (and one in the middle
 * of a perft) harms nobody: the service stops it and goes on. */
static void test_peer_dies(chc *c)
{
	for (int k = 0; k < 2; k++) {
		chc *d = client();
		chess_engine_limits lim = {.skill = 20};
		if (k == 0) {
			REQUIRE(chc_go(d, &lim, NULL) == 0);
		} else {
			chc_set_position(d, "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1",
					 NULL, 0, NULL);
			REQUIRE(chess_engine_perft_async(chc_conn(d), 6, ignore_perft, NULL) == 0);
			hv_conn_flush(chc_conn(d));
		}
		usleep(100 * 1000);
		chc_close(d);
	}
	/* a malformed message ends that peer only */
	int raw = svc_raw_socket(&fx);
	static const char junk[64] = "this is not a Haven IPC frame at all";
	CHECK(write(raw, junk, sizeof junk) == sizeof junk);
	char b;
	CHECK(read(raw, &b, 1) <= 0);
	close(raw);
	CHECK(svc_alive(&fx));
	uint64_t n;
	CHECK_EQ(chc_set_position(c, "startpos", NULL, 0, NULL), 0);
	CHECK_EQ(chc_perft(c, 3, &n), 0);
	CHECK_EQ(n, 8902);
}

/* Two clients at once: each its own game, each its own search. */
static void test_two_clients(chc *a)
{
	chc *b = client();
	chc_state sa, sb;
	const char *m1[] = {"e4"}, *m2[] = {"d4", "d5"};
	CHECK_EQ(chc_set_position(a, "startpos", m1, 1, &sa), 0);
	CHECK_EQ(chc_set_position(b, "startpos", m2, 2, &sb), 0);
	chess_engine_limits lim = {.depth = 5, .skill = 20};
	CHECK_EQ(chc_go(a, &lim, NULL), 0);
	CHECK_EQ(chc_go(b, &lim, NULL), 0);
	char ba[CHC_MOVE_MAX], bb[CHC_MOVE_MAX];
	CHECK_EQ(chc_wait(a, NULL, NULL, ba, NULL), 0);
	CHECK_EQ(chc_wait(b, NULL, NULL, bb, NULL), 0);
	CHECK_EQ(chc_play(a, ba, NULL, NULL, &sa), 0); /* black's move after 1. e4 */
	CHECK_EQ(chc_play(b, bb, NULL, NULL, &sb), 0); /* white's after 1. d4 d5 */
	CHECK_EQ(sa.moves, 2);
	CHECK_EQ(sb.moves, 3);
	chc_close(b);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2);
	svc_start(&fx, argv[1], "chess", NULL);
	chc *c = client();
	test_game(c);
	test_search(c);
	test_pgn(c);
	test_peer_dies(c);
	test_two_clients(c);
	chc_close(c);
	svc_stop(&fx);
	return check_result();
}
