/* rules.c — a game as a start position and its moves, and how it ends:
 * mate, stalemate, the fifty-move rule, threefold repetition and
 * insufficient material. Repetition compares Zobrist keys, which cover
 * the side to move, castling rights and a capturable en passant square:
 * exactly what FIDE 9.2 says makes two positions the same. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chess.h"

const char *ch_outcome_name(enum ch_outcome o)
{
	static const char *const names[] = {"ongoing", "checkmate", "stalemate", "fifty-move rule",
					    "threefold repetition", "insufficient material"};
	return (unsigned)o < 6 ? names[o] : "?";
}

void ch_game_init(ch_game *g, const ch_pos *start)
{
	memset(g, 0, sizeof *g);
	g->start = g->pos = *start;
	strcpy(g->result, "*");
}

void ch_game_fini(ch_game *g)
{
	free(g->moves);
	free(g->keys);
	for (size_t i = 0; i < g->ntags; i++) {
		free(g->tags[i].name);
		free(g->tags[i].value);
	}
	free(g->tags);
	memset(g, 0, sizeof *g);
}

int ch_game_push(ch_game *g, ch_move m)
{
	if (!ch_is_legal(&g->pos, m))
		return -ENOENT;
	if (g->n + 1 >= g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		ch_move *mv = realloc(g->moves, cap * sizeof *mv);
		if (!mv)
			return -ENOMEM;
		g->moves = mv;
		uint64_t *k = realloc(g->keys, (cap + 1) * sizeof *k);
		if (!k)
			return -ENOMEM;
		g->keys = k;
		g->cap = cap;
	}
	g->keys[g->n] = g->pos.key;
	g->moves[g->n++] = m;
	ch_make(&g->pos, m);
	g->keys[g->n] = g->pos.key;
	return 0;
}

bool ch_insufficient_material(const ch_pos *p)
{
	uint64_t heavy = 0;
	for (int c = 0; c < 2; c++)
		heavy |= p->bb[CH_PIECE(c, CH_PAWN)] | p->bb[CH_PIECE(c, CH_ROOK)] |
			 p->bb[CH_PIECE(c, CH_QUEEN)];
	if (heavy)
		return false;
	uint64_t knights = p->bb[CH_PIECE(0, CH_KNIGHT)] | p->bb[CH_PIECE(1, CH_KNIGHT)];
	uint64_t bishops = p->bb[CH_PIECE(0, CH_BISHOP)] | p->bb[CH_PIECE(1, CH_BISHOP)];
	int minors = ch_popcount(knights | bishops);
	if (minors <= 1)
		return true; /* K v K, K+minor v K */
	/* Bishops only, all on squares of one colour: no mate is possible. */
	const uint64_t light = 0x55aa55aa55aa55aaULL;
	return !knights && (!(bishops & light) || !(bishops & ~light));
}

enum ch_outcome ch_pos_outcome(const ch_pos *p)
{
	ch_movelist l;
	ch_gen_legal(p, &l);
	if (l.n == 0)
		return ch_in_check(p) ? CH_CHECKMATE : CH_STALEMATE;
	if (ch_insufficient_material(p))
		return CH_INSUFFICIENT;
	if (p->halfmove >= 100)
		return CH_FIFTY_MOVES;
	return CH_ONGOING;
}

int ch_game_repetitions(const ch_game *g)
{
	int count = 1;
	/* Only positions since the last irreversible move can repeat; same
	 * side to move: every other ply. */
	size_t span = g->pos.halfmove < g->n ? g->pos.halfmove : g->n;
	for (size_t back = 2; back <= span; back += 2)
		if (g->keys[g->n - back] == g->pos.key)
			count++;
	return count;
}

enum ch_outcome ch_game_outcome(const ch_game *g)
{
	enum ch_outcome o = ch_pos_outcome(&g->pos);
	if (o != CH_ONGOING)
		return o;
	return g->n && ch_game_repetitions(g) >= 3 ? CH_REPETITION : CH_ONGOING;
}

int ch_game_set_tag(ch_game *g, const char *name, const char *value)
{
	for (size_t i = 0; i < g->ntags; i++)
		if (!strcmp(g->tags[i].name, name)) {
			char *v = strdup(value);
			if (!v)
				return -ENOMEM;
			free(g->tags[i].value);
			g->tags[i].value = v;
			return 0;
		}
	ch_tag *t = realloc(g->tags, (g->ntags + 1) * sizeof *t);
	if (!t)
		return -ENOMEM;
	g->tags = t;
	char *n = strdup(name), *v = strdup(value);
	if (!n || !v) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	g->tags[g->ntags++] = (ch_tag){n, v};
	return 0;
}

const char *ch_game_tag(const ch_game *g, const char *name)
{
	for (size_t i = 0; i < g->ntags; i++)
		if (!strcmp(g->tags[i].name, name))
			return g->tags[i].value;
	return NULL;
}
