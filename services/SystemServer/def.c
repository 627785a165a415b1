/* def.c — reading service definitions (INI via inih) into ss_svc_def.
 *
 * Two steps per file: inih feeds raw key/value lines (with their line
 * numbers, counted by our reader) into per-section lists; then each section
 * is interpreted as a whole, because some keys constrain others
 * (AcceptSocketConnections needs exactly one Socket, …). Finally the
 * dependency graph of the whole set is checked (missing names, cycles).
 * Every problem is logged as "file:line: message" and only invalidates its
 * own section.
 */
#include "def.h"
#include "netsock.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <grp.h>
#include <ini.h>
#include <linux/capability.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/sandbox.h>
#include <haven/util.h>

/* --- small string lists ------------------------------------------------- */

int ss_split_words(const char *s, hv_strv *out)
{
	size_t len = strlen(s);
	_hv_free_ char *w = malloc(len + 1);
	if (!w)
		return -ENOMEM;
	const char *p = s;
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			return 0;
		size_t n = 0;
		while (*p && !isspace((unsigned char)*p)) {
			if (*p == '\'') {
				const char *e = strchr(p + 1, '\'');
				if (!e)
					return -EINVAL;
				memcpy(w + n, p + 1, (size_t)(e - p - 1));
				n += (size_t)(e - p - 1);
				p = e + 1;
			} else if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					w[n++] = *p++;
				}
				if (*p != '"')
					return -EINVAL;
				p++;
			} else if (*p == '\\') {
				if (!p[1])
					return -EINVAL;
				w[n++] = p[1];
				p += 2;
			} else {
				w[n++] = *p++;
			}
		}
		w[n] = '\0';
		int r = hv_strv_push(out, w);
		if (r < 0)
			return r;
	}
}

/* --- raw sections --------------------------------------------------------- */

typedef struct raw_kv {
	char *key, *value;
	int line;
} raw_kv;

typedef struct raw_section {
	char *name;
	int line;
	bool bad; /* a syntax problem inside it */
	raw_kv *kv;
	size_t n;
} raw_section;

typedef struct parse_ctx {
	FILE *f;
	const char *file;
	int line;
	raw_section *secs;
	size_t nsecs;
	raw_section *cur;
	unsigned errors;
} parse_ctx;

__attribute__((format(printf, 3, 0))) static void vreport(const char *file, int line,
							  const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	hv_log_error("%s:%d: %s", file, line, msg);
}

__attribute__((format(printf, 3, 4))) static void report(const char *file, int line,
							 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(file, line, fmt, ap);
	va_end(ap);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* inih's reader: counts lines and spots what inih would drop silently
 * (section headers, over-long and malformed lines). */
static char *reader(char *str, int num, void *stream)
{
	parse_ctx *c = stream;
	if (!fgets(str, num, c->f))
		return NULL;
	c->line++;
	size_t len = strlen(str);
	if (len && str[len - 1] != '\n' && !feof(c->f)) {
		report(c->file, c->line, "line too long (max %d bytes)", num - 2);
		c->errors++;
		if (c->cur)
			c->cur->bad = true;
		int ch;
		while ((ch = fgetc(c->f)) != EOF && ch != '\n')
			;
	}
	char buf[INI_MAX_LINE + 1];
	snprintf(buf, sizeof buf, "%s", str);
	char *t = trim(buf);
	if (c->line == 1 && (unsigned char)t[0] == 0xEF)
		t += 3; /* BOM */
	if (!*t || *t == ';' || *t == '#')
		return str;
	if (*t == '[') {
		char *e = strchr(t, ']');
		if (!e) {
			report(c->file, c->line, "unterminated section header");
			c->errors++;
			c->cur = NULL;
			return str;
		}
		*e = '\0';
		raw_section *s = realloc(c->secs, (c->nsecs + 1) * sizeof *s);
		if (!s)
			return NULL;
		c->secs = s;
		c->cur = &s[c->nsecs++];
		*c->cur = (raw_section){.name = strdup(trim(t + 1)), .line = c->line};
		if (!c->cur->name)
			return NULL;
		if (!*c->cur->name) {
			report(c->file, c->line, "empty section name");
			c->errors++;
			c->cur->bad = true;
		}
		return str;
	}
	if (!isspace((unsigned char)str[0]) && !strchr(t, '=') && !strchr(t, ':')) {
		report(c->file, c->line, "expected Key=Value, got \"%s\"", t);
		c->errors++;
		if (c->cur)
			c->cur->bad = true;
	}
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	parse_ctx *c = user;
	if (!c->cur) {
		report(c->file, c->line, "key \"%s\" outside of a [Service] section", name);
		c->errors++;
		return 1;
	}
	raw_section *s = c->cur;
	raw_kv *kv = realloc(s->kv, (s->n + 1) * sizeof *kv);
	if (!kv)
		return 0;
	s->kv = kv;
	kv[s->n] = (raw_kv){.key = strdup(name), .value = strdup(value), .line = c->line};
	if (!kv[s->n].key || !kv[s->n].value)
		return 0;
	s->n++;
	return 1;
}

static void raw_free(raw_section *secs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < secs[i].n; j++) {
			free(secs[i].kv[j].key);
			free(secs[i].kv[j].value);
		}
		free(secs[i].kv);
		free(secs[i].name);
	}
	free(secs);
}

/* --- value parsers ------------------------------------------------------- */

static int parse_seconds(const char *v, uint64_t *ns)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(d) || d < 0 || d > 1e6)
		return -EINVAL;
	*ns = (uint64_t)(d * 1e9);
	return 0;
}

const char *const ss_limit_keys[SS_LIMIT_COUNT] = {
	[SS_LIMIT_AS] = "LimitAS", [SS_LIMIT_CPU] = "LimitCPU", [SS_LIMIT_NOFILE] = "LimitNOFILE",
	[SS_LIMIT_CORE] = "LimitCORE", [SS_LIMIT_DATA] = "LimitDATA",
};
const int ss_limit_resources[SS_LIMIT_COUNT] = {
	[SS_LIMIT_AS] = RLIMIT_AS, [SS_LIMIT_CPU] = RLIMIT_CPU, [SS_LIMIT_NOFILE] = RLIMIT_NOFILE,
	[SS_LIMIT_CORE] = RLIMIT_CORE, [SS_LIMIT_DATA] = RLIMIT_DATA,
};

static int parse_limit_value(enum ss_limit which, const char *v, uint64_t *out)
{
	if (strcmp(v, "infinity") == 0)
		return *out = RLIM_INFINITY, 0;
	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned shift = 0;
	if (which == SS_LIMIT_CPU) {
		if (*end == 's')
			end++;
	} else if (*end) {
		static const char units[] = "KMGTPE";
		const char *u = strchr(units, *end);
		if (!u)
			return -EINVAL;
		shift = 10u * (unsigned)(u - units + 1);
		end++;
	}
	if (*end)
		return -EINVAL;
	/* A value that does not fit is a typo, not "infinity". */
	if (shift && n > (UINT64_MAX >> shift))
		return -EINVAL;
	n <<= shift;
	if (n >= RLIM_INFINITY)
		return -EINVAL;
	*out = n;
	return 0;
}

