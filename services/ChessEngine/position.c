/* position.c — bitboard attacks, strictly legal move generation, making
 * moves, perft.
 *
 * Sliders use magic bitboards; the magics are found at start-up by a
 * seeded search (about 10 ms) instead of being typed in. Generation is
 * legal, not pseudo-legal: checkers and pinned pieces are computed once per
 * position, the king avoids squares attacked with itself removed from the
 * board, pinned pieces stay on their pin line, and en passant — the one
 * move that removes two pieces from a rank — is verified by recomputing
 * slider attacks on the king (the "pinned pawn" case). That makes perft's
 * last ply a count, not a walk. */
#include <pthread.h>
#include <string.h>

#include "chess.h"

static uint64_t knight_att[64], king_att[64], pawn_att[2][64];
static uint64_t between_bb[64][64], line_bb[64][64];
static uint64_t zob_piece[12][64], zob_castle[16], zob_ep[8], zob_side;
static uint8_t castle_mask[64];

struct magic {
	uint64_t mask, magic;
	uint64_t *att;
	int shift;
};
static struct magic rook_m[64], bishop_m[64];
static uint64_t rook_table[102400], bishop_table[5248];

int ch_popcount(uint64_t b)
{
	return __builtin_popcountll(b);
}

static inline int lsb(uint64_t b)
{
	return __builtin_ctzll(b);
}

static inline int pop_lsb(uint64_t *b)
{
	int s = lsb(*b);
	*b &= *b - 1;
	return s;
}

static uint64_t slide(int sq, uint64_t occ, const int dirs[4][2])
{
	uint64_t r = 0;
	for (int d = 0; d < 4; d++) {
		int f = sq % 8 + dirs[d][0], k = sq / 8 + dirs[d][1];
		while (f >= 0 && f < 8 && k >= 0 && k < 8) {
			r |= 1ULL << (k * 8 + f);
			if (occ & (1ULL << (k * 8 + f)))
				break;
			f += dirs[d][0];
			k += dirs[d][1];
		}
	}
	return r;
}

