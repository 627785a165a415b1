/* search.c — alpha-beta search: negamax with principal variation search,
 * iterative deepening, a transposition table, quiescence search on
 * captures and promotions, null-move pruning and late-move reductions.
 * Moves are ordered: the table's move, captures by MVV-LVA, promotions,
 * two killers per ply, then the history heuristic.
 *
 * Limits are checked every 1024 nodes; a search stopped mid-iteration
 * returns the best move of the deepest iteration it finished (or of the
 * unfinished one, if its first move was searched). Skill levels below 20
 * cap the depth and choose among root moves with a random margin. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

enum { TT_EXACT = 1, TT_LOWER = 2, TT_UPPER = 3 };

typedef struct tt_entry {
	uint64_t key;
	ch_move move;
	int16_t score;
	int8_t depth;
	uint8_t flag;
} tt_entry;

struct ch_search {
	tt_entry *tt;
	size_t tt_mask;
	atomic_bool stop;
	/* per search */
	const ch_limits *lim;
	uint64_t nodes, start_ns, hard_ns;
	bool stopped;
	int seldepth, root_depth;
	uint64_t *keys; /* history of the game, then the search path */
	size_t nkeys, keys_cap;
	ch_move killers[CH_MAX_PLY][2];
	int history[12][64];
	ch_move pv[CH_MAX_PLY][CH_MAX_PLY];
	int pvlen[CH_MAX_PLY];
	int root_scores[CH_MAX_MOVES];
	ch_move root_moves[CH_MAX_MOVES];
	int nroot;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int ch_search_new(size_t tt_mb, ch_search **out)
{
	if (tt_mb < 1 || tt_mb > 4096)
		return -EINVAL;
	ch_init();
	ch_search *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	size_t n = 1;
	while (n * 2 * sizeof(tt_entry) <= tt_mb << 20)
		n *= 2;
	s->tt = calloc(n, sizeof *s->tt);
	if (!s->tt) {
		free(s);
		return -ENOMEM;
	}
	s->tt_mask = n - 1;
	*out = s;
	return 0;
}

void ch_search_free(ch_search *s)
{
	if (!s)
		return;
	free(s->tt);
	free(s->keys);
	free(s);
}

void ch_search_clear(ch_search *s)
{
	memset(s->tt, 0, (s->tt_mask + 1) * sizeof *s->tt);
	memset(s->history, 0, sizeof s->history);
	memset(s->killers, 0, sizeof s->killers);
}

void ch_search_arm(ch_search *s)
{
	atomic_store(&s->stop, false);
}

void ch_search_stop(ch_search *s)
{
	atomic_store(&s->stop, true);
}

/* Mate scores are stored relative to the node, not the root. */
static int score_to_tt(int score, int ply)
{
	return score > CH_MATE_BOUND ? score + ply : score < -CH_MATE_BOUND ? score - ply : score;
}

static int score_from_tt(int score, int ply)
{
	return score > CH_MATE_BOUND ? score - ply : score < -CH_MATE_BOUND ? score + ply : score;
}

static void tt_store(ch_search *s, uint64_t key, int depth, int score, int flag, ch_move m, int ply)
{
	tt_entry *e = &s->tt[key & s->tt_mask];
	if (e->key == key && depth < e->depth - 2 && flag != TT_EXACT)
		return; /* keep the deeper result for this position */
	if (!m && e->key == key)
		m = e->move;
	*e = (tt_entry){key, m, (int16_t)score_to_tt(score, ply), (int8_t)depth, (uint8_t)flag};
}

static bool check_limits(ch_search *s)
{
	if (atomic_load_explicit(&s->stop, memory_order_relaxed) ||
	    (s->lim->nodes && s->nodes >= s->lim->nodes) || (s->hard_ns && now_ns() >= s->hard_ns))
		s->stopped = true;
	return s->stopped;
}

static const int mvv[6] = {1, 3, 3, 5, 9, 20};