int ss_parse_limit(enum ss_limit which, const char *v, ss_svc_limit *out)
{
	char buf[64];
	if ((unsigned)which >= SS_LIMIT_COUNT || strlen(v) >= sizeof buf)
		return -EINVAL;
	strcpy(buf, v);
	char *colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	ss_svc_limit l = {.set = true};
	int r = parse_limit_value(which, buf, &l.soft);
	if (r == 0)
		r = colon ? parse_limit_value(which, colon + 1, &l.hard) : (l.hard = l.soft, 0);
	if (r < 0)
		return r;
	if (l.soft > l.hard) /* RLIM_INFINITY is the largest value */
		return -ERANGE;
	*out = l;
	return 0;
}

/* Comma-separated list into l; empty items are an error. */
static int parse_list(const char *v, hv_strv *l)
{
	_hv_free_ char *copy = strdup(v);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	size_t before = l->n;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *t = trim(tok);
		if (!*t)
			return -EINVAL;
		int r = hv_strv_push(l, t);
		if (r < 0)
			return r;
	}
	return l->n > before ? 0 : -EINVAL;
}

/* $HOME of the account, or NULL. */
static const char *owner_home(const ss_path_owner *who)
{
	if (who->own_env) {
		const char *h = getenv("HOME");
		if (h && h[0] == '/')
			return h;
	}
	if (who->home && who->home[0] == '/')
		return who->home;
	struct passwd *pw = getpwuid(who->uid);
	return pw && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

/* The value of a variable a definition may name; -EINVAL if unknown,
 * -ENOENT if the account has no home for it. XDG defaults as in the XDG
 * Base Directory spec (a relative value in the environment is ignored). */
static int expand_var(const char *name, size_t len, const ss_path_owner *who, FILE *m)
{
	static const struct {
		const char *var, *under_home;
	} xdg[] = {
		{"XDG_CONFIG_HOME", ".config"},
		{"XDG_DATA_HOME", ".local/share"},
		{"XDG_STATE_HOME", ".local/state"},
		{"XDG_CACHE_HOME", ".cache"},
	};
	if (len == 15 && strncmp(name, "XDG_RUNTIME_DIR", len) == 0) {
		const char *x = who->own_env ? getenv("XDG_RUNTIME_DIR") : NULL;
		if (x && x[0] == '/')
			fputs(x, m);
		else
			fprintf(m, "/run/user/%lu", (unsigned long)who->uid);
		return 0;
	}
	const char *home = owner_home(who);
	if (len == 4 && strncmp(name, "HOME", len) == 0) {
		if (!home)
			return -ENOENT;
		fputs(home, m);
		return 0;
	}
	for (size_t i = 0; i < HV_ARRAY_SIZE(xdg); i++) {
		if (strlen(xdg[i].var) != len || strncmp(name, xdg[i].var, len) != 0)
			continue;
		const char *x = who->own_env ? getenv(xdg[i].var) : NULL;
		if (x && x[0] == '/')
			fputs(x, m);
		else if (home)
			fprintf(m, "%s/%s", home, xdg[i].under_home);
		else
			return -ENOENT;
		return 0;
	}
	return -EINVAL;
}

int ss_expand_path(const char *tmpl, const ss_def_env *env, const ss_path_owner *who, char **out,
		   char *bad, size_t bad_size)
{
	/* SerenityOS portal forms map onto our portal dir, so its definitions
	 * keep working unchanged. */
	static const char *const serenity[] = {"/tmp/session/%sid/portal/", "/tmp/portal/"};
	ss_path_owner self = {.uid = getuid(), .own_env = true};
	if (!who)
		who = &self;
	char *buf = NULL;
	size_t len = 0;
	int r = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return -ENOMEM;
	const char *p = tmpl;
	for (size_t i = 0; i < HV_ARRAY_SIZE(serenity); i++) {
		size_t sl = strlen(serenity[i]);
		if (strncmp(p, serenity[i], sl) == 0) {
			fprintf(m, "%s/", env->portal_dir);
			p += sl;
			break;
		}
	}
	if (p == tmpl && p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
		/* ~ is $HOME, at the start only (as in a shell). */
		r = expand_var("HOME", 4, who, m);
		if (r < 0 && bad)
			snprintf(bad, bad_size, "~");
		p++;
	} else if (p == tmpl && *p != '/' && *p != '%' && *p != '$') {
		fprintf(m, "%s/", env->portal_dir); /* relative: inside the portal dir */
	}
	while (*p && r == 0) {
		if (strncmp(p, "%sid", 4) == 0) {
			fprintf(m, "%ld", (long)getsid(0));
			p += 4;
		} else if (strncmp(p, "%uid", 4) == 0) {
			fprintf(m, "%lu", (unsigned long)who->uid);
			p += 4;
		} else if (strncmp(p, "%portal", 7) == 0) {
			fputs(env->portal_dir, m);
			p += 7;
		} else if (strncmp(p, "%sysconfdir", 11) == 0) {
			/* Where this installation keeps read-only settings
			 * (ConfigServer's defaults): the manager's own prefix. */
			fputs(HAVEN_SYSCONFDIR, m);
			p += 11;
		} else if (*p == '$') {
			/* $NAME or ${NAME}; anything else after a '$' is an error,
			 * never a literal: a typo must not become a path. */
			bool brace = p[1] == '{';
			const char *name = p + 1 + brace;
			size_t n = 0;
			while (isalnum((unsigned char)name[n]) || name[n] == '_')
				n++;
			if (n == 0 || (brace && name[n] != '}'))
				r = -EINVAL;
			else
				r = expand_var(name, n, who, m);
			if (r < 0 && bad)
				snprintf(bad, bad_size, "%.*s", (int)(n + 1 + brace + (brace && name[n] == '}')), p);
			p = name + n + (brace && name[n] == '}');
		} else {
			fputc(*p++, m);
		}
	}
	if (fclose(m) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}

int ss_find_executable(const char *name, const char *service_path, char **out)
{
	_hv_free_ char *sp = strdup(service_path ? service_path : "");
	if (!sp)
		return -ENOMEM;
	char *save = NULL;
	for (char *dir = strtok_r(sp, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		glob_t g;
		if (glob(dir, GLOB_NOSORT | GLOB_ONLYDIR, NULL, &g) != 0)
			continue;
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char *cand = NULL;
			if (asprintf(&cand, "%s/%s", g.gl_pathv[i], name) < 0) {
				globfree(&g);
				return -ENOMEM;
			}
			struct stat st;
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
				globfree(&g);
				*out = cand;
				return 0;
			}
			free(cand);
		}
		globfree(&g);
	}
	return -ENOENT;
}

/* --- interpreting one section ------------------------------------------- */

void ss_svc_def_free(ss_svc_def *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->file);
	free(d->executable);
	hv_strv_clear(&d->args);
	free(d->workdir);
	hv_strv_clear(&d->env);
	free(d->stdio_path);
	hv_strv_clear(&d->sockets);
	free(d->socket_modes);
	free(d->user_name);
	hv_strv_clear(&d->requires);
	hv_strv_clear(&d->after);
	hv_strv_clear(&d->modes);
	free(d->pledge);
	free(d->exec_pledge);
	hv_strv_clear(&d->unveil);
	free(d->fingerprint);
	free(d);
}

