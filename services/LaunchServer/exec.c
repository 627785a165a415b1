/* exec.c — Exec lines to argv (exec.h): the spec's quoting, then field
 * codes per target. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exec.h"

static int fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t size, const char *fmt, ...)
{
	if (err && size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool reserved(char c)
{
	return c && strchr(" \t\n\"'\\><~|&;$*?#()`", c);
}

void lch_exec_clear(struct lch_exec *ex)
{
	for (size_t i = 0; i < ex->n; i++)
		free(ex->args[i].text);
	free(ex->args);
	*ex = (struct lch_exec){0};
}

static int push_arg(struct lch_exec *ex, const char *s, size_t n, bool literal)
{
	struct lch_exec_arg *a = realloc(ex->args, (ex->n + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	ex->args = a;
	char *t = strndup(s, n);
	if (!t)
		return -ENOMEM;
	ex->args[ex->n++] = (struct lch_exec_arg){.text = t, .literal = literal};
	return 0;
}

/* A quoted argument starting after the opening quote at *p; the literal
 * text (escapes and %% resolved) into buf. */
static int parse_quoted(const char **p, char *buf, size_t *len, char *err, size_t esz)
{
	const char *s = *p;
	size_t o = 0;
	for (;; s++) {
		if (!*s)
			return fail(err, esz, "unterminated quote");
		if (*s == '"')
			break;
		if (*s == '\\') {
			s++;
			if (!*s || !strchr("\"`$\\", *s))
				return fail(err, esz, "bad escape \\%c inside quotes",
					    *s ? *s : ' ');
		} else if (*s == '%') {
			if (s[1] != '%')
				return fail(err, esz, "field code %%%c inside quotes",
					    s[1] ? s[1] : ' ');
			s++;
		}
		buf[o++] = *s;
	}
	*p = s + 1;
	*len = o;
	return 0;
}

/* Field codes of an unquoted argument: known, and %F %U %i alone. */
static int check_codes(struct lch_exec *ex, const char *a, unsigned *file_codes, char *err,
		       size_t esz)
{
	for (const char *s = a; *s; s++) {
		if (*s != '%')
			continue;
		char c = *++s;
		if (!c || !strchr("fFuUickdDnNvm%", c))
			return fail(err, esz, "unknown field code %%%c", c ? c : ' ');
		if (strchr("FUi", c) && strlen(a) != 2)
			return fail(err, esz, "%%%c must be an argument of its own", c);
		if (strchr("fFuU", c)) {
			++*file_codes;
			ex->takes_files = c == 'f' || c == 'F';
			ex->takes_urls = c == 'u' || c == 'U';
			ex->takes_many = c == 'F' || c == 'U';
		}
	}
	return 0;
}

int lch_exec_parse(const char *exec, struct lch_exec *out, char *err, size_t esz)
{
	*out = (struct lch_exec){0};
	size_t n = strlen(exec);
	_hv_free_ char *buf = malloc(n + 1);
	if (!buf)
		return -ENOMEM;
	struct lch_exec ex = {0};
	unsigned file_codes = 0;
	int r = 0;
	for (const char *p = exec; *p && r >= 0;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		size_t len = 0;
		if (*p == '"') {
			p++;
			if ((r = parse_quoted(&p, buf, &len, err, esz)) < 0)
				break;
			/* "a"b: the spec quotes whole arguments only. */
			if (*p && *p != ' ') {
				r = fail(err, esz, "a quoted argument must end at a space");
				break;
			}
			r = push_arg(&ex, buf, len, true);
			continue;
		}
		const char *start = p;
		while (*p && *p != ' ' && !reserved(*p))
			p++;
		if (*p && *p != ' ') {
			r = fail(err, esz, "reserved character '%c' must be quoted", *p);
			break;
		}
		if ((r = push_arg(&ex, start, (size_t)(p - start), false)) < 0)
			break;
		r = check_codes(&ex, ex.args[ex.n - 1].text, &file_codes, err, esz);
	}
	if (r >= 0 && (!ex.n || !ex.args[0].text[0]))
		r = fail(err, esz, "no command");
	if (r >= 0 && file_codes > 1)
		r = fail(err, esz, "more than one of %%f %%F %%u %%U");
	if (r >= 0 && !ex.args[0].literal && strchr(ex.args[0].text, '%'))
		r = fail(err, esz, "a field code as the command");
	if (r < 0) {
		lch_exec_clear(&ex);
		return r;
	}
	*out = ex;
	return 0;
}

