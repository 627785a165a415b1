/* pgn.c — Portable Game Notation: one game in, one game out.
 *
 * Import reads the tag pairs, then the movetext: move numbers, SAN moves
 * (each checked legal), comments ({...} and ; to end of line), NAGs ($n),
 * variations ((...), skipped: a game is its main line) and the result.
 * A "FEN" tag sets the start position. Errors name the line. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chess.h"

struct reader {
	const char *s, *end;
	int line;
	char *err;
	size_t errlen;
};

static int fail(struct reader *r, const char *fmt, ...)
{
	if (r->err && r->errlen) {
		int n = snprintf(r->err, r->errlen, "PGN line %d: ", r->line);
		va_list ap;
		va_start(ap, fmt);
		if (n > 0 && (size_t)n < r->errlen)
			vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static void skip_space(struct reader *r)
{
	while (r->s < r->end && isspace((unsigned char)*r->s)) {
		if (*r->s == '\n')
			r->line++;
		r->s++;
	}
}

/* [Name "value"]; the value's \" and \\ escapes are undone. */
static int parse_tag(struct reader *r, ch_game *g)
{
	char name[64], value[256];
	size_t n = 0;
	r->s++;
	while (r->s < r->end && (isalnum((unsigned char)*r->s) || *r->s == '_')) {
		if (n + 1 >= sizeof name)
			return fail(r, "tag name too long");
		name[n++] = *r->s++;
	}
	name[n] = 0;
	if (!n)
		return fail(r, "a tag without a name");
	while (r->s < r->end && *r->s == ' ')
		r->s++;
	if (r->s >= r->end || *r->s != '"')
		return fail(r, "tag %s: the value must be a quoted string", name);
	r->s++;
	n = 0;
	while (r->s < r->end && *r->s != '"' && *r->s != '\n') {
		if (*r->s == '\\' && r->s + 1 < r->end && r->s[1] != '\n')
			r->s++; /* an escape, never of the line's end */
		if (n + 1 >= sizeof value)
			return fail(r, "tag %s: value too long", name);
		value[n++] = *r->s++;
	}
	value[n] = 0;
	if (r->s >= r->end || *r->s != '"')
		return fail(r, "tag %s: unterminated string", name);
	r->s++;
	while (r->s < r->end && *r->s == ' ')
		r->s++;
	if (r->s >= r->end || *r->s != ']')
		return fail(r, "tag %s: missing ]", name);
	r->s++;
	if (!strcmp(name, "FEN")) {
		ch_pos p;
		char ferr[128];
		if (ch_fen_parse(value, &p, ferr, sizeof ferr) < 0)
			return fail(r, "tag FEN: %s", ferr);
		g->start = g->pos = p;
	}
	return ch_game_set_tag(g, name, value) < 0 ? -ENOMEM : 0;
}

static int skip_to(struct reader *r, char close)
{
	int depth = 1;
	char open = close == ')' ? '(' : 0;
	while (r->s < r->end) {
		char c = *r->s++;
		if (c == '\n')
			r->line++;
		if (close == ')' && c == '{') {
			if (skip_to(r, '}') < 0)
				return -EINVAL;
		} else if (c == open) {
			depth++;
		} else if (c == close && --depth == 0) {
			return 0;
		}
	}
	return fail(r, "unterminated %s", close == '}' ? "comment" : close == ')' ? "variation" : "line");
}

static bool is_result(const char *t)
{
	return !strcmp(t, "1-0") || !strcmp(t, "0-1") || !strcmp(t, "1/2-1/2") || !strcmp(t, "*");
}

static int parse_token(struct reader *r, ch_game *g, bool *done)
{
	char tok[32];
	size_t n = 0;
	while (r->s < r->end && !isspace((unsigned char)*r->s) && !strchr("{}();[]", *r->s)) {
		if (n + 1 >= sizeof tok)
			return fail(r, "token too long");
		tok[n++] = *r->s++;
	}
	tok[n] = 0;
	if (!n)
		return fail(r, "unexpected '%c'", *r->s);
	if (is_result(tok)) {
		strcpy(g->result, tok);
		*done = true;
		return 0;
	}
	char *t = tok;
	while (isdigit((unsigned char)*t))
		t++;
	if (t != tok) { /* a move number: "12." "12..." or "12.e4" */
		if (*t != '.')
			return fail(r, "'%s' is not a move", tok);
		while (*t == '.')
			t++;
		if (!*t)
			return 0;
	}
	if (*t == '$')
		return 0;
	ch_move m;
	int e = ch_move_parse_san(&g->pos, t, &m);
	if (e == -EINVAL)
		return fail(r, "'%s' is not a move", t);
	if (e < 0)
		return fail(r, "%s is %s here", t, e == -ENOTUNIQ ? "ambiguous" : "illegal");
	return ch_game_push(g, m);
}

