/* parser.c — recursive-descent parser for the .ipc language.
 *
 *   file     := { import | struct | enum | endpoint }
 *   import   := "import" STRING [";"]
 *   struct   := "struct" QNAME "{" { field (";" | ",") } "}" [";"]
 *   enum     := "enum" QNAME [":" type] "{" NAME ["=" NUMBER] { "," ... } [","] "}" [";"]
 *   flags    := "flags" QNAME [":" type] "{" NAME "=" NUMBER { "," ... } [","] "}" [";"]
 *   using    := "using" QNAME "=" type [";"]      (another name for a type)
 *   QNAME    := NAME {"::" NAME}        ("HTTP::HeaderMap": C++ namespaces)
 *   endpoint := "endpoint" NAME ["=" NUMBER | "[" "magic" "=" NUMBER "]"] ["routed" "by" field]
 *               "{" { message } "}"
 *   error    := "error" NAME ["=" NUMBER] [STRING] [";"]      (inside an endpoint)
 *   message  := ["[" NAME {"," NAME} "]"] NAME "(" [field {"," field}] ")"
 *               ("=>" "(" [field {"," field}] ")" | "=|") [";"]
 *   field    := ["[" attr {"," attr} "]"] [type] NAME      (type implied by [File]/[Bitmap]/[Buffer])
 *   type     := ["::"] NAME {"::" NAME} ["<" type {"," type} ">"]
 *
 * A syntax error stops the parse of that file (the first one is the
 * useful one); names and types are checked later by check.c.
 */
#include <string.h>

#include "ipcc.h"

typedef struct parser {
	ipcc_unit *u;
	ipcc_file *f;
	ipcc_lexer lx;
	ipcc_token tok, next; /* one token of lookahead */
	bool failed;
} parser;

static void bump(parser *p)
{
	p->tok = p->next;
	if (p->tok.kind != TOK_EOF && p->tok.kind != TOK_ERROR)
		p->next = ipcc_lex(&p->lx);
}

/* The token's documentation comment as plain lines ("//" and one blank
 * removed); "" if none. */
static const char *doc_of(parser *p, const ipcc_token *t)
{
	if (!t->doc_start)
		return "";
	size_t n = (size_t)(t->doc_end - t->doc_start);
	char *out = ipcc_alloc(&p->u->arena, n + 1);
	size_t k = 0;
	const char *c = t->doc_start;
	while (c < t->doc_end) {
		while (c < t->doc_end && (*c == ' ' || *c == '\t'))
			c++;
		if (c + 1 < t->doc_end && c[0] == '/' && c[1] == '/')
			c += 2;
		if (c < t->doc_end && *c == ' ')
			c++;
		while (c < t->doc_end && *c != '\n' && *c != '\r')
			out[k++] = *c++;
		while (c < t->doc_end && (*c == '\r' || *c == '\n'))
			c++;
		out[k++] = '\n';
	}
	out[k] = 0;
	return out;
}

static const char *describe(parser *p, const ipcc_token *t)
{
	switch (t->kind) {
	case TOK_IDENT:
		return ipcc_printf(&p->u->arena, "'%.*s'", (int)t->len, t->start);
	case TOK_NUMBER:
		return ipcc_printf(&p->u->arena, "number %.*s", (int)t->len, t->start);
	case TOK_STRING:
		return ipcc_printf(&p->u->arena, "string \"%.*s\"", (int)t->len, t->start);
	default:
		return ipcc_tok_name(t->kind);
	}
}

static void fail_at(parser *p, const ipcc_token *t, const char *what)
{
	if (p->failed)
		return;
	p->failed = true;
	if (t->kind == TOK_ERROR) {
		if (!strcmp(p->lx.error, "unexpected character"))
			ipcc_error(p->u, t->loc, "unexpected character '%c'", *t->start);
		else if (!strcmp(p->lx.error, "unexpected byte"))
			ipcc_error(p->u, t->loc, "unexpected byte 0x%02x", (unsigned char)*t->start);
		else
			ipcc_error(p->u, t->loc, "%s", p->lx.error);
		return;
	}
	ipcc_error(p->u, t->loc, "expected %s, found %s", what, describe(p, t));
}

