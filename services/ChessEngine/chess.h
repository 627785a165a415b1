/* chess.h — the rules of chess on bitboards: positions, legal moves, FEN,
 * UCI and SAN notation, games with their outcome, PGN.
 *
 * Squares are 0..63, a1 = 0, h1 = 7, a8 = 56. A position is copied to make
 * a move (ch_make works in place on a copy): it is small (~150 bytes) and
 * copy-make keeps search and perft free of undo bookkeeping.
 * Call ch_init() once before anything else (it builds the attack tables;
 * it is idempotent and thread-safe). Functions that can fail return a
 * negative errno and, where a person must read why, fill `err`. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { CH_WHITE, CH_BLACK };
enum { CH_PAWN, CH_KNIGHT, CH_BISHOP, CH_ROOK, CH_QUEEN, CH_KING };
#define CH_PIECE(color, type) ((color) * 6 + (type))
#define CH_EMPTY 12
#define CH_NO_SQ 64

enum { CH_WK = 1, CH_WQ = 2, CH_BK = 4, CH_BQ = 8 };

/* A move: from | to << 6 | promotion type << 12 (0 none, else N..Q) |
 * flags << 15. 0 is "no move". */
typedef uint32_t ch_move;
enum { CH_MF_EP = 1, CH_MF_CASTLE = 2, CH_MF_DOUBLE = 4 };
#define CH_MOVE(from, to, promo, flags)                                                            \
	((ch_move)((from) | ((to) << 6) | ((promo) << 12) | ((flags) << 15)))
#define CH_FROM(m) ((int)((m)&63))
#define CH_TO(m) ((int)(((m) >> 6) & 63))
#define CH_PROMO(m) ((int)(((m) >> 12) & 7))
#define CH_FLAGS(m) ((int)((m) >> 15))

typedef struct ch_pos {
	uint64_t bb[12];  /* per piece, CH_PIECE(color, type) */
	uint64_t occ[2];  /* per color */
	uint64_t key;	  /* Zobrist hash: pieces, side, castling, capturable ep */
	uint8_t board[64]; /* piece on each square, or CH_EMPTY */
	uint8_t side;	  /* CH_WHITE or CH_BLACK */
	uint8_t castle;	  /* CH_WK | CH_WQ | CH_BK | CH_BQ */
	uint8_t ep;	  /* en passant target square, or CH_NO_SQ */
	uint16_t halfmove; /* plies since the last capture or pawn move */
	uint16_t fullmove;
} ch_pos;

#define CH_MAX_MOVES 256
typedef struct ch_movelist {
	ch_move m[CH_MAX_MOVES];
	int n;
} ch_movelist;

#define CH_START_FEN "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1"

void ch_init(void);

/* --- position.c: attacks, legal moves, making moves, perft ------------- */
void ch_gen_legal(const ch_pos *p, ch_movelist *out);
/* Only captures, en passant and promotions (for quiescence). */
void ch_gen_noisy(const ch_pos *p, ch_movelist *out);
void ch_make(ch_pos *p, ch_move m);
void ch_make_null(ch_pos *p);
bool ch_in_check(const ch_pos *p);
bool ch_is_legal(const ch_pos *p, ch_move m);
uint64_t ch_perft(const ch_pos *p, int depth);
/* Is square `sq` attacked by `by`, with occupancy `occ`? */
bool ch_attacked(const ch_pos *p, int sq, int by, uint64_t occ);
uint64_t ch_compute_key(const ch_pos *p);
int ch_popcount(uint64_t b);
/* Squares a piece of `type` (and `color`, for pawns) on sq attacks. */
uint64_t ch_attacks_of(int type, int sq, uint64_t occ, int color);
static inline int ch_piece_type(int piece) { return piece % 6; }
static inline int ch_piece_color(int piece) { return piece / 6; }

/* --- fen.c ------------------------------------------------------------- */
#define CH_FEN_MAX 100
/* -EINVAL on a malformed or impossible position; `err` names the field
 * ("FEN field 2 (side to move): ..."). */
int ch_fen_parse(const char *fen, ch_pos *out, char *err, size_t errlen);
void ch_fen_write(const ch_pos *p, char out[CH_FEN_MAX]);

/* --- notation.c: UCI ("e2e4", "e7e8q") and SAN ("Nxf3+") --------------- */
#define CH_MOVE_STR_MAX 16
/* Both parse only legal moves: -EINVAL for text that is no move,
 * -ENOENT for a move that is not legal here, -EAMBIGUOUS... (SAN): -ENOTUNIQ. */
int ch_move_parse_uci(const ch_pos *p, const char *s, ch_move *out);
int ch_move_parse_san(const ch_pos *p, const char *s, ch_move *out);
/* UCI first, then SAN. */
int ch_move_parse(const ch_pos *p, const char *s, ch_move *out);
void ch_move_uci(ch_move m, char out[CH_MOVE_STR_MAX]);
void ch_move_san(const ch_pos *p, ch_move m, char out[CH_MOVE_STR_MAX]);

/* --- rules.c: a game and how it ends ----------------------------------- */
enum ch_outcome {
	CH_ONGOING,
	CH_CHECKMATE,
	CH_STALEMATE,
	CH_FIFTY_MOVES,	  /* 100 plies without capture or pawn move (claimable) */
	CH_REPETITION,	  /* the same position a third time (claimable) */
	CH_INSUFFICIENT, /* no sequence of legal moves can mate */
};
const char *ch_outcome_name(enum ch_outcome o);

typedef struct ch_tag {
	char *name, *value;
} ch_tag;

typedef struct ch_game {
	ch_pos start, pos;
	ch_move *moves;
	uint64_t *keys; /* keys[i]: the key before move i; keys[n]: now */
	size_t n, cap;
	ch_tag *tags;
	size_t ntags;
	char result[8]; /* "1-0", "0-1", "1/2-1/2", "*" */
} ch_game;

void ch_game_init(ch_game *g, const ch_pos *start);
void ch_game_fini(ch_game *g);
/* Play a legal move (checked): -ENOENT if illegal, -ENOMEM. */
int ch_game_push(ch_game *g, ch_move m);
enum ch_outcome ch_pos_outcome(const ch_pos *p);
enum ch_outcome ch_game_outcome(const ch_game *g);
bool ch_insufficient_material(const ch_pos *p);
/* How many times the current position occurred (1 = first time). */
int ch_game_repetitions(const ch_game *g);
int ch_game_set_tag(ch_game *g, const char *name, const char *value);
const char *ch_game_tag(const ch_game *g, const char *name);

/* --- pgn.c ------------------------------------------------------------- */
/* Import one game. -EINVAL with `err` ("PGN line 3: ...") on bad input. */
int ch_pgn_parse(const char *text, size_t len, ch_game *g, char *err, size_t errlen);
/* Export: the seven-tag roster, the others, moves wrapped at 80 columns,
 * the result. Returns a malloc'd string, NULL on ENOMEM. */
char *ch_pgn_write(const ch_game *g);
