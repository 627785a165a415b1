/* desktop.c — one desktop entry from its text (desktop.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "desktop.h"
#include "keyfile.h"

void lch_app_free(struct lch_app *a)
{
	if (!a)
		return;
	free(a->id);
	free(a->file);
	free(a->name);
	free(a->generic_name);
	free(a->icon);
	free(a->exec_line);
	free(a->try_exec);
	free(a->path);
	lch_exec_clear(&a->exec);
	hv_strv_clear(&a->mime_types);
	hv_strv_clear(&a->only_show_in);
	hv_strv_clear(&a->not_show_in);
	free(a);
}

/* How well a key's locale matches the wanted one (spec: LC_MESSAGES
 * lang_COUNTRY@MODIFIER tries lang_COUNTRY@MODIFIER, lang_COUNTRY,
 * lang@MODIFIER, lang, then the key without a locale). 0: no match. */
static int locale_score(const char *want, const char *have)
{
	if (!want || !have)
		return 0;
	char lang[64], country[64] = "", mod[64] = "";
	if (strlen(want) >= sizeof(lang))
		return 0;
	/* Split want: lang[_COUNTRY][.ENCODING][@MODIFIER]. */
	const char *at = strchr(want, '@');
	size_t l = strcspn(want, "_.@");
	snprintf(lang, sizeof(lang), "%.*s", (int)l, want);
	if (want[l] == '_')
		snprintf(country, sizeof(country), "%.*s", (int)strcspn(want + l + 1, ".@"),
			 want + l + 1);
	if (at)
		snprintf(mod, sizeof(mod), "%s", at + 1);
	char cand[200];
	if (*country && *mod &&
	    (snprintf(cand, sizeof(cand), "%s_%s@%s", lang, country, mod), !strcmp(have, cand)))
		return 4;
	if (*country && (snprintf(cand, sizeof(cand), "%s_%s", lang, country), !strcmp(have, cand)))
		return 3;
	if (*mod && (snprintf(cand, sizeof(cand), "%s@%s", lang, mod), !strcmp(have, cand)))
		return 2;
	return !strcmp(have, lang) ? 1 : 0;
}

struct parse_state {
	struct lch_app *app;
	const char *locale;
	bool in_entry, seen_group;
	char *type;
	int name_score, generic_score;
	char *why; /* the first semantic problem, for err */
	unsigned why_line;
};

static int set_string(char **field, const char *value)
{
	char *s;
	int r = lch_keyfile_unescape(value, &s);
	if (r < 0)
		return r;
	free(*field);
	*field = s;
	return 0;
}

/* A localized string key: keep the best-matching locale's value. */
static int set_localized(char **field, int *score, const char *locale_want, const char *loc,
			 const char *value)
{
	int s = loc ? locale_score(locale_want, loc) : 0;
	if (loc && !s)
		return 0;
	if (*field && s < *score)
		return 0;
	*score = s;
	return set_string(field, value);
}

static int set_bool(bool *field, const char *value)
{
	return lch_keyfile_bool(value, field);
}

static int on_key(const char *group, const char *key, const char *loc, const char *value,
		  unsigned line, void *ud)
{
	struct parse_state *st = ud;
	(void)line;
	if (!st->seen_group) {
		st->seen_group = true;
		st->in_entry = !strcmp(group, "Desktop Entry");
		if (!st->in_entry)
			return -EBADR; /* reported as "the first group must be [Desktop Entry]" */
	}
	if (strcmp(group, "Desktop Entry"))
		return 0; /* actions and vendor groups */
	struct lch_app *a = st->app;
	if (!strcmp(key, "Name"))
		return set_localized(&a->name, &st->name_score, st->locale, loc, value);
	if (!strcmp(key, "GenericName"))
		return set_localized(&a->generic_name, &st->generic_score, st->locale, loc, value);
	if (loc)
		return 0;
	if (!strcmp(key, "Type"))
		return set_string(&st->type, value);
	if (!strcmp(key, "Icon"))
		return set_string(&a->icon, value);
	if (!strcmp(key, "Exec"))
		return set_string(&a->exec_line, value);
	if (!strcmp(key, "TryExec"))
		return set_string(&a->try_exec, value);
	if (!strcmp(key, "Path"))
		return set_string(&a->path, value);
	if (!strcmp(key, "MimeType"))
		return lch_keyfile_split_list(value, &a->mime_types);
	if (!strcmp(key, "OnlyShowIn"))
		return lch_keyfile_split_list(value, &a->only_show_in);
	if (!strcmp(key, "NotShowIn"))
		return lch_keyfile_split_list(value, &a->not_show_in);
	if (!strcmp(key, "Terminal"))
		return set_bool(&a->terminal, value);
	if (!strcmp(key, "NoDisplay"))
		return set_bool(&a->no_display, value);
	if (!strcmp(key, "Hidden"))
		return set_bool(&a->hidden, value);
	return 0;
}