static const int rook_dirs[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
static const int bishop_dirs[4][2] = {{1, 1}, {-1, 1}, {1, -1}, {-1, -1}};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
	/* splitmix64: a fixed seed, so tables and hashes are reproducible */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t edges_for(int sq)
{
	uint64_t rank1 = 0xffULL, rank8 = rank1 << 56;
	uint64_t filea = 0x0101010101010101ULL, fileh = filea << 7;
	return ((rank1 | rank8) & ~(rank1 << (8 * (sq / 8)))) |
	       ((filea | fileh) & ~(filea << (sq % 8)));
}

static void init_magics(struct magic *m, uint64_t *table, const int dirs[4][2])
{
	static uint64_t occs[4096], atts[4096];
	static int epoch[4096];
	int cur = 0;
	uint64_t *next = table;
	for (int sq = 0; sq < 64; sq++) {
		m[sq].mask = slide(sq, 0, dirs) & ~edges_for(sq);
		int bits = ch_popcount(m[sq].mask), n = 0;
		m[sq].shift = 64 - bits;
		m[sq].att = next;
		uint64_t sub = 0;
		do { /* every subset of the mask (Carry-Rippler) */
			occs[n] = sub;
			atts[n++] = slide(sq, sub, dirs);
			sub = (sub - m[sq].mask) & m[sq].mask;
		} while (sub);
		for (;;) {
			uint64_t magic;
			do
				magic = rng() & rng() & rng();
			while (ch_popcount((m[sq].mask * magic) >> 56) < 6);
			cur++;
			int i;
			for (i = 0; i < n; i++) {
				unsigned idx = (unsigned)((occs[i] * magic) >> m[sq].shift);
				if (epoch[idx] < cur) {
					epoch[idx] = cur;
					next[idx] = atts[i];
				} else if (next[idx] != atts[i]) {
					break;
				}
			}
			if (i == n) {
				m[sq].magic = magic;
				break;
			}
		}
		next += 1u << bits;
	}
}

static inline uint64_t rook_att(int sq, uint64_t occ)
{
	const struct magic *m = &rook_m[sq];
	return m->att[((occ & m->mask) * m->magic) >> m->shift];
}

static inline uint64_t bishop_att(int sq, uint64_t occ)
{
	const struct magic *m = &bishop_m[sq];
	return m->att[((occ & m->mask) * m->magic) >> m->shift];
}

static uint64_t step_att(int sq, const int (*d)[2], int n)
{
	uint64_t r = 0;
	for (int i = 0; i < n; i++) {
		int f = sq % 8 + d[i][0], k = sq / 8 + d[i][1];
		if (f >= 0 && f < 8 && k >= 0 && k < 8)
			r |= 1ULL << (k * 8 + f);
	}
	return r;
}

static void init_once(void)
{
	static const int kn[8][2] = {{1, 2}, {2, 1}, {2, -1}, {1, -2},
				     {-1, -2}, {-2, -1}, {-2, 1}, {-1, 2}};
	static const int kg[8][2] = {{1, 0}, {1, 1}, {0, 1}, {-1, 1},
				     {-1, 0}, {-1, -1}, {0, -1}, {1, -1}};
	static const int wp[2][2] = {{-1, 1}, {1, 1}}, bp[2][2] = {{-1, -1}, {1, -1}};
	for (int sq = 0; sq < 64; sq++) {
		knight_att[sq] = step_att(sq, kn, 8);
		king_att[sq] = step_att(sq, kg, 8);
		pawn_att[CH_WHITE][sq] = step_att(sq, wp, 2);
		pawn_att[CH_BLACK][sq] = step_att(sq, bp, 2);
	}
	init_magics(rook_m, rook_table, rook_dirs);
	init_magics(bishop_m, bishop_table, bishop_dirs);
	for (int a = 0; a < 64; a++)
		for (int b = 0; b < 64; b++) {
			uint64_t bb = 1ULL << b;
			if (a == b)
				continue;
			if (rook_att(a, 0) & bb) {
				between_bb[a][b] = rook_att(a, bb) & rook_att(b, 1ULL << a);
				line_bb[a][b] = (rook_att(a, 0) & rook_att(b, 0)) | (1ULL << a) | bb;
			} else if (bishop_att(a, 0) & bb) {
				between_bb[a][b] = bishop_att(a, bb) & bishop_att(b, 1ULL << a);
				line_bb[a][b] =
					(bishop_att(a, 0) & bishop_att(b, 0)) | (1ULL << a) | bb;
			}
		}
	for (int p = 0; p < 12; p++)
		for (int sq = 0; sq < 64; sq++)
			zob_piece[p][sq] = rng();
	for (int i = 0; i < 16; i++)
		zob_castle[i] = rng();
	for (int i = 0; i < 8; i++)
		zob_ep[i] = rng();
	zob_side = rng();
	memset(castle_mask, 0xff, sizeof castle_mask);
	castle_mask[4] = (uint8_t)~(CH_WK | CH_WQ);
	castle_mask[0] = (uint8_t)~CH_WQ;
	castle_mask[7] = (uint8_t)~CH_WK;
	castle_mask[60] = (uint8_t)~(CH_BK | CH_BQ);
	castle_mask[56] = (uint8_t)~CH_BQ;
	castle_mask[63] = (uint8_t)~CH_BK;
}

void ch_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_once);
}

static inline uint64_t all_occ(const ch_pos *p)
{
	return p->occ[0] | p->occ[1];
}

/* Pieces of color `by` attacking sq with occupancy occ. */
static uint64_t attackers(const ch_pos *p, int sq, int by, uint64_t occ)
{
	const uint64_t *b = &p->bb[by * 6];
	return (pawn_att[by ^ 1][sq] & b[CH_PAWN]) | (knight_att[sq] & b[CH_KNIGHT]) |
	       (king_att[sq] & b[CH_KING]) |
	       (rook_att(sq, occ) & (b[CH_ROOK] | b[CH_QUEEN])) |
	       (bishop_att(sq, occ) & (b[CH_BISHOP] | b[CH_QUEEN]));
}

bool ch_attacked(const ch_pos *p, int sq, int by, uint64_t occ)
{
	return attackers(p, sq, by, occ) != 0;
}

