/* rules.c — load DeviceMapper's rule files and match devices against them.
 * The files are INI (inih, as service definitions are); a reader of ours
 * counts lines, so every error names file:line, drops its own rule only,
 * and loading goes on. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <ini.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <haven/log.h>

#include "rules.h"

typedef struct load_ctx {
	const char *file;
	FILE *f;
	int line;
	bool new_section; /* the reader saw a "[…]" line */
	struct dm_rules *rules;
	struct dm_rule *cur; /* NULL: the current section is already in error */
	bool cur_bad;
	bool oom;
} load_ctx;

static void rule_clear(struct dm_rule *r)
{
	free(r->name);
	free(r->file);
	free(r->subsystem);
	free(r->kernel);
	for (size_t i = 0; i < r->nmatches; i++) {
		free(r->matches[i].key);
		free(r->matches[i].glob);
	}
	hv_strv_clear(&r->symlinks);
	hv_strv_clear(&r->setenv);
	memset(r, 0, sizeof(*r));
}

void dm_rules_free(struct dm_rules *rules)
{
	for (size_t i = 0; i < rules->n; i++)
		rule_clear(&rules->v[i]);
	free(rules->v);
	memset(rules, 0, sizeof(*rules));
}

__attribute__((format(printf, 2, 3))) static void fail(load_ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hv_log_error("%s:%d: %s", c->file, c->line, msg);
	c->rules->errors++;
	c->cur_bad = true;
}

static char *reader(char *str, int num, void *stream)
{
	load_ctx *c = stream;
	if (!fgets(str, num, c->f))
		return NULL;
	c->line++;
	size_t len = strlen(str);
	if (len && str[len - 1] != '\n' && !feof(c->f)) {
		fail(c, "line too long (max %d bytes)", num - 2);
		int ch;
		while ((ch = fgetc(c->f)) != EOF && ch != '\n')
			;
		str[0] = '\0';
	}
	const char *p = str + strspn(str, " \t");
	if (*p == '[')
		c->new_section = true;
	return str;
}

/* The rule being read ends: keep it if it is whole and safe. */
static void finish_rule(load_ctx *c)
{
	struct dm_rule *r = c->cur;
	if (!r)
		return;
	c->cur = NULL;
	if (!c->cur_bad && r->set_mode && (r->mode & 0006) && !r->allow_world) {
		hv_log_error("%s:%d: rule [%s] gives the device to everyone (mode %04o): "
			     "refused without AllowWorld=true", r->file, r->line, r->name, (unsigned)r->mode);
		c->rules->errors++;
		c->cur_bad = true;
	}
	if (c->cur_bad) {
		rule_clear(r);
		c->rules->n--;
	}
}

