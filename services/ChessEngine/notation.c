/* notation.c — moves as text: UCI's long algebraic ("e7e8q") and Standard
 * Algebraic Notation ("exd8=N+"). Parsing matches the text against the
 * legal moves of the position, so a parsed move is always legal. */
#include <errno.h>
#include <string.h>

#include "chess.h"

static const char promo_chars[] = " nbrq";
static const char san_pieces[] = " NBRQK";

void ch_move_uci(ch_move m, char out[CH_MOVE_STR_MAX])
{
	if (!m) {
		strcpy(out, "0000");
		return;
	}
	out[0] = (char)('a' + CH_FROM(m) % 8);
	out[1] = (char)('1' + CH_FROM(m) / 8);
	out[2] = (char)('a' + CH_TO(m) % 8);
	out[3] = (char)('1' + CH_TO(m) / 8);
	out[4] = CH_PROMO(m) ? promo_chars[CH_PROMO(m)] : 0;
	out[5] = 0;
}

static int square(const char *s)
{
	if (s[0] < 'a' || s[0] > 'h' || s[1] < '1' || s[1] > '8')
		return -1;
	return (s[1] - '1') * 8 + (s[0] - 'a');
}

int ch_move_parse_uci(const ch_pos *p, const char *s, ch_move *out)
{
	size_t len = strlen(s);
	if (len < 4 || len > 5)
		return -EINVAL;
	int from = square(s), to = square(s + 2), promo = 0;
	if (from < 0 || to < 0)
		return -EINVAL;
	if (len == 5) {
		const char *c = strchr(promo_chars + 1, s[4] | 0x20);
		if (!c || !s[4])
			return -EINVAL;
		promo = (int)(c - promo_chars);
	}
	ch_movelist l;
	ch_gen_legal(p, &l);
	for (int i = 0; i < l.n; i++)
		if (CH_FROM(l.m[i]) == from && CH_TO(l.m[i]) == to && CH_PROMO(l.m[i]) == promo) {
			*out = l.m[i];
			return 0;
		}
	return -ENOENT;
}

void ch_move_san(const ch_pos *p, ch_move m, char out[CH_MOVE_STR_MAX])
{
	int from = CH_FROM(m), to = CH_TO(m), type = ch_piece_type(p->board[from]);
	char *o = out;
	bool capture = p->board[to] != CH_EMPTY || (CH_FLAGS(m) & CH_MF_EP);
	if (CH_FLAGS(m) & CH_MF_CASTLE) {
		strcpy(o, to > from ? "O-O" : "O-O-O");
		o += strlen(o);
	} else {
		if (type == CH_PAWN) {
			if (capture)
				*o++ = (char)('a' + from % 8);
		} else {
			*o++ = san_pieces[type];
			/* Disambiguate by file, then rank, then both. */
			ch_movelist l;
			ch_gen_legal(p, &l);
			bool other = false, same_file = false, same_rank = false;
			for (int i = 0; i < l.n; i++) {
				int f2 = CH_FROM(l.m[i]);
				if (CH_TO(l.m[i]) != to || f2 == from ||
				    p->board[f2] != p->board[from])
					continue;
				other = true;
				same_file |= f2 % 8 == from % 8;
				same_rank |= f2 / 8 == from / 8;
			}
			if (other && (!same_file || same_rank))
				*o++ = (char)('a' + from % 8);
			if (other && same_file)
				*o++ = (char)('1' + from / 8);
		}
		if (capture)
			*o++ = 'x';
		*o++ = (char)('a' + to % 8);
		*o++ = (char)('1' + to / 8);
		if (CH_PROMO(m)) {
			*o++ = '=';
			*o++ = san_pieces[CH_PROMO(m)];
		}
	}
	ch_pos c = *p;
	ch_make(&c, m);
	if (ch_in_check(&c)) {
		ch_movelist l;
		ch_gen_legal(&c, &l);
		*o++ = l.n ? '+' : '#';
	}
	*o = 0;
}

/* SAN as people write it: suffixes (+ # ! ?) and "0-0" tolerated, the
 * promotion '=' optional, over-disambiguation ("Ng1f3") accepted. */
int ch_move_parse_san(const ch_pos *p, const char *s, ch_move *out)
{
	char buf[CH_MOVE_STR_MAX];
	size_t len = strlen(s);
	while (len && strchr("+#!?", s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	ch_movelist l;
	ch_gen_legal(p, &l);
	if (!strcmp(buf, "O-O") || !strcmp(buf, "0-0") || !strcmp(buf, "O-O-O") ||
	    !strcmp(buf, "0-0-0")) {
		bool kside = len == 3;
		for (int i = 0; i < l.n; i++)
			if ((CH_FLAGS(l.m[i]) & CH_MF_CASTLE) &&
			    (CH_TO(l.m[i]) > CH_FROM(l.m[i])) == kside) {
				*out = l.m[i];
				return 0;
			}
		return -ENOENT;
	}
	int type = CH_PAWN, promo = 0, from_file = -1, from_rank = -1;
	char *b = buf;
	const char *pc = strchr(san_pieces + 1, *b);
	if (*b && pc) {
		type = (int)(pc - san_pieces);
		b++;
	}
	len = strlen(b);
	if (len >= 2 && strchr("NBRQ", b[len - 1]) && b[len - 1]) {
		promo = (int)(strchr(san_pieces, b[len - 1]) - san_pieces);
		b[--len] = 0;
		if (len && b[len - 1] == '=')
			b[--len] = 0;
	}
	if (len < 2)
		return -EINVAL;
	int to = square(b + len - 2);
	if (to < 0)
		return -EINVAL;
	b[len - 2] = 0;
	len -= 2;
	if (len && b[len - 1] == 'x')
		b[--len] = 0;
	for (char *c = b; *c; c++) {
		if (*c >= 'a' && *c <= 'h' && from_file < 0)
			from_file = *c - 'a';
		else if (*c >= '1' && *c <= '8' && from_rank < 0)
			from_rank = *c - '1';
		else
			return -EINVAL;
	}
	int found = 0;
	for (int i = 0; i < l.n; i++) {
		ch_move m = l.m[i];
		int f = CH_FROM(m);
		if (CH_TO(m) != to || ch_piece_type(p->board[f]) != type || CH_PROMO(m) != promo ||
		    (CH_FLAGS(m) & CH_MF_CASTLE) || (from_file >= 0 && f % 8 != from_file) ||
		    (from_rank >= 0 && f / 8 != from_rank))
			continue;
		*out = m;
		found++;
	}
	return found == 1 ? 0 : found ? -ENOTUNIQ : -ENOENT;
}

int ch_move_parse(const ch_pos *p, const char *s, ch_move *out)
{
	int r = ch_move_parse_uci(p, s, out);
	if (r != -EINVAL)
		return r;
	return ch_move_parse_san(p, s, out);
}