/* Append an expansion to a growing string. */
struct sbuf {
	char *s;
	size_t n, cap;
	int err;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *t = realloc(b->s, cap);
		if (!t) {
			b->err = -ENOMEM;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static int target_text(const struct lch_exec *ex, const struct lch_target *t, const char **out)
{
	if (ex->takes_files) {
		if (!t->path)
			return -ECANCELED;
		*out = t->path;
	} else
		*out = t->url;
	return 0;
}

/* One argv: targets[0..n) fill %F/%U, targets[0] (when n) fills %f/%u. */
static int expand_one(const struct lch_exec *ex, const struct lch_exec_ctx *ctx,
		      const struct lch_target *targets, size_t n, hv_strv *argv)
{
	int r = 0;
	for (size_t i = 0; i < ex->n && r >= 0; i++) {
		const char *a = ex->args[i].text;
		if (ex->args[i].literal) {
			r = hv_strv_push(argv, a);
			continue;
		}
		if (!strcmp(a, "%F") || !strcmp(a, "%U")) {
			for (size_t k = 0; k < n && r >= 0; k++) {
				const char *t;
				if ((r = target_text(ex, &targets[k], &t)) >= 0)
					r = hv_strv_push(argv, t);
			}
			continue;
		}
		if (!strcmp(a, "%i")) {
			if (ctx->icon && *ctx->icon && (r = hv_strv_push(argv, "--icon")) >= 0)
				r = hv_strv_push(argv, ctx->icon);
			continue;
		}
		struct sbuf b = {0};
		bool dropped = false; /* %f with no target, deprecated codes: no argument at all */
		for (const char *s = a; *s; s++) {
			if (*s != '%') {
				sb_add(&b, s, 1);
				continue;
			}
			const char *t = NULL;
			switch (*++s) {
			case '%':
				t = "%";
				break;
			case 'f':
			case 'u':
				if (!n) {
					dropped = true;
					break;
				}
				r = target_text(ex, &targets[0], &t);
				break;
			case 'c':
				t = ctx->name ? ctx->name : "";
				break;
			case 'k':
				t = ctx->file ? ctx->file : "";
				break;
			default:
				dropped = strlen(a) == 2;
				break; /* deprecated */
			}
			if (t)
				sb_add(&b, t, strlen(t));
		}
		if (r >= 0 && b.err)
			r = b.err;
		if (r >= 0 && !(dropped && b.n == 0))
			r = hv_strv_push(argv, b.s ? b.s : "");
		free(b.s);
	}
	return r;
}

void lch_exec_free_argvs(hv_strv *argvs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		hv_strv_clear(&argvs[i]);
	free(argvs);
}

int lch_exec_expand(const struct lch_exec *ex, const struct lch_exec_ctx *ctx,
		    const struct lch_target *targets, size_t n, hv_strv **argvs, size_t *count)
{
	bool per_target = (ex->takes_files || ex->takes_urls) && !ex->takes_many && n > 1;
	size_t k = per_target ? n : 1;
	hv_strv *v = calloc(k, sizeof(*v));
	if (!v)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; i < k && r >= 0; i++)
		r = per_target ? expand_one(ex, ctx, &targets[i], 1, &v[i])
			       : expand_one(ex, ctx, targets, n, &v[i]);
	if (r < 0) {
		lch_exec_free_argvs(v, k);
		return r;
	}
	*argvs = v;
	*count = k;
	return 0;
}
