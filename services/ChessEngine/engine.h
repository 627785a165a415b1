/* engine.h — ChessEngine's own engine: evaluation and search.
 *
 * A ch_search is one engine's state (transposition table, move-ordering
 * history) and runs one search at a time on the calling thread;
 * ch_search_stop() may be called from any other thread ("move now"). */
#pragma once

#include <stdatomic.h>

#include "chess.h"

#define CH_MATE 32000
#define CH_MATE_BOUND (CH_MATE - 1000) /* |score| above: a mate in (CH_MATE - |score|) plies */
#define CH_MAX_PLY 100
#define CH_SKILL_MAX 20

/* Score of the side to move, in centipawns. */
int ch_evaluate(const ch_pos *p);

/* What to search. Zero fields are "no limit"; with no limit at all the
 * search runs until stopped (UCI "go infinite"). */
typedef struct ch_limits {
	int depth;
	uint64_t nodes;
	int64_t movetime_ms;
	int64_t time_ms[2], inc_ms[2]; /* clocks, per colour (wtime, btime, ...) */
	int movestogo;
	int skill;	  /* 0..20; 20 (or < 0: unset) is full strength */
	uint64_t seed;	  /* for skill's randomness; 0: from the clock */
} ch_limits;

typedef struct ch_info {
	int depth, seldepth;
	int score;   /* centipawns, side to move; see mate */
	int mate;    /* != 0: mate in `mate` moves (negative: being mated) */
	uint64_t nodes, nps;
	int64_t time_ms;
	int pvlen;
	ch_move pv[CH_MAX_PLY];
} ch_info;

typedef void (*ch_info_fn)(void *userdata, const ch_info *info);

typedef struct ch_search ch_search;

/* tt_mb: transposition table size in MiB (1..4096). -ENOMEM, -EINVAL. */
int ch_search_new(size_t tt_mb, ch_search **out);
void ch_search_free(ch_search *s);
/* Forget everything learned (UCI "ucinewgame"). */
void ch_search_clear(ch_search *s);
/* Search `pos`, reached through the positions whose keys are history[0..n)
 * (for repetition; may be NULL). Calls info after each completed depth.
 * Returns the best move, 0 only when the side to move has no legal move;
 * `final` (may be NULL) gets the last info. */
ch_move ch_search_run(ch_search *s, const ch_pos *pos, const uint64_t *history, size_t nhistory,
		      const ch_limits *limits, ch_info_fn info, void *userdata, ch_info *final);
/* Thread-safe: end the running search soon; it returns its best move.
 * The stop lasts (a stop that races the search's start is not lost)
 * until the owner calls ch_search_arm() before the next search. */
void ch_search_stop(ch_search *s);
void ch_search_arm(ch_search *s);