static int resolve_user(const char *v, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(v);
	int64_t n;
	if (!pw && hv_parse_i64(v, 0, UINT32_MAX - 1, &n) == 0)
		pw = getpwuid((uid_t)n);
	if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		return 0;
	}
	if (hv_parse_i64(v, 0, UINT32_MAX - 1, &n) == 0) {
		*uid = (uid_t)n;
		*gid = (gid_t)n;
		return 0;
	}
	return -ENOENT;
}

static int resolve_group(const char *v, gid_t *gid)
{
	struct group *gr = getgrnam(v);
	int64_t n;
	if (gr)
		return *gid = gr->gr_gid, 0;
	if (hv_parse_i64(v, 0, UINT32_MAX - 1, &n) == 0)
		return *gid = (gid_t)n, 0;
	return -ENOENT;
}

/* What interpreting one section needs besides the definition: the state
 * some keys leave for the checks that follow the last key. */
typedef struct def_ctx {
	ss_svc_def *d;
	const char *file;
	const ss_def_env *env;
	ss_path_owner owner; /* whose $HOME and XDG dirs the paths mean */
	char *owner_home;
	int line;	  /* of the key being read */
	char bad_var[64]; /* what an expansion failed on, "" if none */
	const char *exe;  /* Executable=, resolved once all keys are read */
	int exe_line;
	hv_strv perms;	  /* SocketPermissions=, applied once the sockets are known */
	bool lazy_set;	  /* Lazy= was given (AcceptSocketConnections implies it) */
	int sandbox_line; /* the last Pledge/ExecPledge/Unveil, 0 if none */
} def_ctx;

static void def_ctx_done(def_ctx *c)
{
	free(c->owner_home);
	hv_strv_clear(&c->perms);
}

/* Report a problem of the section and mark it invalid. */
__attribute__((format(printf, 3, 4))) static void bad(def_ctx *c, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(c->file, line, fmt, ap);
	va_end(ap);
	c->d->invalid = true;
}

static int expand(def_ctx *c, const char *tmpl, char **out)
{
	return ss_expand_path(tmpl, c->env, &c->owner, out, c->bad_var, sizeof c->bad_var);
}

/* One row per key, as systemd's ConfigTableItem: the parser gets the
 * field at `offset` (in the definition, or with KEY_IN_CTX in def_ctx). A
 * parser returns 0, a negative errno that interpret_key reports (with the
 * file and line), or KEY_REPORTED when it said more precisely what is
 * wrong. */
enum {
	KEY_LIST = 1 << 0,    /* may be given several times (values add up) */
	KEY_SANDBOX = 1 << 1, /* checked by lib/sandbox once the section is read */
	KEY_IN_CTX = 1 << 2,  /* offset is into def_ctx */
};
#define KEY_REPORTED 1

typedef struct key_item key_item;
typedef int key_parser(def_ctx *c, const key_item *k, const char *v, void *field);
struct key_item {
	const char *name;
	key_parser *parse;
	size_t offset;
	unsigned flags;
	int arg;	/* key_limit: which limit */
	int64_t lo, hi; /* key_int, key_unsigned: the range */
};

static int key_bool(def_ctx *c, const key_item *k, const char *v, void *field)
{
	return hv_parse_bool(v, field);
}
static int key_seconds(def_ctx *c, const key_item *k, const char *v, void *field)
{
	return parse_seconds(v, field);
}
static int key_list(def_ctx *c, const key_item *k, const char *v, void *field)
{
	return parse_list(v, field);
}
static int key_words(def_ctx *c, const key_item *k, const char *v, void *field)
{
	return ss_split_words(v, field);
}

static int key_lazy(def_ctx *c, const key_item *k, const char *v, void *field)
{
	c->lazy_set = true;
	return hv_parse_bool(v, field);
}