static bool accept(parser *p, enum ipcc_tok_kind k)
{
	if (p->failed || p->tok.kind != k)
		return false;
	bump(p);
	return true;
}

static bool expect(parser *p, enum ipcc_tok_kind k, const char *what)
{
	if (accept(p, k))
		return true;
	fail_at(p, &p->tok, what ? what : ipcc_tok_name(k));
	return false;
}

static bool is_word(const ipcc_token *t, const char *w)
{
	return t->kind == TOK_IDENT && strlen(w) == t->len && !memcmp(t->start, w, t->len);
}

static bool is_keyword(const char *s)
{
	return !strcmp(s, "endpoint") || !strcmp(s, "struct") || !strcmp(s, "enum") || !strcmp(s, "import");
}

/* NAME; reserved words are refused here so the message points at them. */
static const char *name(parser *p, const char *what)
{
	if (p->failed)
		return NULL;
	if (p->tok.kind != TOK_IDENT) {
		fail_at(p, &p->tok, what);
		return NULL;
	}
	const char *s = ipcc_strndup(&p->u->arena, p->tok.start, p->tok.len);
	if (is_keyword(s)) {
		p->failed = true;
		ipcc_error(p->u, p->tok.loc, "'%s' is a reserved word and cannot name %s", s, what);
		return NULL;
	}
	bump(p);
	return s;
}

static ipcc_type *type(parser *p, unsigned depth)
{
	if (p->failed)
		return NULL;
	if (depth > 32) {
		fail_at(p, &p->tok, "a shallower type (nesting deeper than 32)");
		return NULL;
	}
	ipcc_type *t = ipcc_alloc(&p->u->arena, sizeof(*t));
	t->loc = p->tok.loc;
	/* C++'s global scope "::RequestServer::CacheLevel": kept in the name. */
	const char *start = p->tok.start;
	if (p->tok.kind == TOK_COLONCOLON)
		bump(p);
	if (p->tok.kind != TOK_IDENT) {
		fail_at(p, &p->tok, "a type");
		return NULL;
	}
	const char *end = p->tok.start + p->tok.len;
	bump(p);
	while (p->tok.kind == TOK_COLONCOLON) {
		bump(p);
		if (p->tok.kind != TOK_IDENT) {
			fail_at(p, &p->tok, "a name after '::'");
			return NULL;
		}
		end = p->tok.start + p->tok.len;
		bump(p);
	}
	/* Qualified names are rebuilt without inner blanks ("Gfx :: IntRect"). */
	char *n = ipcc_alloc(&p->u->arena, (size_t)(end - start) + 1);
	size_t k = 0;
	for (const char *c = start; c < end; c++)
		if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r')
			n[k++] = *c;
	t->name = n;
	if (accept(p, TOK_LT)) {
		do {
			if (t->nargs == IPCC_MAX_VARIANT_ALTERNATIVES) {
				fail_at(p, &p->tok, "'>' (at most 255 type arguments)");
				return NULL;
			}
			ipcc_type *arg = type(p, depth + 1);
			ipcc_push(&p->u->arena, &t->args, &t->nargs, &t->capargs, &arg, sizeof(arg));
		} while (accept(p, TOK_COMMA));
		if (!expect(p, TOK_GT, "',' or '>'"))
			return NULL;
	}
	return p->failed ? NULL : t;
}

static void attributes(parser *p, ipcc_field *fl, const char **implied)
{
	do {
		if (p->tok.kind != TOK_IDENT) {
			fail_at(p, &p->tok, "an attribute name");
			return;
		}
		ipcc_token at = p->tok;
		const char *a = ipcc_strndup(&p->u->arena, at.start, at.len);
		bump(p);
		if (!strcmp(a, "UTF8")) {
			fl->attrs |= ATTR_UTF8;
		} else if (!strcmp(a, "MaxLength")) {
			if (!expect(p, TOK_EQ, "'=' after MaxLength"))
				return;
			if (p->tok.kind != TOK_NUMBER || p->tok.number < 0) {
				fail_at(p, &p->tok, "a non-negative number");
				return;
			}
			fl->attrs |= ATTR_MAX_LENGTH;
			fl->max_length = (uint64_t)p->tok.number;
			bump(p);
		} else if (!strcmp(a, "File") || !strcmp(a, "Bitmap") || !strcmp(a, "Buffer")) {
			fl->attrs |= ATTR_TYPE;
			*implied = a;
		} else {
			p->failed = true;
			ipcc_error(p->u, at.loc,
				   "unknown attribute '%s' (known: UTF8, MaxLength=N, File, Bitmap, Buffer)", a);
			return;
		}
	} while (accept(p, TOK_COMMA));
	expect(p, TOK_RBRACKET, "',' or ']'");
}