static inline int king_sq(const ch_pos *p, int color)
{
	return lsb(p->bb[CH_PIECE(color, CH_KING)]);
}

bool ch_in_check(const ch_pos *p)
{
	return attackers(p, king_sq(p, p->side), p->side ^ 1, all_occ(p)) != 0;
}

/* An en passant square enters the key only when a pawn could take there,
 * so that positions equal for the rules hash equal (repetition). */
static bool ep_capturable(const ch_pos *p)
{
	return p->ep != CH_NO_SQ &&
	       (pawn_att[p->side ^ 1][p->ep] & p->bb[CH_PIECE(p->side, CH_PAWN)]);
}

uint64_t ch_compute_key(const ch_pos *p)
{
	uint64_t k = 0;
	for (int sq = 0; sq < 64; sq++)
		if (p->board[sq] != CH_EMPTY)
			k ^= zob_piece[p->board[sq]][sq];
	if (p->side == CH_BLACK)
		k ^= zob_side;
	k ^= zob_castle[p->castle];
	if (ep_capturable(p))
		k ^= zob_ep[p->ep % 8];
	return k;
}

struct gen {
	const ch_pos *p;
	ch_move *out;
	int n;
};

static inline void add(struct gen *g, int from, int to, int promo, int flags)
{
	g->out[g->n++] = CH_MOVE(from, to, promo, flags);
}

static void add_pawn(struct gen *g, int from, int to, bool noisy_only)
{
	if (to >= 56 || to < 8) {
		add(g, from, to, CH_QUEEN, 0);
		if (noisy_only && g->p->board[to] == CH_EMPTY)
			return;
		add(g, from, to, CH_KNIGHT, 0);
		add(g, from, to, CH_ROOK, 0);
		add(g, from, to, CH_BISHOP, 0);
	} else {
		add(g, from, to, 0, 0);
	}
}

static bool ep_legal(const ch_pos *p, int from, int to)
{
	int us = p->side, them = us ^ 1, cap = to + (us == CH_WHITE ? -8 : 8);
	uint64_t occ = (all_occ(p) ^ (1ULL << from) ^ (1ULL << cap)) | (1ULL << to);
	int k = king_sq(p, us);
	const uint64_t *b = &p->bb[them * 6];
	/* Only sliders can be uncovered; a non-slider checker must be the
	 * captured pawn itself (it is gone from occ-based attacks below). */
	if (rook_att(k, occ) & (b[CH_ROOK] | b[CH_QUEEN]))
		return false;
	if (bishop_att(k, occ) & (b[CH_BISHOP] | b[CH_QUEEN]))
		return false;
	uint64_t others = (knight_att[k] & b[CH_KNIGHT]) |
			  (pawn_att[us][k] & b[CH_PAWN] & ~(1ULL << cap));
	return others == 0;
}

static void gen_pawns(struct gen *g, uint64_t target, uint64_t pinned, int ksq, bool noisy)
{
	const ch_pos *p = g->p;
	int us = p->side, them = us ^ 1;
	int up = us == CH_WHITE ? 8 : -8;
	uint64_t occ = all_occ(p), pawns = p->bb[CH_PIECE(us, CH_PAWN)];
	uint64_t rank3 = us == CH_WHITE ? 0xff0000ULL : 0xff0000000000ULL;
	uint64_t last = us == CH_WHITE ? 0xff00000000000000ULL : 0xffULL;
	while (pawns) {
		int from = pop_lsb(&pawns);
		uint64_t pin = (pinned >> from) & 1 ? line_bb[ksq][from] : ~0ULL;
		uint64_t caps = pawn_att[us][from] & p->occ[them] & target & pin;
		while (caps)
			add_pawn(g, from, pop_lsb(&caps), noisy);
		int to = from + up;
		if (!(occ & (1ULL << to))) {
			if ((target & pin & (1ULL << to)) && (!noisy || ((1ULL << to) & last)))
				add_pawn(g, from, to, noisy);
			int to2 = to + up;
			if (!noisy && ((1ULL << to) & rank3) && !(occ & (1ULL << to2)) &&
			    (target & pin & (1ULL << to2)))
				add(g, from, to2, 0, CH_MF_DOUBLE);
		}
		if (p->ep != CH_NO_SQ && (pawn_att[us][from] & (1ULL << p->ep)) &&
		    ep_legal(p, from, p->ep))
			add(g, from, p->ep, 0, CH_MF_EP);
	}
}