static int key_string(def_ctx *c, const key_item *k, const char *v, void *field)
{
	char **dst = field;
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

static int key_int(def_ctx *c, const key_item *k, const char *v, void *field)
{
	int64_t n;
	int r = hv_parse_i64(v, k->lo, k->hi, &n);
	if (r == 0)
		*(int *)field = (int)n;
	return r;
}

static int key_unsigned(def_ctx *c, const key_item *k, const char *v, void *field)
{
	int64_t n;
	int r = hv_parse_i64(v, k->lo, k->hi, &n);
	if (r == 0)
		*(unsigned *)field = (unsigned)n;
	return r;
}

static int key_executable(def_ctx *c, const key_item *k, const char *v, void *field)
{
	*(const char **)field = v;
	c->exe_line = c->line;
	return 0;
}

static int key_deps(def_ctx *c, const key_item *k, const char *v, void *field)
{
	if (!c->d->deps_line)
		c->d->deps_line = c->line;
	return parse_list(v, field);
}

/* An absolute directory after expansion. */
static int key_workdir(def_ctx *c, const key_item *k, const char *v, void *field)
{
	char **dst = field;
	free(*dst);
	*dst = NULL;
	int r = expand(c, v, dst);
	return r == 0 && (*dst)[0] != '/' ? -EINVAL : r;
}

/* Words, each NAME=VALUE. */
static int key_environment(def_ctx *c, const key_item *k, const char *v, void *field)
{
	_hv_cleanup_(hv_strv_clear) hv_strv w = { 0 };
	int r = ss_split_words(v, &w);
	for (size_t j = 0; r == 0 && j < w.n; j++) {
		char *eq = strchr(w.v[j], '=');
		r = eq && eq != w.v[j] ? hv_strv_push(field, w.v[j]) : -EINVAL;
	}
	return r;
}

/* Names of an enum's values; NULL-terminated. */
typedef struct key_name {
	const char *name;
	int value;
} key_name;

static int lookup_name(const key_name *names, const char *v, int *out)
{
	for (; names->name; names++)
		if (strcmp(v, names->name) == 0)
			return *out = names->value, 0;
	return -EINVAL;
}

static int key_stdio(def_ctx *c, const key_item *k, const char *v, void *field)
{
	static const key_name names[] = { { "log", SS_STDIO_LOG },
					  { "null", SS_STDIO_NULL },
					  { "inherit", SS_STDIO_INHERIT },
					  { NULL, 0 } };
	int x;
	if (lookup_name(names, v, &x) == 0)
		return *(enum ss_stdio *)field = (enum ss_stdio)x, 0;
	if (v[0] != '/' && v[0] != '%' && v[0] != '$')
		return -EINVAL;
	*(enum ss_stdio *)field = SS_STDIO_FILE;
	free(c->d->stdio_path);
	c->d->stdio_path = NULL;
	return expand(c, v, &c->d->stdio_path);
}

static int key_keepalive(def_ctx *c, const key_item *k, const char *v, void *field)
{
	static const key_name names[] = { { "on-failure", SS_KEEPALIVE_ON_FAILURE },
					  { "always", SS_KEEPALIVE_ALWAYS },
					  { NULL, 0 } };
	int x;
	bool b;
	int r = lookup_name(names, v, &x);
	if (r < 0 && (r = hv_parse_bool(v, &b)) == 0)
		x = b ? SS_KEEPALIVE_ALWAYS : SS_KEEPALIVE_NO;
	if (r == 0)
		*(enum ss_keepalive *)field = (enum ss_keepalive)x;
	return r;
}

static int key_readiness(def_ctx *c, const key_item *k, const char *v, void *field)
{
	static const key_name names[] = { { "exec", SS_READY_EXEC },
					  { "notify", SS_READY_NOTIFY },
					  { "socket", SS_READY_SOCKET },
					  { NULL, 0 } };
	int x;
	int r = lookup_name(names, v, &x);
	if (r == 0)
		*(enum ss_readiness *)field = (enum ss_readiness)x;
	return r;
}

static int key_sockets(def_ctx *c, const key_item *k, const char *v, void *field)
{
	_hv_cleanup_(hv_strv_clear) hv_strv l = { 0 };
	int r = parse_list(v, &l);
	for (size_t j = 0; r == 0 && j < l.n; j++) {
		_hv_free_ char *p = NULL;
		r = expand(c, l.v[j], &p);
		if (r == 0)
			r = strlen(p) >= 108 ? -ENAMETOOLONG
					     : hv_strv_push(field, p); /* sun_path */
	}
	return r;
}

/* ListenStream= / ListenDatagram= (k->arg: the socket type): network
 * sockets, kept in the same list as the Unix paths (netsock.h). */
static int key_listen(def_ctx *c, const key_item *k, const char *v, void *field)
{
	_hv_cleanup_(hv_strv_clear) hv_strv l = { 0 };
	int r = parse_list(v, &l);
	for (size_t j = 0; r == 0 && j < l.n; j++) {
		char spec[SS_NETSOCK_SPEC_MAX];
		r = ss_netsock_parse(k->arg, l.v[j], spec);
		if (r == -ERANGE || r == -EINVAL) {
			bad(c, c->line, "[%s] %s=%s: %s", c->d->name, k->name, l.v[j],
			    r == -ERANGE ? "port out of range (1-65535)"
					 : "bad address (PORT, IPV4:PORT or [IPV6]:PORT)");
			return KEY_REPORTED;
		}
		if (hv_strv_contains(field, spec)) {
			bad(c, c->line, "[%s] %s=%s: %s is listed twice", c->d->name, k->name,
			    l.v[j], spec);
			return KEY_REPORTED;
		}
		r = hv_strv_push(field, spec);
	}
	return r;
}

/* PATH:PERMS (PATH expanded) or tcp:PORT:PERMS, which lib/sandbox checks. */
static int add_unveil(def_ctx *c, char *e, hv_strv *out)
{
	if (strncmp(e, "tcp:", 4) == 0)
		return hv_strv_push(out, e);
	char *colon = strrchr(e, ':');
	if (!colon || strspn(colon + 1, "rwxc") != strlen(colon + 1))
		return -EINVAL;
	*colon = '\0';
	_hv_free_ char *p = NULL;
	int r = expand(c, e, &p);
	if (r < 0)
		return r;
	_hv_free_ char *joined = NULL;
	if (asprintf(&joined, "%s:%s", p, colon + 1) < 0) {
		joined = NULL;
		return -ENOMEM;
	}
	return hv_strv_push(out, joined);
}

static int key_unveil(def_ctx *c, const key_item *k, const char *v, void *field)
{
	_hv_cleanup_(hv_strv_clear) hv_strv l = { 0 };
	int r = parse_list(v, &l);
	for (size_t j = 0; r == 0 && j < l.n; j++)
		r = add_unveil(c, l.v[j], field);
	return r;
}

static int key_user(def_ctx *c, const key_item *k, const char *v, void *field)
{
	ss_svc_def *d = c->d;
	d->has_user = true;
	free(d->user_name);
	d->user_name = strdup(v);
	if (resolve_user(v, &d->uid, &d->gid) < 0) {
		bad(c, c->line, "[%s] User=%s: no such user", d->name, v);
		return KEY_REPORTED;
	}
	return d->user_name ? 0 : -ENOMEM;
}

static int key_group(def_ctx *c, const key_item *k, const char *v, void *field)
{
	c->d->has_group = true;
	if (resolve_group(v, field) < 0) {
		bad(c, c->line, "[%s] Group=%s: no such group", c->d->name, v);
		return KEY_REPORTED;
	}
	return 0;
}

/* The kernel's capability names (linux/capability.h), for
 * AmbientCapabilities=. */
#define CAP_NAME(x) { #x, x }
static const key_name cap_names[] = {
	CAP_NAME(CAP_CHOWN), CAP_NAME(CAP_DAC_OVERRIDE), CAP_NAME(CAP_DAC_READ_SEARCH),
	CAP_NAME(CAP_FOWNER), CAP_NAME(CAP_FSETID), CAP_NAME(CAP_KILL), CAP_NAME(CAP_SETGID),
	CAP_NAME(CAP_SETUID), CAP_NAME(CAP_SETPCAP), CAP_NAME(CAP_LINUX_IMMUTABLE),
	CAP_NAME(CAP_NET_BIND_SERVICE), CAP_NAME(CAP_NET_BROADCAST), CAP_NAME(CAP_NET_ADMIN),
	CAP_NAME(CAP_NET_RAW), CAP_NAME(CAP_IPC_LOCK), CAP_NAME(CAP_IPC_OWNER),
	CAP_NAME(CAP_SYS_MODULE), CAP_NAME(CAP_SYS_RAWIO), CAP_NAME(CAP_SYS_CHROOT),
	CAP_NAME(CAP_SYS_PTRACE), CAP_NAME(CAP_SYS_PACCT), CAP_NAME(CAP_SYS_ADMIN),
	CAP_NAME(CAP_SYS_BOOT), CAP_NAME(CAP_SYS_NICE), CAP_NAME(CAP_SYS_RESOURCE),
	CAP_NAME(CAP_SYS_TIME), CAP_NAME(CAP_SYS_TTY_CONFIG), CAP_NAME(CAP_MKNOD),
	CAP_NAME(CAP_LEASE), CAP_NAME(CAP_AUDIT_WRITE), CAP_NAME(CAP_AUDIT_CONTROL),
	CAP_NAME(CAP_SETFCAP), CAP_NAME(CAP_MAC_OVERRIDE), CAP_NAME(CAP_MAC_ADMIN),
	CAP_NAME(CAP_SYSLOG), CAP_NAME(CAP_WAKE_ALARM), CAP_NAME(CAP_BLOCK_SUSPEND),
	CAP_NAME(CAP_AUDIT_READ), CAP_NAME(CAP_PERFMON), CAP_NAME(CAP_BPF),
	CAP_NAME(CAP_CHECKPOINT_RESTORE), { NULL, 0 }
};
#undef CAP_NAME

/* AmbientCapabilities=CAP_X CAP_Y (spaces or commas; systemd's names):
 * what a service that drops to User= keeps. */
static int key_caps(def_ctx *c, const key_item *k, const char *v, void *field)
{
	_hv_free_ char *copy = strdup(v);
	if (!copy)
		return -ENOMEM;
	uint64_t caps = 0;
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		int x;
		if (lookup_name(cap_names, w, &x) < 0) {
			bad(c, c->line, "[%s] AmbientCapabilities=%s: unknown capability \"%s\" "
			    "(names as in capabilities(7): CAP_NET_ADMIN, CAP_NET_RAW, ...)", c->d->name, v, w);
			return KEY_REPORTED;
		}
		caps |= 1ull << x;
	}
	if (!caps)
		return -EINVAL;
	*(uint64_t *)field |= caps;
	return 0;
}