static bool field(parser *p, ipcc_field *fl, const char *what)
{
	memset(fl, 0, sizeof(*fl));
	fl->loc = p->tok.loc;
	const char *implied = NULL;
	if (accept(p, TOK_LBRACKET))
		attributes(p, fl, &implied);
	if (p->failed)
		return false;
	/* "[File] name": the attribute stands for the type (SerenityOS's old form). */
	if (implied && p->tok.kind == TOK_IDENT &&
	    (p->next.kind == TOK_COMMA || p->next.kind == TOK_RPAREN || p->next.kind == TOK_SEMI ||
	     p->next.kind == TOK_RBRACE)) {
		fl->type = ipcc_alloc(&p->u->arena, sizeof(*fl->type));
		fl->type->name = implied;
		fl->type->loc = fl->loc;
	} else {
		fl->type = type(p, 0);
	}
	fl->loc = p->tok.loc;
	fl->name = name(p, what);
	return !p->failed;
}

static void field_list(parser *p, ipcc_field **arr, size_t *n, size_t *cap, const char *what)
{
	if (!expect(p, TOK_LPAREN, "'('"))
		return;
	if (accept(p, TOK_RPAREN))
		return;
	do {
		ipcc_field fl;
		if (!field(p, &fl, what))
			return;
		ipcc_push(&p->u->arena, arr, n, cap, &fl, sizeof(fl));
	} while (accept(p, TOK_COMMA));
	expect(p, TOK_RPAREN, "',' or ')'");
}

/* After '[': message attributes (Ladybird's [NotRouted]). */
static bool message_attributes(parser *p, ipcc_message *m)
{
	do {
		if (p->tok.kind != TOK_IDENT) {
			fail_at(p, &p->tok, "a message attribute");
			return false;
		}
		if (!is_word(&p->tok, "NotRouted")) {
			p->failed = true;
			ipcc_error(p->u, p->tok.loc, "unknown message attribute '%.*s' (known: NotRouted)", (int)p->tok.len,
				   p->tok.start);
			return false;
		}
		m->not_routed = true;
		bump(p);
	} while (accept(p, TOK_COMMA));
	return expect(p, TOK_RBRACKET, "',' or ']'");
}

static void parse_error_decl(parser *p, ipcc_endpoint *ep, int64_t *next)
{
	ipcc_error_decl e = {.doc = doc_of(p, &p->tok)};
	bump(p); /* "error" */
	e.loc = p->tok.loc;
	e.name = name(p, "an error");
	if (accept(p, TOK_EQ)) {
		if (p->tok.kind != TOK_NUMBER) {
			fail_at(p, &p->tok, "a number");
			return;
		}
		*next = p->tok.number;
		bump(p);
	}
	e.number = *next;
	*next = *next == INT64_MAX ? *next : *next + 1;
	if (p->tok.kind == TOK_STRING) {
		e.message = ipcc_strndup(&p->u->arena, p->tok.start, p->tok.len);
		bump(p);
	}
	accept(p, TOK_SEMI);
	if (!p->failed)
		ipcc_push(&p->u->arena, &ep->errors, &ep->nerrors, &ep->caperrors, &e, sizeof(e));
}