static void gen_castles(struct gen *g, uint64_t danger)
{
	const ch_pos *p = g->p;
	uint64_t occ = all_occ(p);
	int base = p->side == CH_WHITE ? 0 : 56;
	int ks = p->side == CH_WHITE ? CH_WK : CH_BK, qs = p->side == CH_WHITE ? CH_WQ : CH_BQ;
	/* The king may not leave, cross or land on an attacked square. */
	if ((p->castle & ks) && !(occ & (0x60ULL << base)) && !(danger & (0x60ULL << base)))
		add(g, base + 4, base + 6, 0, CH_MF_CASTLE);
	if ((p->castle & qs) && !(occ & (0x0eULL << base)) && !(danger & (0x0cULL << base)))
		add(g, base + 4, base + 2, 0, CH_MF_CASTLE);
}

static int generate(const ch_pos *p, ch_move *out, bool noisy)
{
	struct gen g = {.p = p, .out = out};
	int us = p->side, them = us ^ 1, ksq = king_sq(p, us);
	uint64_t occ = all_occ(p), own = p->occ[us];
	const uint64_t *tb = &p->bb[them * 6];
	uint64_t checkers = attackers(p, ksq, them, occ);
	/* Squares the king may not step to: attacked with the king lifted. */
	uint64_t danger = 0, occ_nok = occ ^ (1ULL << ksq), b;
	b = tb[CH_PAWN];
	danger |= them == CH_WHITE ? ((b << 7) & ~0x8080808080808080ULL) |
					     ((b << 9) & ~0x0101010101010101ULL)
				   : ((b >> 9) & ~0x8080808080808080ULL) |
					     ((b >> 7) & ~0x0101010101010101ULL);
	for (b = tb[CH_KNIGHT]; b;)
		danger |= knight_att[pop_lsb(&b)];
	for (b = tb[CH_BISHOP] | tb[CH_QUEEN]; b;)
		danger |= bishop_att(pop_lsb(&b), occ_nok);
	for (b = tb[CH_ROOK] | tb[CH_QUEEN]; b;)
		danger |= rook_att(pop_lsb(&b), occ_nok);
	danger |= king_att[king_sq(p, them)];

	uint64_t kt = king_att[ksq] & ~own & ~danger;
	if (noisy)
		kt &= p->occ[them];
	while (kt)
		add(&g, ksq, pop_lsb(&kt), 0, 0);
	if (checkers & (checkers - 1))
		return g.n; /* double check: only the king moves */

	uint64_t target = ~own;
	if (checkers)
		target = between_bb[ksq][lsb(checkers)] | checkers;
	if (noisy)
		target &= p->occ[them];
	uint64_t pinned = 0;
	uint64_t snipers = (rook_att(ksq, p->occ[them]) & (tb[CH_ROOK] | tb[CH_QUEEN])) |
			   (bishop_att(ksq, p->occ[them]) & (tb[CH_BISHOP] | tb[CH_QUEEN]));
	while (snipers) {
		uint64_t bt = between_bb[ksq][pop_lsb(&snipers)] & occ;
		if (bt && !(bt & (bt - 1)) && (bt & own))
			pinned |= bt;
	}
	/* Noisy generation still wants quiet promotions: pawns get their own
	 * target (the check mask only). */
	uint64_t ptarget = checkers ? between_bb[ksq][lsb(checkers)] | checkers : ~own;
	gen_pawns(&g, ptarget, pinned, ksq, noisy);
	for (int t = CH_KNIGHT; t <= CH_QUEEN; t++) {
		for (b = p->bb[CH_PIECE(us, t)]; b;) {
			int from = pop_lsb(&b);
			uint64_t a = t == CH_KNIGHT   ? knight_att[from]
				     : t == CH_BISHOP ? bishop_att(from, occ)
				     : t == CH_ROOK   ? rook_att(from, occ)
						      : rook_att(from, occ) | bishop_att(from, occ);
			a &= target;
			if ((pinned >> from) & 1)
				a &= line_bb[ksq][from];
			while (a)
				add(&g, from, pop_lsb(&a), 0, 0);
		}
	}
	if (!checkers && !noisy)
		gen_castles(&g, danger);
	return g.n;
}

