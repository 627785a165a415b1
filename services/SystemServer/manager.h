/* manager.h — SystemServer's runtime: units (a definition plus its sockets,
 * processes and history), the start/stop scheduler, and the operations the
 * control endpoint exposes.
 *
 * Everything runs on one hv_loop; no threads. Children are watched with
 * pidfds (lib/core), so they are reaped exactly once and never leak.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <haven/loop.h>

#include "def.h"

typedef struct hv_manager hv_manager;
typedef struct hv_unit hv_unit;
typedef struct hv_instance hv_instance;

/* Lines kept in memory per service (svc logs) and the log file size at
 * which it is rotated to <Name>.log.1. */
#define HV_LOG_RING_LINES 1000u
#define HV_LOG_LINE_MAX 4096u
#define HV_LOG_FILE_MAX (1u << 20)
/* Most processes of one accept-per-connection / per-user service; further
 * connections are closed (and logged) until some end. */
#define HV_UNIT_MAX_INSTANCES 512u
/* Longest respawn back-off. */
#define HV_RESTART_MAX_NS (30ull * 1000000000ull)

struct hv_instance {
	hv_unit *unit;
	hv_instance *next;
	pid_t pid;
	hv_child *child;
	uid_t uid; /* accept / per-user: the peer it serves */
	uint64_t started_ns;
	bool ready;
	bool stopping;	     /* we asked it to stop: its exit is no failure */
	bool watchdog_fired; /* restart even without KeepAlive */
	bool start_timed_out; /* no READY=1 within TimeoutStartSec: a failure */
	hv_timer *watchdog;
	hv_timer *start_timer;
	hv_timer *kill_timer;
	int handoff_fd; /* per-user: where further connections are passed */
	/* Pledge=: the seccomp listener (hv_sandbox_exec_supervised) through
	 * which a forbidden call reaches the manager before the kill. */
	int listener;
	hv_watch *listener_watch;
	char *violation; /* the last forbidden call, as logged */
	/* Readiness=socket: the manager's own connection, and the timer that
	 * looks whether the service has accepted it. */
	int probe_fd;
	hv_timer *probe_timer;
};

typedef struct hv_log_ring {
	char *lines[HV_LOG_RING_LINES];
	unsigned head, count;
	uint64_t seq; /* lines ever added */
} hv_log_ring;

struct hv_unit {
	hv_manager *m;
	hv_svc_def *def;
	int *listen_fds; /* def->sockets.n, -1 when closed */
	hv_watch **listen_watches;
	hv_instance *instances;
	unsigned ninstances;

	bool want_active; /* should run / listen */
	bool failed;
	char *fail_reason;
	bool restart_pending; /* start again once every instance is gone */
	bool stop_signalled;  /* shutdown: SIGTERM sent */
	bool removed;	      /* reload dropped it: free once stopped */
	hv_svc_def *replacement; /* reload changed it: swap in once stopped */

	unsigned restarts; /* respawns since the manager started it */
	unsigned consecutive; /* fast failures in a row (back-off exponent) */
	uint64_t *fail_times; /* ring of def->limit_burst timestamps */
	unsigned fail_count;
	hv_timer *restart_timer;
	uint64_t last_exit_status_valid;
	int last_exit_status;

	/* With Environment=: the inherited environment minus what the manager
	 * or the definition sets, plus the definition's; built once per
	 * definition, not per spawn (without it, the manager's one is used). */
	hv_strv base_env;
	const hv_svc_def *base_env_def;

	int log_rfd, log_wfd;
	hv_watch *log_watch;
	char *partial; /* incomplete line read so far */
	size_t partial_len;
	int log_file;
	bool log_file_tried;
	size_t log_file_size;
	hv_log_ring ring;
};

typedef struct hv_manager_opts {
	bool user_mode;
	const char *config;	  /* file or dir */
	const char *mode;	  /* boot mode */
	const char *runtime_dir;  /* .../haven */
	const char *service_path; /* ':'-separated */
} hv_manager_opts;

/* Called for every captured log line (control.c streams them to svc logs -f). */
typedef void (*hv_log_line_cb)(hv_unit *u, const char *line, void *userdata);

/* Raise this process's soft RLIMIT_NOFILE to its hard limit (each instance
 * costs the manager a pidfd, and with Pledge= a seccomp listener too), and
 * remember the original one: services start with it unless their
 * LimitNOFILE= says otherwise (select() breaks above 1024). Call once,
 * before starting anything. */
void hv_manager_raise_nofile(void);

int hv_manager_new(hv_loop *loop, const hv_manager_opts *opts, hv_manager **out);
void hv_manager_free(hv_manager *m);
/* Load definitions, create every socket, then start what should start. */
int hv_manager_boot(hv_manager *m);
const char *hv_manager_portal_dir(const hv_manager *m);
const char *hv_manager_runtime_dir(const hv_manager *m);
hv_loop *hv_manager_loop(const hv_manager *m);
bool hv_manager_user_mode(const hv_manager *m);
void hv_manager_on_log_line(hv_manager *m, hv_log_line_cb cb, void *userdata);

size_t hv_manager_unit_count(const hv_manager *m);
hv_unit *hv_manager_unit_at(const hv_manager *m, size_t i);
hv_unit *hv_manager_find(const hv_manager *m, const char *name);

/* Operations (negative errno on failure; -ENOENT: no such service). */
int hv_manager_start(hv_manager *m, const char *name);
int hv_manager_stop(hv_manager *m, const char *name);
int hv_manager_restart(hv_manager *m, const char *name);
int hv_manager_reload(hv_manager *m);
/* Stop everything in reverse dependency order, remove the sockets, then
 * quit the loop with code 0. */
void hv_manager_shutdown(hv_manager *m);

/* "running", "listening", "starting", "stopped" or "failed". */
const char *hv_unit_state(const hv_unit *u);
pid_t hv_unit_main_pid(const hv_unit *u); /* first instance's pid, or 0 */

/* Visit up to the last n ring lines of a unit, oldest first. */
void hv_unit_log_tail(const hv_unit *u, unsigned n, void (*cb)(const char *line, void *ud), void *ud);
