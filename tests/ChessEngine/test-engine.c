/* test-engine — ChessEngine's own search: it finds forced mates in 1, 2
 * and 3 (positions checked with Stockfish 15.1), it plays a legal move in
 * 1,000 positions from random games, and its limits (nodes, depth, time,
 * stop from another thread) hold. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "engine.h"

static const struct {
	const char *fen;
	int mate;
} mates[] = {
	{"6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1", 1},
	{"r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 4 4", 1},
	{"rnbqkbnr/pppp1ppp/8/4p3/6P1/5P2/PPPPP2P/RNBQKBNR b KQkq - 0 2", 1},
	{"r2qkb1r/pp2nppp/3p4/2pNN1B1/2BnP3/3P4/PPP2PPP/R2bK2R w KQkq - 1 1", 2},
	{"6k1/pp4p1/2p5/2bp4/8/P5Pb/1P3rrP/2BRRN1K b - - 0 1", 2},
	{"r5rk/5p1p/5R2/4B3/8/8/7P/7K w - - 0 1", 3},
	{"2r3k1/p4p2/3Rp2p/1p2P1pK/8/1P4P1/P3Q2P/1q6 b - - 0 1", 3},
	{"r1b1kb1r/pppp1ppp/5q2/4n3/3KP3/2N3PN/PPP4P/R1BQ1B1R b kq - 0 1", 3},
	{"1k5r/pP3ppp/3p2b1/1BN1n3/1Q2P3/P1B5/KP3P1P/7q w - - 1 1", 3},
	{"3r1r1k/1p3p1p/p2p4/4n1NN/6bQ/1BPq4/P3p1PP/1R5K w - - 0 1", 3},
};

static void test_mates(ch_search *s)
{
	for (size_t i = 0; i < sizeof mates / sizeof *mates; i++) {
		ch_pos p;
		REQUIRE(ch_fen_parse(mates[i].fen, &p, NULL, 0) == 0);
		ch_limits lim = {.depth = 2 * mates[i].mate + 2, .skill = -1};
		ch_info info;
		ch_search_clear(s);
		ch_move m = ch_search_run(s, &p, NULL, 0, &lim, NULL, NULL, &info);
		CHECK_MSG(info.mate == mates[i].mate, "%s: mate %d (score %d), expected mate %d",
			  mates[i].fen, info.mate, info.score, mates[i].mate);
		/* the principal variation is the mate, move by move */
		CHECK_MSG(info.pvlen == 2 * mates[i].mate - 1 && info.pv[0] == m,
			  "%s: pv of %d moves", mates[i].fen, info.pvlen);
		for (int k = 0; k < info.pvlen; k++) {
			REQUIRE(ch_is_legal(&p, info.pv[k]));
			ch_make(&p, info.pv[k]);
		}
		CHECK_MSG(ch_pos_outcome(&p) == CH_CHECKMATE, "%s: the pv does not mate",
			  mates[i].fen);
	}
}

/* Positions from random games; the engine's move must be legal in each. */
static void test_random_positions(ch_search *s)
{
	unsigned seed = 12345;
	int searched = 0;
	while (searched < 1000) {
		ch_pos p;
		ch_fen_parse(CH_START_FEN, &p, NULL, 0);
		for (int ply = 0; ply < 200 && searched < 1000; ply++) {
			ch_movelist l;
			ch_gen_legal(&p, &l);
			if (l.n == 0 || ch_insufficient_material(&p))
				break;
			ch_limits lim = {.nodes = 400 + rand_r(&seed) % 400, .skill = -1};
			ch_move m = ch_search_run(s, &p, NULL, 0, &lim, NULL, NULL, NULL);
			searched++;
			CHECK_MSG(ch_is_legal(&p, m), "illegal move %#x after %d plies", m, ply);
			ch_make(&p, l.m[rand_r(&seed) % (unsigned)l.n]);
		}
	}
	/* no legal move: no move, not an invented one */
	ch_pos p;
	ch_fen_parse("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1", &p, NULL, 0);
	ch_limits lim = {.depth = 3};
	CHECK_EQ(ch_search_run(s, &p, NULL, 0, &lim, NULL, NULL, NULL), 0);
}

static void count_info(void *ud, const ch_info *info)
{
	int *last = ud;
	CHECK_MSG(info->depth == *last + 1, "info depth %d after %d", info->depth, *last);
	*last = info->depth;
}

struct stopper {
	ch_search *s;
	int ms;
};

static void *stop_later(void *arg)
{
	struct stopper *st = arg;
	usleep((useconds_t)st->ms * 1000);
	ch_search_stop(st->s);
	return NULL;
}

static void test_limits(ch_search *s)
{
	ch_pos p;
	ch_fen_parse("r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1", &p,
		     NULL, 0);
	ch_info info;
	int last = 0;
	ch_limits lim = {.depth = 4, .skill = -1};
	ch_move m = ch_search_run(s, &p, NULL, 0, &lim, count_info, &last, &info);
	CHECK_EQ(last, 4);
	CHECK(ch_is_legal(&p, m));
	CHECK(info.nodes > 0 && info.pvlen >= 1);
	/* a node limit is a limit (checked every 1024 nodes) */
	lim = (ch_limits){.nodes = 5000, .skill = -1};
	ch_search_run(s, &p, NULL, 0, &lim, NULL, NULL, &info);
	CHECK_MSG(info.nodes <= 5000 + 1024, "%llu nodes", (unsigned long long)info.nodes);
	/* "move now" from another thread ends an infinite search with a move */
	pthread_t t;
	struct stopper st = {s, 200};
	lim = (ch_limits){.skill = -1};
	pthread_create(&t, NULL, stop_later, &st);
	m = ch_search_run(s, &p, NULL, 0, &lim, NULL, NULL, &info);
	pthread_join(t, NULL);
	CHECK(ch_is_legal(&p, m));
	ch_search_arm(s);
	/* the worst skill still plays legal moves, and not always the best */
	int differ = 0;
	for (int i = 0; i < 20; i++) {
		lim = (ch_limits){.depth = 3, .skill = 0, .seed = (uint64_t)i + 1};
		ch_move w = ch_search_run(s, &p, NULL, 0, &lim, NULL, NULL, NULL);
		CHECK(ch_is_legal(&p, w));
		differ += w != m;
	}
	CHECK(differ > 0);
}

int main(void)
{
	ch_search *s;
	REQUIRE(ch_search_new(16, &s) == 0);
	test_mates(s);
	test_random_positions(s);
	test_limits(s);
	ch_search_free(s);
	return check_result();
}