static void parse_endpoint(parser *p, const char *doc)
{
	ipcc_endpoint ep = {0};
	ep.doc = doc;
	ep.loc = p->tok.loc;
	ep.name = name(p, "an endpoint");
	/* SerenityOS's old "endpoint WindowServer = 2": the number is ignored,
	 * Haven's magic is the hash of the name. */
	if (accept(p, TOK_EQ))
		expect(p, TOK_NUMBER, "a number");
	/* SerenityOS 2021's "endpoint LookupServer [magic=9001]": ignored too. */
	if (accept(p, TOK_LBRACKET)) {
		if (!is_word(&p->tok, "magic")) {
			fail_at(p, &p->tok, "'magic' (the one endpoint attribute)");
			return;
		}
		bump(p);
		if (!expect(p, TOK_EQ, "'='") || !expect(p, TOK_NUMBER, "a number") || !expect(p, TOK_RBRACKET, "']'"))
			return;
	}
	/* Ladybird's "routed by Type name" (see check.c for its meaning). */
	if (is_word(&p->tok, "routed")) {
		bump(p);
		if (!is_word(&p->tok, "by")) {
			fail_at(p, &p->tok, "'by' after 'routed'");
			return;
		}
		bump(p);
		ep.route = ipcc_alloc(&p->u->arena, sizeof(*ep.route));
		if (!field(p, ep.route, "the route parameter"))
			return;
	}
	if (!expect(p, TOK_LBRACE, "'{'"))
		return;
	int64_t next_error = 1;
	while (!p->failed && p->tok.kind != TOK_RBRACE) {
		/* "error Name ...": a declared error (a message may still be
		 * called error: "error(...)" has no name after the word). */
		if (is_word(&p->tok, "error") && p->next.kind == TOK_IDENT) {
			parse_error_decl(p, &ep, &next_error);
			continue;
		}
		ipcc_message m = {0};
		m.loc = p->tok.loc;
		m.doc = doc_of(p, &p->tok);
		if (accept(p, TOK_LBRACKET) && !message_attributes(p, &m))
			return;
		m.name = name(p, "a message");
		field_list(p, &m.params, &m.nparams, &m.capparams, "a parameter");
		if (accept(p, TOK_ONEWAY)) {
			m.oneway = true;
		} else if (accept(p, TOK_ARROW)) {
			field_list(p, &m.results, &m.nresults, &m.capresults, "a result");
		} else {
			fail_at(p, &p->tok, "'=>' or '=|'");
		}
		accept(p, TOK_SEMI);
		if (p->failed)
			return;
		m.id = (unsigned)ep.nmessages + 1;
		ipcc_push(&p->u->arena, &ep.messages, &ep.nmessages, &ep.capmessages, &m, sizeof(m));
	}
	if (!expect(p, TOK_RBRACE, "'}'"))
		return;
	accept(p, TOK_SEMI);
	ipcc_push(&p->u->arena, &p->f->endpoints, &p->f->nendpoints, &p->f->capendpoints, &ep, sizeof(ep));
}

/* NAME {"::" NAME}: a type may be defined under its C++ name. */
static const char *qualified_name(parser *p, const char *what)
{
	const char *n = name(p, what);
	while (n && accept(p, TOK_COLONCOLON)) {
		const char *part = name(p, "a name after '::'");
		if (!part)
			return NULL;
		n = ipcc_printf(&p->u->arena, "%s::%s", n, part);
	}
	return n;
}

static ipcc_def *new_def(parser *p, enum ipcc_def_kind kind, const char *doc)
{
	ipcc_def *d = ipcc_alloc(&p->u->arena, sizeof(*d));
	d->doc = doc;
	d->kind = kind;
	d->file = p->f;
	d->loc = p->tok.loc;
	d->name = qualified_name(p, kind == DEF_STRUCT ? "a struct" : kind == DEF_ENUM ? "an enum" :
				    kind == DEF_FLAGS ? "a flag set" : "a type alias");
	return d;
}

static void parse_struct(parser *p, const char *doc)
{
	ipcc_def *d = new_def(p, DEF_STRUCT, doc);
	if (!expect(p, TOK_LBRACE, "'{'"))
		return;
	while (!p->failed && p->tok.kind != TOK_RBRACE) {
		ipcc_field fl;
		if (!field(p, &fl, "a field"))
			return;
		ipcc_push(&p->u->arena, &d->fields, &d->nfields, &d->capfields, &fl, sizeof(fl));
		if (!accept(p, TOK_SEMI) && !accept(p, TOK_COMMA) && p->tok.kind != TOK_RBRACE) {
			fail_at(p, &p->tok, "';' or '}'");
			return;
		}
	}
	if (!expect(p, TOK_RBRACE, "'}'"))
		return;
	accept(p, TOK_SEMI);
	ipcc_push(&p->u->arena, &p->f->defs, &p->f->ndefs, &p->f->capdefs, &d, sizeof(d));
}

