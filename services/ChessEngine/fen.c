/* fen.c — Forsyth-Edwards Notation in and out. A malformed FEN is refused
 * with a message naming its field, and a position the rules cannot reach
 * in a way that would break move generation (no king, a pawn on the back
 * rank, the side not to move in check, castling rights without the rook)
 * is refused too: the engine trusts a position once it is parsed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chess.h"

static const char piece_chars[] = "PNBRQKpnbrqk";

static int fail(char *err, size_t len, const char *fmt, ...)
{
	if (err && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The next space-separated field of s (at most `max` chars), advancing *s. */
static int next_field(const char **s, char *out, size_t max)
{
	while (is_blank(**s))
		(*s)++;
	size_t n = 0;
	while (**s && !is_blank(**s)) {
		if (n + 1 >= max)
			return -E2BIG;
		out[n++] = *(*s)++;
	}
	out[n] = 0;
	return (int)n;
}

static int parse_board(const char *f, ch_pos *p, char *err, size_t len)
{
	int rank = 7, file = 0;
	for (const char *c = f; *c; c++) {
		if (*c == '/') {
			if (file != 8)
				return fail(err, len, "FEN field 1 (placement): rank %d has %d squares, not 8",
					    rank + 1, file);
			if (--rank < 0)
				return fail(err, len, "FEN field 1 (placement): more than 8 ranks");
			file = 0;
		} else if (*c >= '1' && *c <= '8') {
			file += *c - '0';
		} else {
			const char *pc = strchr(piece_chars, *c);
			if (!pc || !*c)
				return fail(err, len, "FEN field 1 (placement): unexpected '%c'", *c);
			if (file >= 8)
				return fail(err, len, "FEN field 1 (placement): rank %d has more than 8 squares", rank + 1);
			int sq = rank * 8 + file++, piece = (int)(pc - piece_chars);
			p->board[sq] = (uint8_t)piece;
			p->bb[piece] |= 1ULL << sq;
			p->occ[piece / 6] |= 1ULL << sq;
		}
		if (file > 8)
			return fail(err, len, "FEN field 1 (placement): rank %d has more than 8 squares", rank + 1);
	}
	if (rank != 0 || file != 8)
		return fail(err, len, "FEN field 1 (placement): %d ranks, the last with %d squares (want 8 of 8)",
			    8 - rank, file);
	return 0;
}

static int parse_castling(const char *f, ch_pos *p, char *err, size_t len)
{
	if (strcmp(f, "-") == 0)
		return 0;
	static const struct {
		char c;
		int right, king, rook, color;
	} rights[] = {{'K', CH_WK, 4, 7, CH_WHITE}, {'Q', CH_WQ, 4, 0, CH_WHITE},
		      {'k', CH_BK, 60, 63, CH_BLACK}, {'q', CH_BQ, 60, 56, CH_BLACK}};
	for (const char *c = f; *c; c++) {
		size_t i;
		for (i = 0; i < 4 && rights[i].c != *c; i++)
			;
		if (i == 4)
			return fail(err, len, "FEN field 3 (castling): unexpected '%c' (want KQkq or -)", *c);
		if (p->castle & rights[i].right)
			return fail(err, len, "FEN field 3 (castling): '%c' twice", *c);
		if (p->board[rights[i].king] != CH_PIECE(rights[i].color, CH_KING) ||
		    p->board[rights[i].rook] != CH_PIECE(rights[i].color, CH_ROOK))
			return fail(err, len, "FEN field 3 (castling): '%c' but the king or rook is not on its square", *c);
		p->castle |= (uint8_t)rights[i].right;
	}
	return 0;
}

static int parse_ep(const char *f, ch_pos *p, char *err, size_t len)
{
	p->ep = CH_NO_SQ;
	if (strcmp(f, "-") == 0)
		return 0;
	int want_rank = p->side == CH_WHITE ? 5 : 2;
	if (strlen(f) != 2 || f[0] < 'a' || f[0] > 'h' || f[1] != '1' + want_rank)
		return fail(err, len, "FEN field 4 (en passant): '%s' is not - or a square on rank %d", f,
			    want_rank + 1);
	int sq = (f[1] - '1') * 8 + (f[0] - 'a');
	int pawn_sq = sq + (p->side == CH_WHITE ? -8 : 8);
	if (p->board[pawn_sq] != CH_PIECE(p->side ^ 1, CH_PAWN) || p->board[sq] != CH_EMPTY)
		return fail(err, len, "FEN field 4 (en passant): no pawn just passed %s", f);
	p->ep = (uint8_t)sq;
	return 0;
}