/* At least a millisecond; kept in microseconds (WATCHDOG_USEC). */
static int key_watchdog(def_ctx *c, const key_item *k, const char *v, void *field)
{
	uint64_t ns;
	int r = parse_seconds(v, &ns);
	if (r == 0 && ns < 1000000)
		r = -ERANGE;
	if (r == 0)
		*(uint64_t *)field = ns / 1000;
	return r;
}

static int key_limit(def_ctx *c, const key_item *k, const char *v, void *field)
{
	int r = ss_parse_limit((enum ss_limit)k->arg, v, field);
	if (r == -ERANGE) {
		bad(c, c->line, "[%s] %s=%s: soft limit above hard limit", c->d->name, k->name, v);
		return KEY_REPORTED;
	}
	return r;
}

/* MemoryBudget=: bytes (LimitAS='s syntax, one value) or "infinity" (none). */
static int key_memory_budget(def_ctx *c, const key_item *k, const char *v, void *field)
{
	uint64_t n;
	int r = parse_limit_value(SS_LIMIT_AS, v, &n);
	if (r == 0)
		*(uint64_t *)field = n == RLIM_INFINITY ? 0 : n;
	return r;
}

const char *const ss_ipc_keys[SS_IPC_COUNT] = {
	[SS_IPC_UID_BYTES] = "IpcUidBytes", [SS_IPC_UID_FDS] = "IpcUidFds",
	[SS_IPC_UID_CONNECTIONS] = "IpcUidConnections", [SS_IPC_TOTAL_BYTES] = "IpcTotalBytes",
	[SS_IPC_TOTAL_FDS] = "IpcTotalFds", [SS_IPC_CONNECTIONS] = "IpcMaxConnections",
	[SS_IPC_FRAME_DEADLINE] = "IpcFrameDeadlineSec", [SS_IPC_IDLE_TIMEOUT] = "IpcIdleTimeoutSec",
};
const char *const ss_ipc_env_names[SS_IPC_COUNT] = {
	[SS_IPC_UID_BYTES] = "uid-bytes", [SS_IPC_UID_FDS] = "uid-fds",
	[SS_IPC_UID_CONNECTIONS] = "uid-connections", [SS_IPC_TOTAL_BYTES] = "total-bytes",
	[SS_IPC_TOTAL_FDS] = "total-fds", [SS_IPC_CONNECTIONS] = "connections",
	[SS_IPC_FRAME_DEADLINE] = "frame-deadline-ms", [SS_IPC_IDLE_TIMEOUT] = "idle-timeout-ms",
};

/* Ipc*=: bytes (LimitAS's syntax; "infinity" is 0, none), counts up to
 * 2^20 (0: none), or seconds kept as milliseconds (0: none; else at least
 * 1 ms). */
static int key_ipc(def_ctx *c, const key_item *k, const char *v, void *field)
{
	uint64_t n = 0;
	int r;
	if (k->arg == SS_IPC_UID_BYTES || k->arg == SS_IPC_TOTAL_BYTES) {
		if ((r = parse_limit_value(SS_LIMIT_AS, v, &n)) == 0 && n == RLIM_INFINITY)
			n = 0;
	} else if (k->arg == SS_IPC_FRAME_DEADLINE || k->arg == SS_IPC_IDLE_TIMEOUT) {
		if ((r = parse_seconds(v, &n)) == 0 && ((n > 0 && n < 1000000) || n / 1000000 > INT32_MAX))
			r = -ERANGE;
		n /= 1000000;
	} else {
		r = hv_parse_u64(v, 1u << 20, &n);
	}
	if (r == 0) {
		*(uint64_t *)field = n;
		c->d->ipc_set |= 1u << k->arg;
		c->d->ipc_line = c->line;
	}
	return r;
}