static void score_moves(ch_search *s, const ch_pos *p, const ch_movelist *l, int *sc,
			ch_move tt_move, int ply)
{
	for (int i = 0; i < l->n; i++) {
		ch_move m = l->m[i];
		int victim = p->board[CH_TO(m)], attacker = ch_piece_type(p->board[CH_FROM(m)]);
		if (m == tt_move)
			sc[i] = 1 << 30;
		else if (victim != CH_EMPTY || (CH_FLAGS(m) & CH_MF_EP))
			sc[i] = (1 << 25) + mvv[victim == CH_EMPTY ? 0 : ch_piece_type(victim)] * 64 -
				attacker;
		else if (CH_PROMO(m) == CH_QUEEN)
			sc[i] = (1 << 25) + 8 * 64;
		else if (CH_PROMO(m))
			sc[i] = -(1 << 20); /* underpromotions last */
		else if (ply < CH_MAX_PLY && m == s->killers[ply][0])
			sc[i] = (1 << 24) + 1;
		else if (ply < CH_MAX_PLY && m == s->killers[ply][1])
			sc[i] = 1 << 24;
		else
			sc[i] = s->history[p->board[CH_FROM(m)]][CH_TO(m)];
	}
}

/* Selection sort step: bring the best remaining move to index i. */
static ch_move pick(ch_movelist *l, int *sc, int i)
{
	int best = i;
	for (int j = i + 1; j < l->n; j++)
		if (sc[j] > sc[best])
			best = j;
	ch_move m = l->m[best];
	int t = sc[best];
	l->m[best] = l->m[i];
	sc[best] = sc[i];
	l->m[i] = m;
	sc[i] = t;
	return m;
}

static int quiesce(ch_search *s, const ch_pos *p, int alpha, int beta, int ply)
{
	s->nodes++;
	if ((s->nodes & 1023) == 0 && check_limits(s))
		return 0;
	if (ply > s->seldepth)
		s->seldepth = ply;
	bool in_check = ch_in_check(p);
	ch_movelist l;
	if (in_check) { /* every evasion, so mates at the horizon are seen */
		ch_gen_legal(p, &l);
		if (l.n == 0)
			return -CH_MATE + ply;
	} else {
		int stand = ch_evaluate(p);
		if (stand >= beta || ply >= CH_MAX_PLY - 1)
			return stand;
		if (stand > alpha)
			alpha = stand;
		ch_gen_noisy(p, &l);
	}
	int sc[CH_MAX_MOVES];
	score_moves(s, p, &l, sc, 0, CH_MAX_PLY);
	for (int i = 0; i < l.n; i++) {
		ch_move m = pick(&l, sc, i);
		ch_pos c = *p;
		ch_make(&c, m);
		int score = -quiesce(s, &c, -beta, -alpha, ply + 1);
		if (s->stopped)
			return 0;
		if (score >= beta)
			return score;
		if (score > alpha)
			alpha = score;
	}
	return alpha;
}

static bool is_draw(ch_search *s, const ch_pos *p)
{
	if (p->halfmove >= 100 || ch_insufficient_material(p))
		return true;
	/* one repetition inside the reversible span is enough: it can be
	 * repeated again */
	size_t span = p->halfmove < s->nkeys ? p->halfmove : s->nkeys;
	for (size_t back = 2; back <= span; back += 2)
		if (s->keys[s->nkeys - back] == p->key)
			return true;
	return false;
}

static bool push_key(ch_search *s, uint64_t key)
{
	if (s->nkeys == s->keys_cap) {
		size_t cap = s->keys_cap ? s->keys_cap * 2 : 256;
		uint64_t *k = realloc(s->keys, cap * sizeof *k);
		if (!k)
			return false;
		s->keys = k;
		s->keys_cap = cap;
	}
	s->keys[s->nkeys++] = key;
	return true;
}

static bool has_pieces(const ch_pos *p)
{
	int us = p->side;
	return (p->occ[us] & ~p->bb[CH_PIECE(us, CH_PAWN)] & ~p->bb[CH_PIECE(us, CH_KING)]) != 0;
}

static void update_quiet(ch_search *s, const ch_pos *p, ch_move m, int depth, int ply)
{
	if (p->board[CH_TO(m)] != CH_EMPTY || CH_PROMO(m) || (CH_FLAGS(m) & CH_MF_EP))
		return;
	if (s->killers[ply][0] != m) {
		s->killers[ply][1] = s->killers[ply][0];
		s->killers[ply][0] = m;
	}
	int *h = &s->history[p->board[CH_FROM(m)]][CH_TO(m)];
	*h += depth * depth;
	if (*h > (1 << 22))
		for (int i = 0; i < 12; i++)
			for (int j = 0; j < 64; j++)
				s->history[i][j] /= 2;
}

static int negamax(ch_search *s, const ch_pos *p, int alpha, int beta, int depth, int ply,
		   bool allow_null);