/* The line of the first key named `key` in text, for errors about a
 * value (the parser has moved on by then); 1 when not found. */
static unsigned line_of(const char *text, size_t len, const char *key)
{
	unsigned line = 1;
	size_t kl = strlen(key);
	for (size_t i = 0; i < len; i++) {
		if ((i == 0 || text[i - 1] == '\n') && len - i > kl && !memcmp(text + i, key, kl) &&
		    (text[i + kl] == '=' || text[i + kl] == ' '))
			return line;
		if (text[i] == '\n')
			line++;
	}
	return 1;
}

int lch_desktop_parse(const char *text, size_t len, const char *file, const char *locale,
		      struct lch_app **out, char *err, size_t esz)
{
	*out = NULL;
	_hv_cleanup_(lch_app_freep) struct lch_app *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	struct parse_state st = {.app = a, .locale = locale};
	int r = lch_keyfile_parse(text, len, file, 0, on_key, &st, err, esz);
	_hv_free_ char *type = st.type;
	if (r < 0) {
		/* on_key's -EBADR came back as the keyfile's "FILE:LINE: <strerror>". */
		char *colon = err ? strrchr(err, ':') : NULL;
		if (colon && st.seen_group && !st.in_entry)
			snprintf(colon, esz - (size_t)(colon - err),
				 ": the first group must be [Desktop Entry]");
		return r;
	}
	if (!st.seen_group) {
		snprintf(err, esz, "%s:1: no [Desktop Entry] group", file);
		return -EINVAL;
	}
	if (!a->hidden) {
		if (!type) {
			snprintf(err, esz, "%s:1: no Type key", file);
			return -EINVAL;
		}
		if (strcmp(type, "Application"))
			return 0;
		if (!a->name) {
			snprintf(err, esz, "%s:1: no Name key", file);
			return -EINVAL;
		}
		if (!a->exec_line) {
			snprintf(err, esz, "%s:1: no Exec key (D-Bus activation is not supported)",
				 file);
			return -EINVAL;
		}
		char why[160];
		if (lch_exec_parse(a->exec_line, &a->exec, why, sizeof(why)) < 0) {
			snprintf(err, esz, "%s:%u: Exec: %s", file, line_of(text, len, "Exec"),
				 why);
			return -EINVAL;
		}
	}
	if (!(a->file = strdup(file)))
		return -ENOMEM;
	*out = HV_TAKE_PTR(a);
	return 0;
}

static bool list_has_desktop(const hv_strv *l, const char *desktops)
{
	if (!desktops)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i]);
		for (const char *d = desktops; *d;) {
			size_t dl = strcspn(d, ":");
			if (dl == n && !strncmp(d, l->v[i], n))
				return true;
			d += dl;
			if (*d)
				d++;
		}
	}
	return false;
}

bool lch_app_shown_in(const struct lch_app *a, const char *desktops)
{
	if (a->no_display)
		return false;
	if (a->only_show_in.n && !list_has_desktop(&a->only_show_in, desktops))
		return false;
	return !list_has_desktop(&a->not_show_in, desktops);
}

bool lch_find_program(const char *name)
{
	if (!*name)
		return false;
	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	char buf[4096];
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");
		if (n &&
		    snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, name) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		p += n;
		if (*p)
			p++;
	}
	return false;
}