void ch_gen_legal(const ch_pos *p, ch_movelist *out)
{
	out->n = generate(p, out->m, false);
}

void ch_gen_noisy(const ch_pos *p, ch_movelist *out)
{
	out->n = generate(p, out->m, true);
}

bool ch_is_legal(const ch_pos *p, ch_move m)
{
	ch_movelist l;
	ch_gen_legal(p, &l);
	for (int i = 0; i < l.n; i++)
		if (l.m[i] == m)
			return true;
	return false;
}

static inline void put(ch_pos *p, int pc, int sq)
{
	p->bb[pc] |= 1ULL << sq;
	p->occ[pc / 6] |= 1ULL << sq;
	p->board[sq] = (uint8_t)pc;
	p->key ^= zob_piece[pc][sq];
}

static inline void lift(ch_pos *p, int sq)
{
	int pc = p->board[sq];
	p->bb[pc] &= ~(1ULL << sq);
	p->occ[pc / 6] &= ~(1ULL << sq);
	p->board[sq] = CH_EMPTY;
	p->key ^= zob_piece[pc][sq];
}

void ch_make(ch_pos *p, ch_move m)
{
	int from = CH_FROM(m), to = CH_TO(m), fl = CH_FLAGS(m), us = p->side;
	int pc = p->board[from];
	if (ep_capturable(p))
		p->key ^= zob_ep[p->ep % 8];
	p->key ^= zob_castle[p->castle];
	p->halfmove++;
	if (p->board[to] != CH_EMPTY) {
		lift(p, to);
		p->halfmove = 0;
	}
	lift(p, from);
	if (fl & CH_MF_EP)
		lift(p, to + (us == CH_WHITE ? -8 : 8));
	put(p, CH_PROMO(m) ? CH_PIECE(us, CH_PROMO(m)) : pc, to);
	if (fl & CH_MF_CASTLE) {
		int rf = to > from ? to + 1 : to - 2, rt = to > from ? to - 1 : to + 1;
		lift(p, rf);
		put(p, CH_PIECE(us, CH_ROOK), rt);
	}
	if (ch_piece_type(pc) == CH_PAWN)
		p->halfmove = 0;
	p->castle &= castle_mask[from] & castle_mask[to];
	p->key ^= zob_castle[p->castle];
	p->ep = (fl & CH_MF_DOUBLE) ? (uint8_t)((from + to) / 2) : CH_NO_SQ;
	p->side ^= 1;
	p->key ^= zob_side;
	if (us == CH_BLACK)
		p->fullmove++;
	if (ep_capturable(p))
		p->key ^= zob_ep[p->ep % 8];
}

void ch_make_null(ch_pos *p)
{
	if (ep_capturable(p))
		p->key ^= zob_ep[p->ep % 8];
	p->ep = CH_NO_SQ;
	p->side ^= 1;
	p->key ^= zob_side;
	p->halfmove++;
}

uint64_t ch_perft(const ch_pos *p, int depth)
{
	ch_movelist l;
	if (depth <= 0)
		return 1;
	ch_gen_legal(p, &l);
	if (depth == 1)
		return (uint64_t)l.n;
	uint64_t n = 0;
	for (int i = 0; i < l.n; i++) {
		ch_pos c = *p;
		ch_make(&c, l.m[i]);
		n += ch_perft(&c, depth - 1);
	}
	return n;
}

/* For evaluation and ordering elsewhere in the engine. */
uint64_t ch_attacks_of(int type, int sq, uint64_t occ, int color)
{
	switch (type) {
	case CH_PAWN: return pawn_att[color][sq];
	case CH_KNIGHT: return knight_att[sq];
	case CH_BISHOP: return bishop_att(sq, occ);
	case CH_ROOK: return rook_att(sq, occ);
	case CH_QUEEN: return rook_att(sq, occ) | bishop_att(sq, occ);
	default: return king_att[sq];
	}
}