int ch_pgn_parse(const char *text, size_t len, ch_game *g, char *err, size_t errlen)
{
	ch_pos start;
	ch_fen_parse(CH_START_FEN, &start, NULL, 0);
	ch_game_init(g, &start);
	struct reader r = {.s = text, .end = text + len, .line = 1, .err = err, .errlen = errlen};
	bool done = false, moves_seen = false;
	int e = 0;
	while (!done && e == 0) {
		skip_space(&r);
		if (r.s >= r.end)
			break;
		char c = *r.s;
		if (c == '[') {
			if (moves_seen)
				break; /* the next game's tags */
			e = parse_tag(&r, g);
		} else if (c == '{') {
			r.s++;
			e = skip_to(&r, '}');
		} else if (c == '(') {
			r.s++;
			e = skip_to(&r, ')');
		} else if (c == ';' || (c == '%' && (r.s == text || r.s[-1] == '\n'))) {
			while (r.s < r.end && *r.s != '\n')
				r.s++;
		} else {
			moves_seen = true;
			e = parse_token(&r, g, &done);
		}
	}
	if (e == 0 && !done && !moves_seen && !g->ntags)
		e = fail(&r, "no game");
	if (e < 0)
		ch_game_fini(g);
	return e;
}

struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (o->oom || n < 0)
		return;
	if (o->len + (size_t)n + 1 > o->cap) {
		size_t cap = (o->len + (size_t)n + 1) * 2;
		char *b = realloc(o->buf, cap);
		if (!b) {
			o->oom = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(o->buf + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

static void put_tag(struct out *o, const char *name, const char *value)
{
	put(o, "[%s \"", name);
	for (const char *c = value; *c; c++)
		put(o, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
	put(o, "\"]\n");
}

char *ch_pgn_write(const ch_game *g)
{
	static const char *const roster[] = {"Event", "Site", "Date", "Round", "White", "Black"};
	static const char *const defaults[] = {"?", "?", "????.??.??", "?", "?", "?"};
	struct out o = {0};
	char fen[CH_FEN_MAX], start_fen[CH_FEN_MAX];
	for (int i = 0; i < 6; i++) {
		const char *v = ch_game_tag(g, roster[i]);
		put_tag(&o, roster[i], v ? v : defaults[i]);
	}
	put_tag(&o, "Result", g->result);
	ch_fen_write(&g->start, fen);
	ch_pos std;
	ch_fen_parse(CH_START_FEN, &std, NULL, 0);
	ch_fen_write(&std, start_fen);
	bool custom = strcmp(fen, start_fen) != 0;
	for (size_t i = 0; i < g->ntags; i++) {
		const char *n = g->tags[i].name;
		bool skip = !strcmp(n, "Result") || !strcmp(n, "SetUp") || !strcmp(n, "FEN");
		for (int j = 0; j < 6; j++)
			skip |= !strcmp(n, roster[j]);
		if (!skip)
			put_tag(&o, n, g->tags[i].value);
	}
	if (custom) {
		put_tag(&o, "SetUp", "1");
		put_tag(&o, "FEN", fen);
	}
	put(&o, "\n");
	ch_pos p = g->start;
	size_t col = 0;
	for (size_t i = 0; i <= g->n; i++) {
		char word[40], san[CH_MOVE_STR_MAX];
		if (i == g->n) {
			snprintf(word, sizeof word, "%s", g->result);
		} else {
			ch_move_san(&p, g->moves[i], san);
			if (p.side == CH_WHITE)
				snprintf(word, sizeof word, "%u. %s", p.fullmove, san);
			else if (i == 0)
				snprintf(word, sizeof word, "%u... %s", p.fullmove, san);
			else
				snprintf(word, sizeof word, "%s", san);
			ch_make(&p, g->moves[i]);
		}
		size_t w = strlen(word);
		if (col && col + 1 + w > 79) {
			put(&o, "\n");
			col = 0;
		} else if (col) {
			put(&o, " ");
			col++;
		}
		put(&o, "%s", word);
		col += w;
	}
	put(&o, "\n");
	if (o.oom) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
