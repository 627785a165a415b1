/* def.h — service definitions: what an INI section says, parsed and checked.
 *
 * A definition is immutable once loaded; the manager (manager.h) keeps the
 * runtime state beside it. Loading never fails because of one bad section:
 * a bad section is reported as file:line and marked invalid, and the rest
 * load (the manager skips invalid ones).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <haven/util.h>

/* Shell-like word splitting: '…' literal, "…" with \" \\ escapes, \x
 * outside quotes. -EINVAL on an unterminated quote. */
int hv_split_words(const char *s, hv_strv *out);

enum hv_stdio { HV_STDIO_LOG, HV_STDIO_NULL, HV_STDIO_INHERIT, HV_STDIO_FILE };
enum hv_keepalive { HV_KEEPALIVE_NO, HV_KEEPALIVE_ALWAYS, HV_KEEPALIVE_ON_FAILURE };
enum hv_readiness { HV_READY_EXEC, HV_READY_NOTIFY, HV_READY_SOCKET };

/* Resource limits a definition may set (LimitAS= … LimitDATA=), in the
 * order of hv_limit_keys[]; applied between fork and exec. */
enum hv_limit { HV_LIMIT_AS, HV_LIMIT_CPU, HV_LIMIT_NOFILE, HV_LIMIT_CORE, HV_LIMIT_DATA, HV_LIMIT_COUNT };
extern const char *const hv_limit_keys[HV_LIMIT_COUNT]; /* "LimitAS", … */
extern const int hv_limit_resources[HV_LIMIT_COUNT];	/* RLIMIT_AS, … */

typedef struct hv_svc_limit {
	bool set;
	uint64_t soft, hard; /* RLIM_INFINITY for infinity */
} hv_svc_limit;

/* systemd's syntax: VALUE or SOFT:HARD, each a number with an optional
 * K/M/G/T/P/E suffix (powers of 1024; LimitCPU: seconds, optional "s"), or
 * "infinity". -EINVAL for anything else, -ERANGE when soft > hard. */
int hv_parse_limit(enum hv_limit which, const char *v, hv_svc_limit *out);

typedef struct hv_svc_def {
	char *name;
	char *file; /* where the section starts */
	int line;
	bool invalid; /* an error was reported; never started */

	char *executable; /* resolved path */
	hv_strv args;	  /* without argv[0] */
	char *workdir;
	hv_strv env;
	enum hv_stdio stdio;
	char *stdio_path;

	hv_strv sockets; /* expanded paths */
	mode_t *socket_modes; /* one per socket */
	bool lazy, accept, multi, per_user;

	enum hv_keepalive keepalive;
	uint64_t restart_ns, limit_interval_ns, stop_timeout_ns, start_timeout_ns;
	unsigned limit_burst;

	bool has_user, has_group;
	uid_t uid;
	gid_t gid;
	char *user_name;
	int priority;

	hv_strv requires, after, modes;
	int deps_line; /* line of the first Requires/After, for errors */

	char *pledge, *exec_pledge;
	hv_strv unveil;
	enum hv_readiness readiness;
	uint64_t watchdog_usec;
	hv_svc_limit limits[HV_LIMIT_COUNT];

	/* Every key as read, canonical, to tell a changed definition on reload. */
	char *fingerprint;
} hv_svc_def;

/* What expansion and lookup need to know about the manager. */
typedef struct hv_def_env {
	bool user_mode;
	bool root;		/* manager runs as uid 0 */
	const char *portal_dir; /* %portal */
	const char *runtime_dir;
	const char *service_path; /* ':'-separated dirs, glob patterns allowed */
} hv_def_env;

typedef struct hv_def_set {
	hv_svc_def **defs;
	size_t n;
	unsigned errors; /* reported problems (file-level and per section) */
} hv_def_set;

/* Load a file or every *.ini of a directory (name order). Problems are
 * logged as file:line and counted; -errno only if PATH cannot be read at
 * all. Dependencies (missing names, cycles) are checked across the set. */
int hv_defs_load(const char *path, const hv_def_env *env, hv_def_set *out);
void hv_defs_free(hv_def_set *set);
void hv_svc_def_free(hv_svc_def *d);
hv_svc_def *hv_defs_find(const hv_def_set *set, const char *name);

/* Whose $HOME and XDG directories a definition's paths mean: the manager's
 * own account (own_env: its environment's XDG_* and HOME apply), or the
 * account User= drops to (system mode; the XDG defaults under its home). */
typedef struct hv_path_owner {
	uid_t uid;
	const char *home; /* NULL: look it up by uid */
	bool own_env;
} hv_path_owner;

/* Expand a path: %sid %uid %portal %sysconfdir, ~ at the start, $HOME, $XDG_RUNTIME_DIR,
 * $XDG_CONFIG_HOME, $XDG_DATA_HOME, $XDG_STATE_HOME, $XDG_CACHE_HOME (also
 * as ${NAME}; XDG defaults when unset), SerenityOS portal forms; a relative
 * path is in the portal dir. who NULL: the manager's account. *out is
 * malloc'd. -EINVAL for an unknown variable, -ENOENT when the account has
 * no home for it (the offending text is copied to bad), -ENOMEM. */
int hv_expand_path(const char *tmpl, const hv_def_env *env, const hv_path_owner *who, char **out,
		   char *bad, size_t bad_size);
/* Find a bare executable name along the service path; malloc'd path. */
int hv_find_executable(const char *name, const char *service_path, char **out);