int ss_ipc_quota_env(const ss_svc_def *d, char **out)
{
	*out = NULL;
	if (!d->ipc_set)
		return 0;
	char buf[512];
	int n = snprintf(buf, sizeof buf, "HAVEN_IPC_QUOTAS=");
	for (int i = 0; i < SS_IPC_COUNT; i++)
		if (d->ipc_set & (1u << i))
			n += snprintf(buf + n, sizeof buf - n, "%s%s=%llu", buf[n - 1] == '=' ? "" : " ",
				      ss_ipc_env_names[i], (unsigned long long)d->ipc[i]);
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

#define KEY(n, p, field, ...)                                                                      \
	{                                                                                          \
		.name = n, .parse = p, .offset = offsetof(ss_svc_def, field), __VA_ARGS__          \
	}
#define CTX_KEY(n, p, field, fl)                                                                   \
	{                                                                                          \
		.name = n, .parse = p, .offset = offsetof(def_ctx, field),                         \
		.flags = KEY_IN_CTX | (fl)                                                         \
	}
#define LIMIT_KEY(n, which) KEY(n, key_limit, limits[which], .arg = which)
#define IPC_KEY(n, which) KEY(n, key_ipc, ipc[which], .arg = which)

static const key_item keys[] = {
	CTX_KEY("Executable", key_executable, exe, 0),
	KEY("Arguments", key_words, args),
	KEY("WorkingDirectory", key_workdir, workdir),
	KEY("Environment", key_environment, env, .flags = KEY_LIST),
	KEY("StdIO", key_stdio, stdio),
	KEY("Socket", key_sockets, sockets, .flags = KEY_LIST),
	CTX_KEY("SocketPermissions", key_list, perms, KEY_LIST),
	KEY("ListenStream", key_listen, sockets, .flags = KEY_LIST, .arg = SOCK_STREAM),
	KEY("ListenDatagram", key_listen, sockets, .flags = KEY_LIST, .arg = SOCK_DGRAM),
	KEY("Backlog", key_int, backlog, .lo = 1, .hi = 65535),
	KEY("ReusePort", key_bool, reuse_port),
	KEY("Lazy", key_lazy, lazy),
	KEY("AcceptSocketConnections", key_bool, accept),
	KEY("MultiInstance", key_bool, multi),
	KEY("PerUser", key_bool, per_user),
	KEY("KeepAlive", key_keepalive, keepalive),
	KEY("RestartSec", key_seconds, restart_ns),
	KEY("RestartMaxDelaySec", key_seconds, restart_max_ns),
	KEY("StartLimitBurst", key_unsigned, limit_burst, .lo = 1, .hi = 1000),
	KEY("StartLimitIntervalSec", key_seconds, limit_interval_ns),
	KEY("TimeoutStopSec", key_seconds, stop_timeout_ns),
	KEY("TimeoutStartSec", key_seconds, start_timeout_ns),
	KEY("User", key_user, uid), /* and gid, user_name */
	KEY("Group", key_group, gid),
	KEY("Priority", key_int, priority, .lo = -20, .hi = 19),
	KEY("Requires", key_deps, requires, .flags = KEY_LIST),
	KEY("After", key_deps, after, .flags = KEY_LIST),
	KEY("SystemModes", key_list, modes, .flags = KEY_LIST),
	KEY("Pledge", key_string, pledge, .flags = KEY_SANDBOX),
	KEY("ExecPledge", key_string, exec_pledge, .flags = KEY_SANDBOX),
	KEY("Unveil", key_unveil, unveil, .flags = KEY_LIST | KEY_SANDBOX),
	KEY("AmbientCapabilities", key_caps, ambient_caps, .flags = KEY_LIST),
	KEY("Readiness", key_readiness, readiness),
	KEY("WatchdogSec", key_watchdog, watchdog_usec),
	LIMIT_KEY("LimitAS", SS_LIMIT_AS),
	LIMIT_KEY("LimitCPU", SS_LIMIT_CPU),
	LIMIT_KEY("LimitNOFILE", SS_LIMIT_NOFILE),
	LIMIT_KEY("LimitCORE", SS_LIMIT_CORE),
	LIMIT_KEY("LimitDATA", SS_LIMIT_DATA),
	KEY("MemoryBudget", key_memory_budget, memory_budget),
	KEY("SpareInstances", key_unsigned, spares, .lo = 0, .hi = SS_MAX_SPARES),
	IPC_KEY("IpcUidBytes", SS_IPC_UID_BYTES),
	IPC_KEY("IpcUidFds", SS_IPC_UID_FDS),
	IPC_KEY("IpcUidConnections", SS_IPC_UID_CONNECTIONS),
	IPC_KEY("IpcTotalBytes", SS_IPC_TOTAL_BYTES),
	IPC_KEY("IpcTotalFds", SS_IPC_TOTAL_FDS),
	IPC_KEY("IpcMaxConnections", SS_IPC_CONNECTIONS),
	IPC_KEY("IpcFrameDeadlineSec", SS_IPC_FRAME_DEADLINE),
	IPC_KEY("IpcIdleTimeoutSec", SS_IPC_IDLE_TIMEOUT),
};
#undef KEY
#undef CTX_KEY
#undef LIMIT_KEY
#undef IPC_KEY

static const key_item *find_key(const char *name)
{
	for (size_t i = 0; i < HV_ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* The errno a parser returned, as a sentence that names the key. */
static void report_value(def_ctx *c, const char *k, const char *v, int r)
{
	const char *name = c->d->name;
	if (r == -ENOMEM)
		bad(c, c->line, "[%s] out of memory", name);
	else if (r == -EINVAL && c->bad_var[0])
		bad(c, c->line,
		    "[%s] %s: unknown variable \"%s\" in \"%s\" (known: ~ $HOME $XDG_RUNTIME_DIR "
		    "$XDG_CONFIG_HOME $XDG_DATA_HOME $XDG_STATE_HOME $XDG_CACHE_HOME %%sid %%uid "
		    "%%portal "
		    "%%sysconfdir)",
		    name, k, c->bad_var, v);
	else if (r == -ENOENT && c->bad_var[0])
		bad(c, c->line,
		    "[%s] %s: %s: the service's account (uid %lu) has no home directory", name, k,
		    c->bad_var, (unsigned long)c->owner.uid);
	else
		bad(c, c->line, "[%s] bad value for %s: \"%s\"", name, k, v);
}

/* Key i of section s: known, not repeated unless it is a list, a value
 * its parser accepts. */
static void interpret_key(def_ctx *c, const raw_section *s, size_t i)
{
	const char *k = s->kv[i].key, *v = s->kv[i].value;
	c->line = s->kv[i].line;
	c->bad_var[0] = '\0';
	const key_item *item = find_key(k);
	if (!item) {
		bad(c, c->line, "[%s] unknown key \"%s\"", c->d->name, k);
		return;
	}
	if (!(item->flags & KEY_LIST))
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->kv[j].key, k) == 0)
				bad(c, c->line, "[%s] %s set twice (first on line %d)", c->d->name,
				    k, s->kv[j].line);
	if (item->flags & KEY_SANDBOX)
		c->sandbox_line = c->line;
	char *base = item->flags & KEY_IN_CTX ? (char *)c : (char *)c->d;
	int r = item->parse(c, item, v, base + item->offset);
	if (r < 0)
		report_value(c, k, v, r);
}

/* Paths mean the account the service runs as: a root manager's User=
 * decides whose $HOME and XDG dirs they name, wherever the key is. */
static void find_owner(def_ctx *c, const raw_section *s)
{
	c->owner = (ss_path_owner){ .uid = getuid(), .own_env = true };
	for (size_t i = 0; i < s->n && c->env->root; i++) {
		struct passwd *pw;
		uid_t uid;
		gid_t gid;
		if (strcmp(s->kv[i].key, "User") != 0 || resolve_user(s->kv[i].value, &uid, &gid) < 0)
			continue;
		c->owner = (ss_path_owner){ .uid = uid, .own_env = uid == getuid() };
		free(c->owner_home);
		c->owner_home = (pw = getpwuid(uid)) ? strdup(pw->pw_dir) : NULL;
		c->owner.home = c->owner_home;
	}
}

/* Every key as read, canonical, to tell a changed definition on reload. */
static char *fingerprint(const raw_section *s)
{
	char *fp = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&fp, &len);
	if (!m)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		fprintf(m, "%s=%s\n", s->kv[i].key, s->kv[i].value);
	if (fclose(m) != 0) {
		free(fp);
		return NULL;
	}
	return fp;
}

static void check_sandbox(def_ctx *c)
{
	ss_svc_def *d = c->d;
	if (!c->sandbox_line)
		return;
	hv_sandbox_spec spec = {
		.promises = d->pledge,
		.execpromises = d->exec_pledge,
		.unveils = d->unveil.n ? (const char *const *)d->unveil.v : NULL,
	};
	if (hv_sandbox_spec_check(&spec) < 0)
		bad(c, c->sandbox_line, "[%s] invalid Pledge/ExecPledge/Unveil (see above)",
		    d->name);
}

/* MemoryBudget= admits instances by their LimitAS (see ss_unit_admits):
 * only per-connection instances are admitted, and each must have a finite
 * address-space limit that fits the budget at least once. */
static void check_memory_budget(def_ctx *c)
{
	ss_svc_def *d = c->d;
	const ss_svc_limit *as = &d->limits[SS_LIMIT_AS];
	if (!d->memory_budget)
		return;
	if (!d->accept)
		bad(c, d->line, "[%s] MemoryBudget needs AcceptSocketConnections", d->name);
	else if (!as->set || as->soft == RLIM_INFINITY)
		bad(c, d->line,
		    "[%s] MemoryBudget needs a finite LimitAS (what each instance is charged)",
		    d->name);
	else if (as->soft > d->memory_budget)
		bad(c, d->line, "[%s] MemoryBudget is below LimitAS: no instance could start",
		    d->name);
}

/* What network sockets cannot do: carry the peer's uid (PerUser), be
 * accepted when they are datagram ones, be probed when they are. */
