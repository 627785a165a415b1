/* eval.c — the static evaluation: material and piece-square tables,
 * tapered between middlegame and endgame by the material left (PeSTO's
 * phase weights), a bishop-pair bonus and a small tempo bonus. Tables
 * are Michniewski's "simplified evaluation function", written as a board
 * is drawn (a8 first) for white; black reads them mirrored. */
#include "engine.h"

static const int value_mg[6] = {82, 337, 365, 477, 1025, 0};
static const int value_eg[6] = {94, 281, 297, 512, 936, 0};
static const int phase_weight[6] = {0, 1, 1, 2, 4, 0};

static const int8_t pst_mg[6][64] = {
	{0, 0, 0, 0, 0, 0, 0, 0, 50, 50, 50, 50, 50, 50, 50, 50, 10, 10, 20, 30, 30, 20, 10, 10,
	 5, 5, 10, 25, 25, 10, 5, 5, 0, 0, 0, 20, 20, 0, 0, 0, 5, -5, -10, 0, 0, -10, -5, 5,
	 5, 10, 10, -20, -20, 10, 10, 5, 0, 0, 0, 0, 0, 0, 0, 0},
	{-50, -40, -30, -30, -30, -30, -40, -50, -40, -20, 0, 0, 0, 0, -20, -40,
	 -30, 0, 10, 15, 15, 10, 0, -30, -30, 5, 15, 20, 20, 15, 5, -30,
	 -30, 0, 15, 20, 20, 15, 0, -30, -30, 5, 10, 15, 15, 10, 5, -30,
	 -40, -20, 0, 5, 5, 0, -20, -40, -50, -40, -30, -30, -30, -30, -40, -50},
	{-20, -10, -10, -10, -10, -10, -10, -20, -10, 0, 0, 0, 0, 0, 0, -10,
	 -10, 0, 5, 10, 10, 5, 0, -10, -10, 5, 5, 10, 10, 5, 5, -10,
	 -10, 0, 10, 10, 10, 10, 0, -10, -10, 10, 10, 10, 10, 10, 10, -10,
	 -10, 5, 0, 0, 0, 0, 5, -10, -20, -10, -10, -10, -10, -10, -10, -20},
	{0, 0, 0, 0, 0, 0, 0, 0, 5, 10, 10, 10, 10, 10, 10, 5, -5, 0, 0, 0, 0, 0, 0, -5,
	 -5, 0, 0, 0, 0, 0, 0, -5, -5, 0, 0, 0, 0, 0, 0, -5, -5, 0, 0, 0, 0, 0, 0, -5,
	 -5, 0, 0, 0, 0, 0, 0, -5, 0, 0, 0, 5, 5, 0, 0, 0},
	{-20, -10, -10, -5, -5, -10, -10, -20, -10, 0, 0, 0, 0, 0, 0, -10,
	 -10, 0, 5, 5, 5, 5, 0, -10, -5, 0, 5, 5, 5, 5, 0, -5, 0, 0, 5, 5, 5, 5, 0, -5,
	 -10, 5, 5, 5, 5, 5, 0, -10, -10, 0, 5, 0, 0, 0, 0, -10, -20, -10, -10, -5, -5, -10, -10, -20},
	{-30, -40, -40, -50, -50, -40, -40, -30, -30, -40, -40, -50, -50, -40, -40, -30,
	 -30, -40, -40, -50, -50, -40, -40, -30, -30, -40, -40, -50, -50, -40, -40, -30,
	 -20, -30, -30, -40, -40, -30, -30, -20, -10, -20, -20, -20, -20, -20, -20, -10,
	 20, 20, 0, 0, 0, 0, 20, 20, 20, 30, 10, 0, 0, 10, 30, 20},
};

static const int8_t pawn_eg_rank[8] = {0, 0, 5, 10, 20, 35, 60, 0}; /* by rank from own side */
static const int8_t king_eg[64] = {
	-50, -40, -30, -20, -20, -30, -40, -50, -30, -20, -10, 0, 0, -10, -20, -30,
	-30, -10, 20, 30, 30, 20, -10, -30, -30, -10, 30, 40, 40, 30, -10, -30,
	-30, -10, 30, 40, 40, 30, -10, -30, -30, -10, 20, 30, 30, 20, -10, -30,
	-30, -30, 0, 0, 0, 0, -30, -30, -50, -30, -30, -30, -30, -30, -30, -50};

int ch_evaluate(const ch_pos *p)
{
	int mg[2] = {0, 0}, eg[2] = {0, 0}, phase = 0;
	for (int c = 0; c < 2; c++) {
		for (int t = 0; t < 6; t++) {
			uint64_t b = p->bb[CH_PIECE(c, t)];
			while (b) {
				int sq = __builtin_ctzll(b);
				b &= b - 1;
				int idx = c == CH_WHITE ? sq ^ 56 : sq; /* table index, a8 = 0 */
				int rank = c == CH_WHITE ? sq / 8 : 7 - sq / 8;
				mg[c] += value_mg[t] + pst_mg[t][idx];
				eg[c] += value_eg[t];
				if (t == CH_PAWN)
					eg[c] += pawn_eg_rank[rank];
				else if (t == CH_KING)
					eg[c] += king_eg[idx];
				else
					eg[c] += pst_mg[t][idx];
				phase += phase_weight[t];
			}
		}
		if (ch_popcount(p->bb[CH_PIECE(c, CH_BISHOP)]) >= 2) {
			mg[c] += 30;
			eg[c] += 50;
		}
	}
	if (phase > 24)
		phase = 24;
	int us = p->side, them = us ^ 1;
	int score = ((mg[us] - mg[them]) * phase + (eg[us] - eg[them]) * (24 - phase)) / 24;
	return score + 10; /* tempo */
}
