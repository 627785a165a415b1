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
int ss_split_words(const char *s, hv_strv *out);

enum ss_stdio { SS_STDIO_LOG, SS_STDIO_NULL, SS_STDIO_INHERIT, SS_STDIO_FILE };
enum ss_keepalive { SS_KEEPALIVE_NO, SS_KEEPALIVE_ALWAYS, SS_KEEPALIVE_ON_FAILURE };
enum ss_readiness { SS_READY_EXEC, SS_READY_NOTIFY, SS_READY_SOCKET };

/* Resource limits a definition may set (LimitAS= … LimitDATA=), in the
 * order of ss_limit_keys[]; applied between fork and exec. */
enum ss_limit { SS_LIMIT_AS, SS_LIMIT_CPU, SS_LIMIT_NOFILE, SS_LIMIT_CORE, SS_LIMIT_DATA, SS_LIMIT_COUNT };
extern const char *const ss_limit_keys[SS_LIMIT_COUNT]; /* "LimitAS", … */
extern const int ss_limit_resources[SS_LIMIT_COUNT];	/* RLIMIT_AS, … */

/* Most SpareInstances= a definition may keep. */
#define SS_MAX_SPARES 16u

typedef struct ss_svc_limit {
	bool set;
	uint64_t soft, hard; /* RLIM_INFINITY for infinity */
} ss_svc_limit;

/* systemd's syntax: VALUE or SOFT:HARD, each a number with an optional
 * K/M/G/T/P/E suffix (powers of 1024; LimitCPU: seconds, optional "s"), or
 * "infinity". -EINVAL for anything else, -ERANGE when soft > hard. */
int ss_parse_limit(enum ss_limit which, const char *v, ss_svc_limit *out);

/* IPC quotas a definition may set (IpcUidBytes= … IpcIdleTimeoutSec=), in
 * the order of ss_ipc_keys[]; handed to the service as HAVEN_IPC_QUOTAS
 * (haven/service.h) under the names of ss_ipc_env_names[], in bytes,
 * counts or milliseconds. */
enum ss_ipc {
	SS_IPC_UID_BYTES, SS_IPC_UID_FDS, SS_IPC_UID_CONNECTIONS, SS_IPC_TOTAL_BYTES,
	SS_IPC_TOTAL_FDS, SS_IPC_CONNECTIONS, SS_IPC_FRAME_DEADLINE, SS_IPC_IDLE_TIMEOUT, SS_IPC_COUNT
};
extern const char *const ss_ipc_keys[SS_IPC_COUNT];
extern const char *const ss_ipc_env_names[SS_IPC_COUNT];

typedef struct ss_svc_def {
	char *name;
	char *file; /* where the section starts */
	int line;
	bool invalid; /* an error was reported; never started */

	char *executable; /* resolved path */
	hv_strv args;	  /* without argv[0] */
	char *workdir;
	hv_strv env;
	enum ss_stdio stdio;
	char *stdio_path;

	hv_strv sockets; /* expanded paths, and network specs (netsock.h) */
	mode_t *socket_modes; /* one per socket (unused for network ones) */
	int backlog;	      /* Backlog= of network stream sockets, 0: SOMAXCONN */
	bool reuse_port;      /* ReusePort= */
	bool lazy, accept, multi, per_user;

	enum ss_keepalive keepalive;
	/* RestartSec, RestartMaxDelaySec (the back-off's cap), StartLimitIntervalSec
	 * (also the back-off's window), TimeoutStopSec, TimeoutStartSec. */
	uint64_t restart_ns, restart_max_ns, limit_interval_ns, stop_timeout_ns, start_timeout_ns;
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
	/* AmbientCapabilities=: bit n is capability n (CAP_NET_ADMIN = 12),
	 * kept across the uid drop and raised as ambient (spawn.c). */
	uint64_t ambient_caps;
	enum ss_readiness readiness;
	uint64_t watchdog_usec;
	ss_svc_limit limits[SS_LIMIT_COUNT];
	/* MemoryBudget=: bytes the instances' LimitAS may add up to (0: none). */
	uint64_t memory_budget;
	/* SpareInstances=: per-connection instances kept started, confined and
	 * waiting for their connection (0: none; AcceptSocketConnections only). */
	unsigned spares;
	uint64_t ipc[SS_IPC_COUNT]; /* Ipc*= (enum ss_ipc), when ipc_set has the bit */
	unsigned ipc_set;
	int ipc_line;

	/* Every key as read, canonical, to tell a changed definition on reload. */
	char *fingerprint;
} ss_svc_def;

/* What expansion and lookup need to know about the manager. */
typedef struct ss_def_env {
	bool user_mode;
	bool root;		/* manager runs as uid 0 */
	const char *portal_dir; /* %portal */
	const char *runtime_dir;
	const char *service_path; /* ':'-separated dirs, glob patterns allowed */
} ss_def_env;

typedef struct ss_def_set {
	ss_svc_def **defs;
	size_t n;
	unsigned errors; /* reported problems (file-level and per section) */
} ss_def_set;

/* Load a file or every *.ini of a directory (name order). Problems are
 * logged as file:line and counted; -errno only if PATH cannot be read at
 * all. Dependencies (missing names, cycles) are checked across the set. */
int ss_defs_load(const char *path, const ss_def_env *env, ss_def_set *out);
void ss_defs_free(ss_def_set *set);
void ss_svc_def_free(ss_svc_def *d);
HV_DEFINE_CLEANUP(ss_svc_def *, ss_svc_def_free)
ss_svc_def *ss_defs_find(const ss_def_set *set, const char *name);
/* HAVEN_IPC_QUOTAS=… for d (enum ss_ipc), malloc'd; NULL in *out when d
 * sets none. -ENOMEM, or 0. */
int ss_ipc_quota_env(const ss_svc_def *d, char **out);

/* Whose $HOME and XDG directories a definition's paths mean: the manager's
 * own account (own_env: its environment's XDG_* and HOME apply), or the
 * account User= drops to (system mode; the XDG defaults under its home). */
typedef struct ss_path_owner {
	uid_t uid;
	const char *home; /* NULL: look it up by uid */
	bool own_env;
} ss_path_owner;

/* Expand a path: %sid %uid %portal %sysconfdir, ~ at the start, $HOME, $XDG_RUNTIME_DIR,
 * $XDG_CONFIG_HOME, $XDG_DATA_HOME, $XDG_STATE_HOME, $XDG_CACHE_HOME (also
 * as ${NAME}; XDG defaults when unset), SerenityOS portal forms; a relative
 * path is in the portal dir. who NULL: the manager's account. *out is
 * malloc'd. -EINVAL for an unknown variable, -ENOENT when the account has
 * no home for it (the offending text is copied to bad), -ENOMEM. */
int ss_expand_path(const char *tmpl, const ss_def_env *env, const ss_path_owner *who, char **out,
		   char *bad, size_t bad_size);
/* Find a bare executable name along the service path; malloc'd path. */
int ss_find_executable(const char *name, const char *service_path, char **out);
