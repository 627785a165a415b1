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

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <grp.h>
#include <ini.h>
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

__attribute__((format(printf, 3, 4))) static void report(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	hv_log_error("%s:%d: %s", file, line, msg);
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

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

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

/* Keys whose value is a scalar: set at most once. */
static const char *const scalar_keys[] = {
	"Executable", "WorkingDirectory", "StdIO", "Lazy", "AcceptSocketConnections",
	"MultiInstance", "PerUser", "KeepAlive", "RestartSec", "StartLimitBurst",
	"StartLimitIntervalSec", "TimeoutStopSec", "TimeoutStartSec", "User", "Group", "Priority",
	"Pledge", "ExecPledge", "Readiness", "WatchdogSec", "Arguments",
	"LimitAS", "LimitCPU", "LimitNOFILE", "LimitCORE", "LimitDATA",
};
static const char *const list_keys[] = {
	"Environment", "Socket", "SocketPermissions", "Requires", "After", "SystemModes", "Unveil",
};

static bool known_key(const char *k, bool *scalar)
{
	for (size_t i = 0; i < HV_ARRAY_SIZE(scalar_keys); i++)
		if (strcmp(k, scalar_keys[i]) == 0)
			return *scalar = true, true;
	for (size_t i = 0; i < HV_ARRAY_SIZE(list_keys); i++)
		if (strcmp(k, list_keys[i]) == 0)
			return *scalar = false, true;
	return false;
}

#define BAD(line, ...)                                                                     \
	do {                                                                               \
		report(file, line, __VA_ARGS__);                                           \
		d->invalid = true;                                                         \
	} while (0)

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

static ss_svc_def *interpret(const raw_section *s, const char *file, const ss_def_env *env)
{
	ss_svc_def *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->name = strdup(s->name);
	d->file = strdup(file);
	d->line = s->line;
	d->invalid = s->bad;
	d->restart_ns = 100000000ull;
	d->limit_interval_ns = 10000000000ull;
	d->limit_burst = 5;
	d->stop_timeout_ns = 5000000000ull;
	d->start_timeout_ns = 90000000000ull;
	hv_strv perms = {0};
	const char *exe = NULL;
	int exe_line = s->line;
	bool lazy_set = false;
	int sandbox_line = 0;
	char *fp = NULL;
	size_t fplen = 0;
	FILE *fpm = open_memstream(&fp, &fplen);
	if (!d->name || !d->file || !fpm) {
		if (fpm)
			fclose(fpm);
		free(fp);
		ss_svc_def_free(d);
		return NULL;
	}

	/* Paths mean the account the service runs as: a root manager's User=
	 * decides whose $HOME and XDG dirs they name, wherever the key is. */
	ss_path_owner owner = {.uid = getuid(), .own_env = true};
	_hv_free_ char *owner_home = NULL;
	for (size_t i = 0; i < s->n && env->root; i++) {
		struct passwd *pw;
		uid_t uid;
		gid_t gid;
		if (strcmp(s->kv[i].key, "User") != 0 || resolve_user(s->kv[i].value, &uid, &gid) < 0)
			continue;
		owner = (ss_path_owner){.uid = uid, .own_env = uid == getuid()};
		free(owner_home);
		owner_home = (pw = getpwuid(uid)) ? strdup(pw->pw_dir) : NULL;
		owner.home = owner_home;
	}
	char bad_var[64];
#define EXPAND(tmpl, outp) ss_expand_path((tmpl), env, &owner, (outp), bad_var, sizeof bad_var)

	for (size_t i = 0; i < s->n; i++) {
		const char *k = s->kv[i].key, *v = s->kv[i].value;
		int line = s->kv[i].line;
		bool scalar;
		bad_var[0] = '\0';
		fprintf(fpm, "%s=%s\n", k, v);
		if (!known_key(k, &scalar)) {
			BAD(line, "[%s] unknown key \"%s\"", d->name, k);
			continue;
		}
		if (scalar)
			for (size_t j = 0; j < i; j++)
				if (strcmp(s->kv[j].key, k) == 0)
					BAD(line, "[%s] %s set twice (first on line %d)", d->name, k, s->kv[j].line);

		int r = 0;
		bool b;
		if (strcmp(k, "Executable") == 0) {
			exe = v;
			exe_line = line;
		} else if (strcmp(k, "Arguments") == 0) {
			r = ss_split_words(v, &d->args);
		} else if (strcmp(k, "WorkingDirectory") == 0) {
			free(d->workdir);
			d->workdir = NULL;
			if ((r = EXPAND(v, &d->workdir)) == 0 && d->workdir[0] != '/')
				r = -EINVAL;
		} else if (strcmp(k, "Environment") == 0) {
			hv_strv w = {0};
			r = ss_split_words(v, &w);
			for (size_t j = 0; r == 0 && j < w.n; j++) {
				char *eq = strchr(w.v[j], '=');
				r = eq && eq != w.v[j] ? hv_strv_push(&d->env, w.v[j]) : -EINVAL;
			}
			hv_strv_clear(&w);
		} else if (strcmp(k, "StdIO") == 0) {
			if (strcmp(v, "log") == 0)
				d->stdio = SS_STDIO_LOG;
			else if (strcmp(v, "null") == 0)
				d->stdio = SS_STDIO_NULL;
			else if (strcmp(v, "inherit") == 0)
				d->stdio = SS_STDIO_INHERIT;
			else if (v[0] == '/' || v[0] == '%' || v[0] == '$') {
				d->stdio = SS_STDIO_FILE;
				free(d->stdio_path);
				d->stdio_path = NULL;
				r = EXPAND(v, &d->stdio_path);
			} else
				r = -EINVAL;
		} else if (strcmp(k, "Socket") == 0) {
			hv_strv l = {0};
			r = parse_list(v, &l);
			for (size_t j = 0; r == 0 && j < l.n; j++) {
				_hv_free_ char *p = NULL;
				r = EXPAND(l.v[j], &p);
				if (r == 0)
					r = strlen(p) >= 108 ? -ENAMETOOLONG : hv_strv_push(&d->sockets, p);
			}
			hv_strv_clear(&l);
		} else if (strcmp(k, "SocketPermissions") == 0) {
			r = parse_list(v, &perms);
		} else if (strcmp(k, "Lazy") == 0) {
			r = parse_bool(v, &d->lazy);
			lazy_set = true;
		} else if (strcmp(k, "AcceptSocketConnections") == 0) {
			r = parse_bool(v, &d->accept);
		} else if (strcmp(k, "MultiInstance") == 0) {
			r = parse_bool(v, &d->multi);
		} else if (strcmp(k, "PerUser") == 0) {
			r = parse_bool(v, &d->per_user);
		} else if (strcmp(k, "KeepAlive") == 0) {
			if (strcmp(v, "on-failure") == 0)
				d->keepalive = SS_KEEPALIVE_ON_FAILURE;
			else if (strcmp(v, "always") == 0)
				d->keepalive = SS_KEEPALIVE_ALWAYS;
			else if ((r = parse_bool(v, &b)) == 0)
				d->keepalive = b ? SS_KEEPALIVE_ALWAYS : SS_KEEPALIVE_NO;
		} else if (strcmp(k, "RestartSec") == 0) {
			r = parse_seconds(v, &d->restart_ns);
		} else if (strcmp(k, "StartLimitIntervalSec") == 0) {
			r = parse_seconds(v, &d->limit_interval_ns);
		} else if (strcmp(k, "TimeoutStopSec") == 0) {
			r = parse_seconds(v, &d->stop_timeout_ns);
		} else if (strcmp(k, "TimeoutStartSec") == 0) {
			r = parse_seconds(v, &d->start_timeout_ns);
		} else if (strcmp(k, "StartLimitBurst") == 0) {
			int64_t n;
			r = hv_parse_i64(v, 1, 1000, &n);
			d->limit_burst = (unsigned)n;
		} else if (strcmp(k, "User") == 0) {
			d->has_user = true;
			free(d->user_name);
			d->user_name = strdup(v);
			r = resolve_user(v, &d->uid, &d->gid);
			if (r == -ENOENT) {
				BAD(line, "[%s] User=%s: no such user", d->name, v);
				continue;
			}
		} else if (strcmp(k, "Group") == 0) {
			d->has_group = true;
			r = resolve_group(v, &d->gid);
			if (r == -ENOENT) {
				BAD(line, "[%s] Group=%s: no such group", d->name, v);
				continue;
			}
		} else if (strcmp(k, "Priority") == 0) {
			int64_t n;
			r = hv_parse_i64(v, -20, 19, &n);
			d->priority = (int)n;
		} else if (strcmp(k, "Requires") == 0 || strcmp(k, "After") == 0) {
			r = parse_list(v, k[0] == 'R' ? &d->requires : &d->after);
			if (!d->deps_line)
				d->deps_line = line;
		} else if (strcmp(k, "SystemModes") == 0) {
			r = parse_list(v, &d->modes);
		} else if (strcmp(k, "Pledge") == 0 || strcmp(k, "ExecPledge") == 0) {
			sandbox_line = line;
			char **dst = k[0] == 'P' ? &d->pledge : &d->exec_pledge;
			free(*dst);
			*dst = strdup(v);
		} else if (strcmp(k, "Unveil") == 0) {
			sandbox_line = line;
			hv_strv l = {0};
			r = parse_list(v, &l);
			for (size_t j = 0; r == 0 && j < l.n; j++) {
				char *colon = strrchr(l.v[j], ':');
				if (strncmp(l.v[j], "tcp:", 4) == 0) { /* tcp:PORT:PERMS, checked below */
					r = hv_strv_push(&d->unveil, l.v[j]);
					continue;
				}
				if (!colon || strspn(colon + 1, "rwxc") != strlen(colon + 1)) {
					r = -EINVAL;
					break;
				}
				*colon = '\0';
				_hv_free_ char *p = NULL;
				_hv_free_ char *e = NULL;
				if ((r = EXPAND(l.v[j], &p)) < 0)
					break;
				else if (asprintf(&e, "%s:%s", p, colon + 1) < 0)
					r = -ENOMEM;
				else
					r = hv_strv_push(&d->unveil, e);
			}
			hv_strv_clear(&l);
		} else if (strcmp(k, "Readiness") == 0) {
			if (strcmp(v, "exec") == 0)
				d->readiness = SS_READY_EXEC;
			else if (strcmp(v, "notify") == 0)
				d->readiness = SS_READY_NOTIFY;
			else if (strcmp(v, "socket") == 0)
				d->readiness = SS_READY_SOCKET;
			else
				r = -EINVAL;
		} else if (strcmp(k, "WatchdogSec") == 0) {
			uint64_t ns;
			r = parse_seconds(v, &ns);
			if (r == 0 && ns < 1000000)
				r = -ERANGE;
			d->watchdog_usec = ns / 1000;
		} else if (strncmp(k, "Limit", 5) == 0) {
			for (int j = 0; j < SS_LIMIT_COUNT; j++)
				if (strcmp(k, ss_limit_keys[j]) == 0)
					r = ss_parse_limit((enum ss_limit)j, v, &d->limits[j]);
			if (r == -ERANGE) {
				BAD(line, "[%s] %s=%s: soft limit above hard limit", d->name, k, v);
				continue;
			}
		}
		if (r == -ENOMEM) {
			BAD(line, "[%s] out of memory", d->name);
		} else if (r == -EINVAL && bad_var[0]) {
			BAD(line,
			    "[%s] %s: unknown variable \"%s\" in \"%s\" (known: ~ $HOME $XDG_RUNTIME_DIR "
			    "$XDG_CONFIG_HOME $XDG_DATA_HOME $XDG_STATE_HOME $XDG_CACHE_HOME %%sid %%uid %%portal "
			    "%%sysconfdir)",
			    d->name, k, bad_var, v);
		} else if (r == -ENOENT && bad_var[0]) {
			BAD(line, "[%s] %s: %s: the service's account (uid %lu) has no home directory", d->name, k,
			    bad_var, (unsigned long)owner.uid);
		} else if (r < 0) {
			BAD(line, "[%s] bad value for %s: \"%s\"", d->name, k, v);
		}
	}
#undef EXPAND
	fclose(fpm);
	d->fingerprint = fp;

	if (sandbox_line) {
		hv_sandbox_spec spec = {
			.promises = d->pledge,
			.execpromises = d->exec_pledge,
			.unveils = d->unveil.n ? (const char *const *)d->unveil.v : NULL,
		};
		if (hv_sandbox_spec_check(&spec) < 0)
			BAD(sandbox_line, "[%s] invalid Pledge/ExecPledge/Unveil (see above)", d->name);
	}

	/* Keys that constrain each other. */
	if (d->accept) {
		if (d->sockets.n != 1)
			BAD(d->line, "[%s] AcceptSocketConnections needs exactly one Socket", d->name);
		if (lazy_set && !d->lazy)
			BAD(d->line, "[%s] AcceptSocketConnections implies Lazy=true", d->name);
		if (d->per_user)
			BAD(d->line, "[%s] AcceptSocketConnections and PerUser exclude each other", d->name);
		d->lazy = d->multi = true;
	}
	if (d->multi && d->keepalive != SS_KEEPALIVE_NO)
		BAD(d->line, "[%s] MultiInstance services cannot be KeepAlive", d->name);
	if (d->lazy && d->sockets.n == 0)
		BAD(d->line, "[%s] Lazy needs a Socket", d->name);
	if (d->per_user && d->sockets.n != 1)
		BAD(d->line, "[%s] PerUser needs exactly one Socket", d->name);
	if (d->per_user)
		d->lazy = true;
	if (d->readiness == SS_READY_SOCKET && d->sockets.n == 0)
		BAD(d->line, "[%s] Readiness=socket needs a Socket", d->name);

	d->socket_modes = calloc(d->sockets.n ? d->sockets.n : 1, sizeof(mode_t));
	if (!d->socket_modes) {
		hv_strv_clear(&perms);
		ss_svc_def_free(d);
		return NULL;
	}
	for (size_t j = 0; j < d->sockets.n; j++)
		/* PerUser exists to be shared by every user: the manager keeps
		 * them apart, so its socket is open to all by default. */
		d->socket_modes[j] = env->user_mode ? 0600 : d->per_user ? 0666 : 0660;
	if (perms.n && perms.n != 1 && perms.n != d->sockets.n)
		BAD(d->line, "[%s] SocketPermissions has %zu values for %zu sockets", d->name, perms.n,
		    d->sockets.n);
	for (size_t j = 0; j < perms.n && perms.n <= HV_MAX(d->sockets.n, 1); j++) {
		char *end;
		errno = 0;
		unsigned long m = strtoul(perms.v[j], &end, 8);
		if (errno || end == perms.v[j] || *end || m > 07777) {
			BAD(d->line, "[%s] bad SocketPermissions \"%s\" (octal mode expected)", d->name,
			    perms.v[j]);
			break;
		}
		if (perms.n == 1)
			for (size_t q = 0; q < d->sockets.n; q++)
				d->socket_modes[q] = (mode_t)m;
		else
			d->socket_modes[j] = (mode_t)m;
	}
	hv_strv_clear(&perms);

	if (!exe)
		exe = d->name; /* SerenityOS: the section name is the program */
	if (strchr(exe, '/')) {
		if (exe[0] == '/') {
			d->executable = strdup(exe);
		} else {
			/* relative to the definition file's directory */
			_hv_free_ char *dir = strdup(file);
			char *slash = dir ? strrchr(dir, '/') : NULL;
			if (slash)
				*slash = '\0';
			if (asprintf(&d->executable, "%s/%s", slash ? dir : ".", exe) < 0)
				d->executable = NULL;
		}
		if (d->executable && access(d->executable, X_OK) != 0)
			BAD(exe_line, "[%s] Executable %s: %s", d->name, d->executable, strerror(errno));
	} else if (ss_find_executable(exe, env->service_path, &d->executable) < 0) {
		BAD(exe_line, "[%s] Executable \"%s\" not found on the service path (%s)", d->name, exe,
		    env->service_path ? env->service_path : "");
		d->executable = strdup(exe); /* kept for status; never run */
	}
	if (!d->workdir)
		d->workdir = strdup("/");
	if (!d->executable || !d->workdir) {
		ss_svc_def_free(d);
		return NULL;
	}
	return d;
}
#undef BAD

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