static int start_rule(load_ctx *c, const char *section)
{
	finish_rule(c);
	c->cur_bad = false;
	if (c->rules->n == DM_RULES_MAX) {
		fail(c, "more than %d rules: the rest is ignored", DM_RULES_MAX);
		return 0;
	}
	if (c->rules->n % 16 == 0) {
		struct dm_rule *v = realloc(c->rules->v, (c->rules->n + 16) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->rules->v = v;
	}
	struct dm_rule *r = &c->rules->v[c->rules->n++];
	memset(r, 0, sizeof(*r));
	r->name = strdup(section);
	r->file = strdup(c->file);
	r->line = c->line;
	c->cur = r;
	return r->name && r->file ? 0 : -ENOMEM;
}

/* "ATTR{name}" → name (malloc'd) when key has that prefix; NULL otherwise. */
static char *braced(const char *key, const char *prefix)
{
	size_t n = strlen(prefix), len = strlen(key);
	if (strncmp(key, prefix, n) || key[n] != '{' || len < n + 3 || key[len - 1] != '}')
		return NULL;
	return strndup(key + n + 1, len - n - 2);
}

static int set_str(load_ctx *c, char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
	(void)c;
}

static int add_match(load_ctx *c, enum dm_match_kind kind, char *key, const char *glob)
{
	struct dm_rule *r = c->cur;
	bool ok = kind == DM_MATCH_ENV ? !strchr(key, '=') : dm_dev_path_ok(key);
	if (!ok || !*key) {
		fail(c, "%s{%s}: not a valid %s name", kind == DM_MATCH_ENV ? "ENV" : "ATTR", key,
		     kind == DM_MATCH_ENV ? "property" : "attribute");
		free(key);
		return 0;
	}
	if (r->nmatches == DM_RULE_MAX_MATCHES) {
		fail(c, "more than %d ATTR/ENV matches in one rule", DM_RULE_MAX_MATCHES);
		free(key);
		return 0;
	}
	char *g = strdup(glob);
	if (!g) {
		free(key);
		return -ENOMEM;
	}
	r->matches[r->nmatches++] = (struct dm_match){kind, key, g};
	return 0;
}

static int set_mode(load_ctx *c, const char *v)
{
	char *end;
	errno = 0;
	unsigned long m = strtoul(v, &end, 8);
	if (!*v || *end || errno || m > 0777) {
		fail(c, "MODE=%s: an octal mode up to 0777 (no set-id or sticky bits)", v);
		return 0;
	}
	c->cur->mode = (mode_t)m;
	c->cur->set_mode = true;
	return 0;
}

static int set_owner(load_ctx *c, const char *v, bool group)
{
	uint64_t id;
	if (hv_parse_u64(v, 0x7ffffffe, &id) == 0) {
	} else if (group) {
		struct group *g = getgrnam(v);
		if (!g) {
			fail(c, "GROUP=%s: no such group", v);
			return 0;
		}
		id = g->gr_gid;
	} else {
		struct passwd *p = getpwnam(v);
		if (!p) {
			fail(c, "OWNER=%s: no such user", v);
			return 0;
		}
		id = p->pw_uid;
	}
	if (group) {
		c->cur->group = (gid_t)id;
		c->cur->set_group = true;
	} else {
		c->cur->owner = (uid_t)id;
		c->cur->set_owner = true;
	}
	return 0;
}

static int add_symlinks(load_ctx *c, const char *v)
{
	_hv_free_ char *copy = strdup(v);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (!dm_dev_path_ok(w)) {
			fail(c, "SYMLINK=%s: a name under /dev (relative, no \"..\", \".\" or empty part)", w);
			return 0;
		}
		if (c->cur->symlinks.n == DM_RULE_MAX_SYMLINKS) {
			fail(c, "more than %d symlinks in one rule", DM_RULE_MAX_SYMLINKS);
			return 0;
		}
		if (hv_strv_push_unique(&c->cur->symlinks, w) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_setenv(load_ctx *c, char *key, const char *v)
{
	if (!*key || strchr(key, '=')) {
		fail(c, "SETENV{%s}: not a valid property name", key);
		free(key);
		return 0;
	}
	_hv_free_ char *kv = NULL;
	int r = asprintf(&kv, "%s=%s", key, v) < 0 ? -ENOMEM : hv_strv_push(&c->cur->setenv, kv);
	free(key);
	return r;
}

/* One key of the current rule. */
static int rule_key(load_ctx *c, const char *key, const char *v)
{
	struct dm_rule *r = c->cur;
	char *k;
	if (strcmp(key, "SUBSYSTEM") == 0)
		return set_str(c, &r->subsystem, v);
	if (strcmp(key, "KERNEL") == 0)
		return set_str(c, &r->kernel, v);
	if ((k = braced(key, "ATTR")))
		return add_match(c, DM_MATCH_ATTR, k, v);
	if ((k = braced(key, "ENV")))
		return add_match(c, DM_MATCH_ENV, k, v);
	if ((k = braced(key, "SETENV")))
		return add_setenv(c, k, v);
	if (strcmp(key, "OWNER") == 0 || strcmp(key, "GROUP") == 0)
		return set_owner(c, v, key[0] == 'G');
	if (strcmp(key, "MODE") == 0)
		return set_mode(c, v);
	if (strcmp(key, "SYMLINK") == 0)
		return add_symlinks(c, v);
	if (strcmp(key, "AllowWorld") == 0) {
		if (hv_parse_bool(v, &r->allow_world) < 0)
			fail(c, "AllowWorld=%s: true or false", v);
		return 0;
	}
	fail(c, "unknown key %s", key);
	return 0;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	load_ctx *c = user;
	int r = 0;
	if (c->new_section || !c->cur) {
		if (!c->new_section && !c->cur && !c->cur_bad) {
			fail(c, "%s= outside a [rule] section", key);
			return 1;
		}
		if (c->new_section) {
			c->new_section = false;
			r = start_rule(c, section);
		}
	}
	if (r == 0 && c->cur && !c->cur_bad)
		r = rule_key(c, key, value);
	if (r < 0)
		c->oom = true;
	return 1; /* go on: errors are counted, not fatal */
}

static int load_stream(load_ctx *c)
{
	int r = ini_parse_stream(reader, c, handler, c);
	finish_rule(c);
	if (c->oom || r == -2)
		return -ENOMEM;
	if (r > 0 && !c->rules->errors) {
		/* inih's own syntax errors (a line with neither '=' nor ']'). */
		hv_log_error("%s:%d: not a section, a key=value or a comment", c->file, r);
		c->rules->errors++;
	}
	return 0;
}

int dm_rules_load_string(const char *name, const char *text, struct dm_rules *rules)
{
	load_ctx c = {.file = name, .rules = rules};
	c.f = fmemopen((void *)text, strlen(text), "r");
	if (!c.f)
		return -errno;
	int r = load_stream(&c);
	fclose(c.f);
	return r;
}

static int ini_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".ini") == 0;
}

int dm_rules_load_dir(const char *dir, struct dm_rules *rules)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, ini_file, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : hv_log_errno(-errno, "Failed to read rules in %s", dir);
	int r = 0;
	for (int i = 0; i < n; i++) {
		_hv_free_ char *path = NULL;
		if (r == 0 && asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0)
			r = -ENOMEM;
		load_ctx c = {.file = path, .rules = rules};
		if (r == 0 && !(c.f = fopen(path, "re")))
			hv_log_error("%s: %m", path), rules->errors++;
		if (c.f) {
			r = load_stream(&c);
			fclose(c.f);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

/* --- matching ------------------------------------------------------------ */

static bool glob_ok(const char *glob, const char *s)
{
	return !glob || (s && fnmatch(glob, s, 0) == 0);
}

static bool rule_matches(const struct dm_rule *r, const struct dm_uevent *ev, dm_attr_fn attr, void *ud)
{
	if (!glob_ok(r->subsystem, ev->subsystem) || !glob_ok(r->kernel, ev->name))
		return false;
	for (size_t i = 0; i < r->nmatches; i++) {
		const struct dm_match *m = &r->matches[i];
		if (m->kind == DM_MATCH_ENV) {
			if (!glob_ok(m->glob, dm_uevent_get(ev, m->key)))
				return false;
			continue;
		}
		_hv_free_ char *v = attr ? attr(ev->devpath, m->key, ud) : NULL;
		if (!glob_ok(m->glob, v))
			return false;
	}
	return true;
}

void dm_outcome_clear(struct dm_outcome *o)
{
	hv_strv_clear(&o->symlinks);
	hv_strv_clear(&o->setenv);
	memset(o, 0, sizeof(*o));
}

int dm_rules_apply(const struct dm_rules *rules, const struct dm_uevent *ev, dm_attr_fn attr,
		   void *ud, struct dm_outcome *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < rules->n; i++) {
		const struct dm_rule *r = &rules->v[i];
		if (!rule_matches(r, ev, attr, ud))
			continue;
		out->matched++;
		if (r->set_owner)
			out->set_owner = true, out->owner = r->owner;
		if (r->set_group)
			out->set_group = true, out->group = r->group;
		if (r->set_mode)
			out->set_mode = true, out->mode = r->mode;
		for (size_t j = 0; j < r->symlinks.n; j++)
			if (hv_strv_push_unique(&out->symlinks, r->symlinks.v[j]) < 0)
				return -ENOMEM;
		for (size_t j = 0; j < r->setenv.n; j++)
			if (hv_strv_push(&out->setenv, r->setenv.v[j]) < 0)
				return -ENOMEM;
	}
	return 0;
}