static void check_net_combinations(def_ctx *c)
{
	ss_svc_def *d = c->d;
	for (size_t i = 0; i < d->sockets.n; i++) {
		const char *s = d->sockets.v[i];
		if (!ss_netsock_is(s))
			continue;
		if (d->per_user)
			bad(c, d->line, "[%s] PerUser needs a Unix Socket, not %s", d->name, s);
		if (s[0] == 'u' && d->accept)
			bad(c, d->line, "[%s] AcceptSocketConnections cannot accept on %s", d->name, s);
		if (s[0] == 'u' && i == 0 && d->readiness == SS_READY_SOCKET)
			bad(c, d->line, "[%s] Readiness=socket needs a stream socket first", d->name);
	}
}

/* Keys that constrain each other. */
static void check_combinations(def_ctx *c)
{
	ss_svc_def *d = c->d;
	if (d->accept) {
		if (d->sockets.n != 1)
			bad(c, d->line, "[%s] AcceptSocketConnections needs exactly one Socket",
			    d->name);
		if (c->lazy_set && !d->lazy)
			bad(c, d->line, "[%s] AcceptSocketConnections implies Lazy=true", d->name);
		if (d->per_user)
			bad(c, d->line,
			    "[%s] AcceptSocketConnections and PerUser exclude each other", d->name);
		d->lazy = d->multi = true;
	}
	if (d->multi && d->keepalive != SS_KEEPALIVE_NO)
		bad(c, d->line, "[%s] MultiInstance services cannot be KeepAlive", d->name);
	if (d->lazy && d->sockets.n == 0)
		bad(c, d->line, "[%s] Lazy needs a Socket", d->name);
	if (d->per_user && d->sockets.n != 1)
		bad(c, d->line, "[%s] PerUser needs exactly one Socket", d->name);
	if (d->per_user)
		d->lazy = true;
	if (d->readiness == SS_READY_SOCKET && d->sockets.n == 0)
		bad(c, d->line, "[%s] Readiness=socket needs a Socket", d->name);
	check_net_combinations(c);
	check_memory_budget(c);
	if (d->spares && !d->accept)
		bad(c, d->line, "[%s] SpareInstances needs AcceptSocketConnections", d->name);
	if (d->ipc_set && d->sockets.n == 0)
		bad(c, d->ipc_line, "[%s] Ipc* quotas need a Socket (they apply to its clients)", d->name);
}

/* One mode per socket: the default, or SocketPermissions= (one value for
 * all, or one each). */
static int apply_socket_modes(def_ctx *c)
{
	ss_svc_def *d = c->d;
	const hv_strv *perms = &c->perms;
	d->socket_modes = calloc(d->sockets.n ? d->sockets.n : 1, sizeof(mode_t));
	if (!d->socket_modes)
		return -ENOMEM;
	for (size_t j = 0; j < d->sockets.n; j++)
		/* PerUser exists to be shared by every user: the manager keeps
		 * them apart, so its socket is open to all by default. */
		d->socket_modes[j] = c->env->user_mode ? 0600 : d->per_user ? 0666 : 0660;
	if (perms->n && perms->n != 1 && perms->n != d->sockets.n)
		bad(c, d->line, "[%s] SocketPermissions has %zu values for %zu sockets", d->name,
		    perms->n, d->sockets.n);
	for (size_t j = 0; j < perms->n && perms->n <= HV_MAX(d->sockets.n, 1); j++) {
		char *end;
		errno = 0;
		unsigned long m = strtoul(perms->v[j], &end, 8);
		if (errno || end == perms->v[j] || *end || m > 07777) {
			bad(c, d->line, "[%s] bad SocketPermissions \"%s\" (octal mode expected)",
			    d->name, perms->v[j]);
			break;
		}
		if (perms->n == 1)
			for (size_t q = 0; q < d->sockets.n; q++)
				d->socket_modes[q] = (mode_t)m;
		else
			d->socket_modes[j] = (mode_t)m;
	}
	return 0;
}

/* Executable= (or the section name, as in SerenityOS): an absolute path, a
 * path relative to the definition file, or a name on the service path.
 * -ENOMEM only; a missing program is reported and marks it invalid. */
static int resolve_executable(def_ctx *c)
{
	ss_svc_def *d = c->d;
	const char *exe = c->exe ? c->exe : d->name;
	if (strchr(exe, '/')) {
		if (exe[0] == '/') {
			d->executable = strdup(exe);
		} else {
			_hv_free_ char *dir = strdup(c->file);
			char *slash = dir ? strrchr(dir, '/') : NULL;
			if (slash)
				*slash = '\0';
			if (asprintf(&d->executable, "%s/%s", slash ? dir : ".", exe) < 0)
				d->executable = NULL;
		}
		if (d->executable && access(d->executable, X_OK) != 0)
			bad(c, c->exe_line, "[%s] Executable %s: %s", d->name, d->executable,
			    strerror(errno));
	} else if (ss_find_executable(exe, c->env->service_path, &d->executable) < 0) {
		bad(c, c->exe_line, "[%s] Executable \"%s\" not found on the service path (%s)",
		    d->name, exe, c->env->service_path ? c->env->service_path : "");
		d->executable = strdup(exe); /* kept for status; never run */
	}
	return d->executable ? 0 : -ENOMEM;
}

static ss_svc_def *def_new(const raw_section *s, const char *file)
{
	_hv_cleanup_(ss_svc_def_freep) ss_svc_def *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	*d = (ss_svc_def){
		.name = strdup(s->name),
		.file = strdup(file),
		.line = s->line,
		.invalid = s->bad,
		.restart_ns = 100000000ull,
		.restart_max_ns = 30000000000ull,
		.limit_interval_ns = 10000000000ull,
		.limit_burst = 5,
		.stop_timeout_ns = 5000000000ull,
		.start_timeout_ns = 90000000000ull,
	};
	if (!d->name || !d->file)
		return NULL;
	return HV_TAKE_PTR(d);
}

/* A section as a whole: its keys, then what depends on several of them.
 * NULL only when out of memory. */
static ss_svc_def *interpret(const raw_section *s, const char *file, const ss_def_env *env)
{
	_hv_cleanup_(ss_svc_def_freep) ss_svc_def *d = def_new(s, file);
	_hv_cleanup_(def_ctx_done)
		def_ctx c = { .d = d, .file = file, .env = env, .exe_line = s->line };
	if (!d)
		return NULL;
	find_owner(&c, s);
	for (size_t i = 0; i < s->n; i++)
		interpret_key(&c, s, i);
	d->fingerprint = fingerprint(s);
	if (!d->fingerprint)
		return NULL;
	check_sandbox(&c);
	check_combinations(&c);
	if (apply_socket_modes(&c) < 0 || resolve_executable(&c) < 0)
		return NULL;
	if (!d->workdir && !(d->workdir = strdup("/")))
		return NULL;
	return HV_TAKE_PTR(d);
}

/* --- files, directories, the set ---------------------------------------- */

ss_svc_def *ss_defs_find(const ss_def_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->defs[i] && strcmp(set->defs[i]->name, name) == 0)
			return set->defs[i];
	return NULL;
}