static int parse_counter(const char *f, int field, const char *what, long lo, long max, long *out,
			 char *err, size_t len)
{
	char *end;
	errno = 0;
	long v = strtol(f, &end, 10);
	if (!*f || *end || errno || v < lo || v > max)
		return fail(err, len, "FEN field %d (%s): '%s' is not a number from %ld to %ld", field,
			    what, f, lo, max);
	*out = v;
	return 0;
}

static int check_sanity(const ch_pos *p, char *err, size_t len)
{
	for (int c = 0; c < 2; c++)
		if (ch_popcount(p->bb[CH_PIECE(c, CH_KING)]) != 1)
			return fail(err, len, "FEN field 1 (placement): %s has %d kings, not 1",
				    c ? "black" : "white", ch_popcount(p->bb[CH_PIECE(c, CH_KING)]));
	if ((p->bb[CH_PIECE(CH_WHITE, CH_PAWN)] | p->bb[CH_PIECE(CH_BLACK, CH_PAWN)]) &
	    0xff000000000000ffULL)
		return fail(err, len, "FEN field 1 (placement): a pawn on the first or last rank");
	int them = p->side ^ 1, k = __builtin_ctzll(p->bb[CH_PIECE(them, CH_KING)]);
	if (ch_attacked(p, k, p->side, p->occ[0] | p->occ[1]))
		return fail(err, len, "FEN field 2 (side to move): the side not to move is in check");
	return 0;
}

int ch_fen_parse(const char *fen, ch_pos *out, char *err, size_t len)
{
	static const char *const names[] = {"placement", "side to move", "castling", "en passant",
					    "halfmove clock", "fullmove number"};
	char f[6][80];
	const char *s = fen;
	int n;
	ch_init();
	for (n = 0; n < 6; n++) {
		int r = next_field(&s, f[n], sizeof f[n]);
		if (r == -E2BIG)
			return fail(err, len, "FEN field %d (%s): too long", n + 1, names[n]);
		if (r == 0)
			break;
	}
	while (is_blank(*s))
		s++;
	if (*s)
		return fail(err, len, "FEN: text after field 6: '%.20s'", s);
	if (n < 4)
		return fail(err, len, "FEN field %d (%s): missing", n + 1, names[n]);
	ch_pos p;
	memset(&p, 0, sizeof p);
	memset(p.board, CH_EMPTY, sizeof p.board);
	int r = parse_board(f[0], &p, err, len);
	if (r < 0)
		return r;
	if (strcmp(f[1], "w") && strcmp(f[1], "b"))
		return fail(err, len, "FEN field 2 (side to move): '%s' is not w or b", f[1]);
	p.side = f[1][0] == 'w' ? CH_WHITE : CH_BLACK;
	if ((r = parse_castling(f[2], &p, err, len)) < 0 || (r = parse_ep(f[3], &p, err, len)) < 0)
		return r;
	long half = 0, full = 1;
	if (n > 4 && (r = parse_counter(f[4], 5, names[4], 0, 10000, &half, err, len)) < 0)
		return r;
	if (n > 5 && (r = parse_counter(f[5], 6, names[5], 1, 100000, &full, err, len)) < 0)
		return r;
	p.halfmove = (uint16_t)half;
	p.fullmove = (uint16_t)full;
	if ((r = check_sanity(&p, err, len)) < 0)
		return r;
	p.key = ch_compute_key(&p);
	*out = p;
	return 0;
}

void ch_fen_write(const ch_pos *p, char out[CH_FEN_MAX])
{
	char *o = out;
	for (int rank = 7; rank >= 0; rank--) {
		int empty = 0;
		for (int file = 0; file < 8; file++) {
			int pc = p->board[rank * 8 + file];
			if (pc == CH_EMPTY) {
				empty++;
				continue;
			}
			if (empty)
				*o++ = (char)('0' + empty);
			empty = 0;
			*o++ = piece_chars[pc];
		}
		if (empty)
			*o++ = (char)('0' + empty);
		if (rank)
			*o++ = '/';
	}
	*o++ = ' ';
	*o++ = p->side == CH_WHITE ? 'w' : 'b';
	*o++ = ' ';
	if (!p->castle)
		*o++ = '-';
	for (int i = 0; i < 4; i++)
		if (p->castle & (1 << i))
			*o++ = "KQkq"[i];
	*o++ = ' ';
	if (p->ep == CH_NO_SQ) {
		*o++ = '-';
	} else {
		*o++ = (char)('a' + p->ep % 8);
		*o++ = (char)('1' + p->ep / 8);
	}
	snprintf(o, (size_t)(out + CH_FEN_MAX - o), " %u %u", p->halfmove, p->fullmove);
}
