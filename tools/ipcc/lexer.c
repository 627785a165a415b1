/* lexer.c — turns .ipc text into tokens.
 *
 * Skips whitespace, // and block comments, and `#include` / `#import` lines
 * (SerenityOS .ipc files start with C++ includes that mean nothing to
 * Haven). Every token carries its line and column for diagnostics.
 */
#include <ctype.h>
#include <string.h>

#include "ipcc.h"

void ipcc_lexer_init(ipcc_lexer *lx, const char *file, const char *text, size_t len)
{
	*lx = (ipcc_lexer){.p = text, .end = text + len, .file = file, .line = 1, .col = 1};
	/* A UTF-8 byte order mark, as some editors write, is not content. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		lx->p += 3;
}

const char *ipcc_tok_name(enum ipcc_tok_kind k)
{
	switch (k) {
	case TOK_EOF: return "end of file";
	case TOK_IDENT: return "a name";
	case TOK_NUMBER: return "a number";
	case TOK_STRING: return "a string";
	case TOK_LBRACE: return "'{'";
	case TOK_RBRACE: return "'}'";
	case TOK_LPAREN: return "'('";
	case TOK_RPAREN: return "')'";
	case TOK_LT: return "'<'";
	case TOK_GT: return "'>'";
	case TOK_LBRACKET: return "'['";
	case TOK_RBRACKET: return "']'";
	case TOK_COMMA: return "','";
	case TOK_SEMI: return "';'";
	case TOK_COLON: return "':'";
	case TOK_COLONCOLON: return "'::'";
	case TOK_EQ: return "'='";
	case TOK_ARROW: return "'=>'";
	case TOK_ONEWAY: return "'=|'";
	case TOK_ERROR: return "an invalid token";
	}
	return "?";
}

static void advance(ipcc_lexer *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->p++;
}

static bool at(const ipcc_lexer *lx, size_t off, char c)
{
	return (size_t)(lx->end - lx->p) > off && lx->p[off] == c;
}

/* Skip blanks and comments; false (with lx->error) on an unterminated comment. */
static bool skip_space(ipcc_lexer *lx, ipcc_token *t)
{
	for (;;) {
		while (lx->p < lx->end && isspace((unsigned char)*lx->p))
			advance(lx);
		if (at(lx, 0, '/') && at(lx, 1, '/')) {
			unsigned line = lx->line;
			const char *start = lx->p;
			while (lx->p < lx->end && *lx->p != '\n')
				advance(lx);
			/* Documentation: comment lines in a row, not trailing a token. */
			if (line != lx->last_tok_line) {
				if (!lx->doc_start || line != lx->doc_last_line + 1)
					lx->doc_start = start;
				lx->doc_end = lx->p;
				lx->doc_last_line = line;
			}
		} else if (at(lx, 0, '/') && at(lx, 1, '*')) {
			t->loc = (ipcc_loc){lx->file, lx->line, lx->col};
			advance(lx);
			advance(lx);
			while (lx->p < lx->end && !(at(lx, 0, '*') && at(lx, 1, '/')))
				advance(lx);
			if (lx->p >= lx->end) {
				lx->error = "unterminated comment";
				return false;
			}
			advance(lx);
			advance(lx);
		} else if (at(lx, 0, '#')) {
			/* A preprocessor line: only #include / #import are meaningful
			 * in SerenityOS .ipc files, and both are ignored. */
			t->loc = (ipcc_loc){lx->file, lx->line, lx->col};
			const char *q = lx->p + 1;
			while (q < lx->end && (*q == ' ' || *q == '\t'))
				q++;
			size_t rest = (size_t)(lx->end - q);
			if (!(rest >= 7 && !memcmp(q, "include", 7)) && !(rest >= 6 && !memcmp(q, "import", 6))) {
				lx->error = "unsupported preprocessor directive (only #include and #import lines are accepted, and ignored)";
				return false;
			}
			while (lx->p < lx->end && *lx->p != '\n')
				advance(lx);
		} else {
			return true;
		}
	}
}

static ipcc_token lex(ipcc_lexer *lx);

ipcc_token ipcc_lex(ipcc_lexer *lx)
{
	lx->doc_start = lx->doc_end = NULL;
	ipcc_token t = lex(lx);
	lx->last_tok_line = lx->line;
	return t;
}

static ipcc_token lex(ipcc_lexer *lx)
{
	ipcc_token t = {0};
	if (!skip_space(lx, &t)) {
		t.kind = TOK_ERROR;
		return t;
	}
	t.loc = (ipcc_loc){lx->file, lx->line, lx->col};
	if (lx->doc_start && lx->doc_last_line + 1 == lx->line) {
		t.doc_start = lx->doc_start;
		t.doc_end = lx->doc_end;
	}
	t.start = lx->p;
	if (lx->p >= lx->end) {
		t.kind = TOK_EOF;
		return t;
	}
	unsigned char c = (unsigned char)*lx->p;
	if (c == 0) {
		lx->error = "NUL byte in source";
		t.kind = TOK_ERROR;
		return t;
	}
	if (isalpha(c) || c == '_') {
		while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) || *lx->p == '_'))
			advance(lx);
		t.kind = TOK_IDENT;
		t.len = (size_t)(lx->p - t.start);
		return t;
	}
	if (isdigit(c) || (c == '-' && lx->p + 1 < lx->end && isdigit((unsigned char)lx->p[1]))) {
		bool neg = c == '-';
		if (neg)
			advance(lx);
		uint64_t v = 0;
		bool overflow = false;
		unsigned base = 10;
		if (at(lx, 0, '0') && (at(lx, 1, 'x') || at(lx, 1, 'X'))) {
			base = 16;
			advance(lx);
			advance(lx);
		}
		const char *digits = lx->p;
		while (lx->p < lx->end && isxdigit((unsigned char)*lx->p)) {
			unsigned char d = (unsigned char)*lx->p;
			unsigned dv = isdigit(d) ? (unsigned)(d - '0') : (unsigned)(tolower(d) - 'a' + 10);
			if (dv >= base)
				break;
			if (v > (UINT64_MAX - dv) / base)
				overflow = true;
			v = v * base + dv;
			advance(lx);
		}
		if (lx->p == digits || (lx->p < lx->end && (isalnum((unsigned char)*lx->p) || *lx->p == '_'))) {
			lx->error = "malformed number";
			t.kind = TOK_ERROR;
			return t;
		}
		if (overflow || v > (uint64_t)INT64_MAX) {
			lx->error = "number out of range";
			t.kind = TOK_ERROR;
			return t;
		}
		t.kind = TOK_NUMBER;
		t.number = neg ? -(int64_t)v : (int64_t)v;
		t.len = (size_t)(lx->p - t.start);
		return t;
	}
	if (c == '"') {
		advance(lx);
		while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n')
			advance(lx);
		if (lx->p >= lx->end || *lx->p != '"') {
			lx->error = "unterminated string";
			t.kind = TOK_ERROR;
			return t;
		}
		advance(lx);
		t.kind = TOK_STRING;
		t.start++;
		t.len = (size_t)(lx->p - t.start) - 1;
		return t;
	}
	advance(lx);
	t.len = 1;
	switch (c) {
	case '{': t.kind = TOK_LBRACE; break;
	case '}': t.kind = TOK_RBRACE; break;
	case '(': t.kind = TOK_LPAREN; break;
	case ')': t.kind = TOK_RPAREN; break;
	case '<': t.kind = TOK_LT; break;
	case '>': t.kind = TOK_GT; break;
	case '[': t.kind = TOK_LBRACKET; break;
	case ']': t.kind = TOK_RBRACKET; break;
	case ',': t.kind = TOK_COMMA; break;
	case ';': t.kind = TOK_SEMI; break;
	case ':':
		if (lx->p < lx->end && *lx->p == ':') {
			advance(lx);
			t.kind = TOK_COLONCOLON;
			t.len = 2;
		} else {
			t.kind = TOK_COLON;
		}
		break;
	case '=':
		if (lx->p < lx->end && *lx->p == '>') {
			advance(lx);
			t.kind = TOK_ARROW;
			t.len = 2;
		} else if (lx->p < lx->end && *lx->p == '|') {
			advance(lx);
			t.kind = TOK_ONEWAY;
			t.len = 2;
		} else {
			t.kind = TOK_EQ;
		}
		break;
	default:
		lx->error = isprint(c) ? "unexpected character" : "unexpected byte";
		t.kind = TOK_ERROR;
		break;
	}
	return t;
}