/* Search one move of the list (PVS with late-move reductions). */
static int search_move(ch_search *s, const ch_pos *c, int i, bool quiet, bool in_check,
		       int alpha, int beta, int depth, int ply)
{
	bool gives_check = ch_in_check(c);
	int score, r = 0;
	if (i == 0)
		return -negamax(s, c, -beta, -alpha, depth - 1, ply + 1, true);
	if (depth >= 3 && i >= 3 && quiet && !in_check && !gives_check)
		r = 1 + (i >= 8) + (depth >= 8);
	if (r > depth - 2)
		r = depth - 2 > 0 ? depth - 2 : 0;
	score = -negamax(s, c, -alpha - 1, -alpha, depth - 1 - r, ply + 1, true);
	if (score > alpha && r)
		score = -negamax(s, c, -alpha - 1, -alpha, depth - 1, ply + 1, true);
	if (score > alpha && score < beta)
		score = -negamax(s, c, -beta, -alpha, depth - 1, ply + 1, true);
	return score;
}

static int negamax(ch_search *s, const ch_pos *p, int alpha, int beta, int depth, int ply,
		   bool allow_null)
{
	s->pvlen[ply] = 0;
	if (ply >= CH_MAX_PLY - 2)
		return ch_evaluate(p);
	bool in_check = ch_in_check(p);
	/* Check extension, bounded: perpetual-check lines must not keep the
	 * depth from ever decreasing. */
	if (in_check && ply < 2 * s->root_depth)
		depth++;
	if (depth <= 0)
		return quiesce(s, p, alpha, beta, ply);
	s->nodes++;
	if ((s->nodes & 1023) == 0 && check_limits(s))
		return 0;
	if (ply > 0 && is_draw(s, p))
		return 0;
	bool pv_node = beta - alpha > 1;
	tt_entry *e = &s->tt[p->key & s->tt_mask];
	ch_move tt_move = 0;
	if (e->key == p->key) {
		tt_move = e->move;
		int ts = score_from_tt(e->score, ply);
		if (!pv_node && ply > 0 && e->depth >= depth &&
		    (e->flag == TT_EXACT || (e->flag == TT_LOWER && ts >= beta) ||
		     (e->flag == TT_UPPER && ts <= alpha)))
			return ts;
	}
	if (allow_null && !pv_node && !in_check && depth >= 3 && has_pieces(p) &&
	    ch_evaluate(p) >= beta) {
		ch_pos c = *p;
		ch_make_null(&c);
		if (!push_key(s, c.key))
			return 0;
		int score = -negamax(s, &c, -beta, -beta + 1, depth - 3 - depth / 4, ply + 1, false);
		s->nkeys--;
		if (s->stopped)
			return 0;
		if (score >= beta && score < CH_MATE_BOUND)
			return beta;
	}
	ch_movelist l;
	ch_gen_legal(p, &l);
	if (l.n == 0)
		return in_check ? -CH_MATE + ply : 0;
	int sc[CH_MAX_MOVES], best = -CH_MATE - 1, flag = TT_UPPER;
	ch_move best_move = 0;
	score_moves(s, p, &l, sc, tt_move, ply);
	for (int i = 0; i < l.n; i++) {
		ch_move m = pick(&l, sc, i);
		ch_pos c = *p;
		ch_make(&c, m);
		bool quiet = p->board[CH_TO(m)] == CH_EMPTY && !CH_PROMO(m);
		if (!push_key(s, c.key))
			return 0;
		int score = search_move(s, &c, i, quiet, in_check, alpha, beta, depth, ply);
		s->nkeys--;
		if (s->stopped)
			return 0;
		if (ply == 0 && i < CH_MAX_MOVES) {
			s->root_moves[i] = m;
			s->root_scores[i] = score;
			s->nroot = i + 1;
		}
		if (score > best) {
			best = score;
			best_move = m;
			if (score > alpha) {
				alpha = score;
				flag = TT_EXACT;
				s->pv[ply][0] = m;
				memcpy(&s->pv[ply][1], s->pv[ply + 1], s->pvlen[ply + 1] * sizeof(ch_move));
				s->pvlen[ply] = s->pvlen[ply + 1] + 1;
				if (score >= beta) {
					flag = TT_LOWER;
					update_quiet(s, p, m, depth, ply);
					break;
				}
			}
		}
	}
	tt_store(s, p->key, depth, best, flag, best_move, ply);
	return best;
}