static int load_file(const char *path, const ss_def_env *env, ss_def_set *set)
{
	parse_ctx c = {.file = path};
	c.f = fopen(path, "re");
	if (!c.f)
		return hv_log_errno(-errno, "Failed to open %s", path);
	int r = ini_parse_stream(reader, &c, handler, &c);
	fclose(c.f);
	if (r == -2) {
		raw_free(c.secs, c.nsecs);
		return -ENOMEM;
	}
	set->errors += c.errors;
	for (size_t i = 0; i < c.nsecs; i++) {
		raw_section *s = &c.secs[i];
		ss_svc_def *prev = ss_defs_find(set, s->name);
		if (prev) {
			report(path, s->line, "service [%s] defined again (first at %s:%d); ignored", s->name,
			       prev->file, prev->line);
			set->errors++;
			continue;
		}
		ss_svc_def *d = interpret(s, path, env);
		ss_svc_def **v = d ? realloc(set->defs, (set->n + 1) * sizeof *v) : NULL;
		if (!v) {
			ss_svc_def_free(d);
			raw_free(c.secs, c.nsecs);
			return -ENOMEM;
		}
		set->defs = v;
		v[set->n++] = d;
		if (d->invalid)
			set->errors++;
	}
	raw_free(c.secs, c.nsecs);
	return 0;
}

static int ini_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 4 && strcmp(e->d_name + n - 4, ".ini") == 0;
}

/* DFS colours for cycle detection. */
enum { WHITE, GREY, BLACK };

static void visit(ss_def_set *set, size_t i, int *colour, size_t *stack, size_t depth)
{
	colour[i] = GREY;
	stack[depth] = i;
	ss_svc_def *d = set->defs[i];
	for (int pass = 0; pass < 2; pass++) {
		hv_strv *deps = pass ? &d->after : &d->requires;
		for (size_t k = 0; k < deps->n; k++) {
			size_t j;
			for (j = 0; j < set->n; j++)
				if (strcmp(set->defs[j]->name, deps->v[k]) == 0)
					break;
			if (j == set->n)
				continue;
			if (colour[j] == GREY) {
				/* stack[x..depth] is the cycle */
				char path[1024] = "";
				size_t x = depth;
				while (stack[x] != j)
					x--;
				for (size_t y = x; y <= depth; y++) {
					strncat(path, set->defs[stack[y]]->name, sizeof path - strlen(path) - 1);
					strncat(path, " -> ", sizeof path - strlen(path) - 1);
				}
				strncat(path, set->defs[j]->name, sizeof path - strlen(path) - 1);
				for (size_t y = x; y <= depth; y++) {
					ss_svc_def *c = set->defs[stack[y]];
					if (!c->invalid) {
						report(c->file, c->deps_line ? c->deps_line : c->line,
						       "[%s] dependency cycle: %s", c->name, path);
						c->invalid = true;
						set->errors++;
					}
				}
			} else if (colour[j] == WHITE) {
				visit(set, j, colour, stack, depth + 1);
			}
		}
	}
	colour[i] = BLACK;
}

/* Two services on one path would unlink each other's socket; the control
 * endpoint's path is the manager's own. */
static void check_sockets(ss_def_set *set, const ss_def_env *env)
{
	_hv_free_ char *control = NULL;
	if (asprintf(&control, "%s/SystemServer", env->portal_dir) < 0)
		return;
	for (size_t i = 0; i < set->n; i++) {
		ss_svc_def *d = set->defs[i];
		for (size_t k = 0; !d->invalid && k < d->sockets.n; k++) {
			const char *p = d->sockets.v[k];
			const ss_svc_def *other = NULL;
			for (size_t j = 0; j < i && !other; j++)
				if (!set->defs[j]->invalid && hv_strv_contains(&set->defs[j]->sockets, p))
					other = set->defs[j];
			for (size_t q = 0; q < k && !other; q++)
				if (strcmp(d->sockets.v[q], p) == 0)
					other = d;
			if (other == d)
				report(d->file, d->line, "[%s] Socket %s is listed twice", d->name, p);
			else if (strcmp(p, control) == 0)
				report(d->file, d->line, "[%s] Socket %s is the manager's control endpoint", d->name, p);
			else if (other)
				report(d->file, d->line, "[%s] Socket %s is already [%s]'s (%s:%d)", d->name, p,
				       other->name, other->file, other->line);
			else
				continue;
			d->invalid = true;
			set->errors++;
		}
	}
}

static void check_deps(ss_def_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		ss_svc_def *d = set->defs[i];
		for (int pass = 0; pass < 2; pass++) {
			hv_strv *deps = pass ? &d->after : &d->requires;
			for (size_t k = 0; k < deps->n; k++) {
				if (ss_defs_find(set, deps->v[k]))
					continue;
				report(d->file, d->deps_line, "[%s] %s=%s: no such service", d->name,
				       pass ? "After" : "Requires", deps->v[k]);
				if (!d->invalid)
					set->errors++;
				d->invalid = true;
			}
		}
	}
	int *colour = calloc(set->n ? set->n : 1, sizeof *colour);
	size_t *stack = calloc(set->n ? set->n : 1, sizeof *stack);
	if (colour && stack)
		for (size_t i = 0; i < set->n; i++)
			if (colour[i] == WHITE)
				visit(set, i, colour, stack, 0);
	free(colour);
	free(stack);
	/* A service that requires an invalid one cannot start either. */
	bool changed = true;
	while (changed) {
		changed = false;
		for (size_t i = 0; i < set->n; i++) {
			ss_svc_def *d = set->defs[i];
			for (size_t k = 0; !d->invalid && k < d->requires.n; k++) {
				ss_svc_def *dep = ss_defs_find(set, d->requires.v[k]);
				if (dep && dep->invalid) {
					report(d->file, d->deps_line, "[%s] Requires=%s, which is invalid",
					       d->name, dep->name);
					d->invalid = true;
					set->errors++;
					changed = true;
				}
			}
		}
	}
}

int ss_defs_load(const char *path, const ss_def_env *env, ss_def_set *out)
{
	*out = (ss_def_set){0};
	struct stat st;
	if (stat(path, &st) < 0)
		return hv_log_errno(-errno, "Failed to read service definitions %s", path);
	int r = 0;
	if (S_ISDIR(st.st_mode)) {
		struct dirent **names = NULL;
		int n = scandir(path, &names, ini_filter, alphasort);
		if (n < 0)
			return hv_log_errno(-errno, "Failed to list %s", path);
		for (int i = 0; i < n; i++) {
			char *f = NULL;
			if (r == 0 && asprintf(&f, "%s/%s", path, names[i]->d_name) < 0)
				r = -ENOMEM;
			if (r == 0) {
				int q = load_file(f, env, out);
				if (q == -ENOMEM)
					r = q;
				else if (q < 0)
					out->errors++;
			}
			free(f);
			free(names[i]);
		}
		free(names);
	} else {
		r = load_file(path, env, out);
	}
	if (r < 0) {
		ss_defs_free(out);
		return r;
	}
	check_sockets(out, env);
	check_deps(out);
	return 0;
}

void ss_defs_free(ss_def_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		ss_svc_def_free(set->defs[i]);
	free(set->defs);
	*set = (ss_def_set){0};
}