/* An enum, or a flag set (same syntax, values combine; check.c wants each
 * flag's value given). */
static void parse_enum(parser *p, const char *doc, enum ipcc_def_kind kind)
{
	ipcc_def *d = new_def(p, kind, doc);
	if (accept(p, TOK_COLON))
		d->underlying = type(p, 0);
	if (!expect(p, TOK_LBRACE, "'{'"))
		return;
	int64_t next = 0;
	while (!p->failed && p->tok.kind != TOK_RBRACE) {
		ipcc_enumerator e = {.loc = p->tok.loc};
		e.name = name(p, "an enumerator");
		if (p->failed)
			return;
		if (accept(p, TOK_EQ)) {
			if (p->tok.kind != TOK_NUMBER) {
				fail_at(p, &p->tok, "a number");
				return;
			}
			next = p->tok.number;
			e.explicit_value = true;
			bump(p);
		}
		e.value = next;
		next = next == INT64_MAX ? next : next + 1;
		ipcc_push(&p->u->arena, &d->enumerators, &d->nenumerators, &d->capenumerators, &e, sizeof(e));
		if (!accept(p, TOK_COMMA) && p->tok.kind != TOK_RBRACE) {
			fail_at(p, &p->tok, "',' or '}'");
			return;
		}
	}
	if (!expect(p, TOK_RBRACE, "'}'"))
		return;
	accept(p, TOK_SEMI);
	ipcc_push(&p->u->arena, &p->f->defs, &p->f->ndefs, &p->f->capdefs, &d, sizeof(d));
}

int ipcc_parse(ipcc_unit *u, ipcc_file *f)
{
	parser p = {.u = u, .f = f};
	ipcc_lexer_init(&p.lx, f->path, f->text, f->len);
	p.next = ipcc_lex(&p.lx);
	bump(&p);
	while (!p.failed && p.tok.kind != TOK_EOF) {
		const char *doc = doc_of(&p, &p.tok);
		if (is_word(&p.tok, "endpoint")) {
			bump(&p);
			parse_endpoint(&p, doc);
		} else if (is_word(&p.tok, "struct")) {
			bump(&p);
			parse_struct(&p, doc);
		} else if (is_word(&p.tok, "enum")) {
			bump(&p);
			parse_enum(&p, doc, DEF_ENUM);
		} else if (is_word(&p.tok, "using")) {
			bump(&p);
			ipcc_def *d = new_def(&p, DEF_ALIAS, doc);
			if (expect(&p, TOK_EQ, "'='") && (d->target = type(&p, 0))) {
				accept(&p, TOK_SEMI);
				ipcc_push(&u->arena, &f->defs, &f->ndefs, &f->capdefs, &d, sizeof(d));
			}
		} else if (is_word(&p.tok, "flags")) {
			bump(&p);
			parse_enum(&p, doc, DEF_FLAGS);
		} else if (is_word(&p.tok, "import")) {
			ipcc_loc loc = p.tok.loc;
			bump(&p);
			if (p.tok.kind != TOK_STRING) {
				fail_at(&p, &p.tok, "a quoted file name after import");
				break;
			}
			char *path = ipcc_strndup(&u->arena, p.tok.start, p.tok.len);
			loc = p.tok.loc;
			bump(&p);
			accept(&p, TOK_SEMI);
			ipcc_file *imp = ipcc_import(u, f, path, loc);
			if (imp)
				ipcc_push(&u->arena, &f->imports, &f->nimports, &f->capimports, &imp, sizeof(imp));
		} else {
			fail_at(&p, &p.tok, "'endpoint', 'struct', 'enum', 'flags', 'using' or 'import'");
		}
	}
	return p.failed ? -1 : 0;
}