/* The time this move may take, from the clocks (UCI wtime/btime...). */
static uint64_t budget_ns(const ch_limits *lim, int side)
{
	if (lim->movetime_ms > 0)
		return (uint64_t)lim->movetime_ms * 1000000u;
	int64_t t = lim->time_ms[side], inc = lim->inc_ms[side];
	if (t <= 0 && inc <= 0)
		return 0;
	int mtg = lim->movestogo > 0 ? lim->movestogo : 30;
	int64_t ms = t / mtg + inc * 3 / 4;
	if (ms > t / 2)
		ms = t / 2;
	ms -= 20; /* what the reply costs on the way back */
	return (uint64_t)(ms < 5 ? 5 : ms) * 1000000u;
}

static void fill_info(ch_search *s, int depth, int score, ch_info *info)
{
	uint64_t el = now_ns() - s->start_ns;
	info->depth = depth;
	info->seldepth = s->seldepth;
	info->score = score;
	info->mate = 0;
	if (score > CH_MATE_BOUND)
		info->mate = (CH_MATE - score + 1) / 2;
	else if (score < -CH_MATE_BOUND)
		info->mate = -(CH_MATE + score) / 2;
	info->nodes = s->nodes;
	info->time_ms = (int64_t)(el / 1000000u);
	info->nps = el ? (uint64_t)((double)s->nodes * 1e9 / (double)el) : 0;
	info->pvlen = s->pvlen[0];
	memcpy(info->pv, s->pv[0], (size_t)s->pvlen[0] * sizeof(ch_move));
}

/* Skill: among the last iteration's root moves, the best after adding a
 * random amount up to the weakness to each (the best move stays likely). */
static ch_move weaken(ch_search *s, ch_move best, int skill, uint64_t seed)
{
	int weakness = (CH_SKILL_MAX - skill) * 25, top = -CH_MATE * 2;
	ch_move choice = best;
	uint64_t x = seed | 1;
	for (int i = 0; i < s->nroot; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int v = s->root_scores[i] + (int)(x % (uint64_t)(weakness + 1));
		if (v > top) {
			top = v;
			choice = s->root_moves[i];
		}
	}
	return choice;
}

ch_move ch_search_run(ch_search *s, const ch_pos *pos, const uint64_t *history, size_t nhistory,
		      const ch_limits *lim, ch_info_fn info_cb, void *ud, ch_info *final)
{
	ch_info info = {0};
	ch_movelist l;
	ch_gen_legal(pos, &l);
	s->lim = lim;
	s->nodes = 0;
	s->stopped = false;
	s->seldepth = 0;
	s->nkeys = 0;
	s->start_ns = now_ns();
	uint64_t budget = budget_ns(lim, pos->side);
	s->hard_ns = budget ? s->start_ns + budget : 0;
	for (size_t i = 0; i < nhistory; i++)
		push_key(s, history[i]);
	if (!push_key(s, pos->key) || l.n == 0) {
		if (final)
			*final = info;
		return 0;
	}
	int skill = lim->skill < 0 || lim->skill > CH_SKILL_MAX ? CH_SKILL_MAX : lim->skill;
	int max_depth = lim->depth > 0 && lim->depth < CH_MAX_PLY - 4 ? lim->depth : CH_MAX_PLY - 4;
	if (skill < CH_SKILL_MAX && max_depth > 1 + skill / 2)
		max_depth = 1 + skill / 2;
	ch_move best = l.m[0];
	for (int depth = 1; depth <= max_depth; depth++) {
		s->nroot = 0;
		s->root_depth = depth;
		int score = negamax(s, pos, -CH_MATE - 1, CH_MATE + 1, depth, 0, false);
		if (s->stopped) {
			/* An unfinished iteration's best is searched fully as far
			 * as it went; the previous best is searched first. */
			if (s->pvlen[0])
				best = s->pv[0][0];
			break;
		}
		if (s->pvlen[0])
			best = s->pv[0][0];
		fill_info(s, depth, score, &info);
		if (info_cb)
			info_cb(ud, &info);
		if (info.mate > 0 && depth >= 2 * info.mate + 1 && !lim->depth)
			break; /* a mate found needs no deeper look */
		if (budget && now_ns() - s->start_ns > budget / 2)
			break; /* the next depth would not finish */
	}
	if (skill < CH_SKILL_MAX && s->nroot > 0)
		best = weaken(s, best, skill, lim->seed ? lim->seed : now_ns());
	if (final)
		*final = info;
	return best;
}
