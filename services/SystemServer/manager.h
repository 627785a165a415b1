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
#include <haven/util.h>

#include "def.h"

typedef struct ss_manager ss_manager;
typedef struct ss_unit ss_unit;
typedef struct ss_instance ss_instance;

/* Lines kept in memory per service (svc logs) and the log file size at
 * which it is rotated to <Name>.log.1. */
#define SS_LOG_RING_LINES 1000u
#define SS_LOG_LINE_MAX 4096u
#define SS_LOG_FILE_MAX (1u << 20)
/* Most processes of one accept-per-connection / per-user service. Beyond
 * it, an AcceptSocketConnections service's clients wait in the backlog
 * until an instance exits; a PerUser one's are closed (and logged). */
#define SS_UNIT_MAX_INSTANCES 512u
/* Longest respawn back-off unless RestartMaxDelaySec= says otherwise. */
#define SS_RESTART_MAX_NS (30ull * 1000000000ull)

struct ss_instance {
	ss_unit *unit;
	ss_instance *next;
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
	int handoff_fd; /* per-user: where further connections are passed;
			   a spare: where its one connection comes */
	bool spare;	/* SpareInstances=: waiting for its connection */
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

typedef struct ss_log_ring {
	char *lines[SS_LOG_RING_LINES];
	unsigned head, count;
	uint64_t seq; /* lines ever added */
} ss_log_ring;

struct ss_unit {
	ss_manager *m;
	ss_svc_def *def;
	int *listen_fds; /* def->sockets.n, -1 when closed */
	hv_watch **listen_watches;
	ss_instance *instances;
	unsigned ninstances;

	bool want_active; /* should run / listen */
	bool failed;
	char *fail_reason;
	bool restart_pending; /* start again once every instance is gone */
	bool admit_wait;      /* instance cap or MemoryBudget= reached: not
			       * accepting until an instance exits */
	bool stop_signalled;  /* shutdown: SIGTERM sent */
	bool removed;	      /* reload dropped it: free once stopped */
	ss_svc_def *replacement; /* reload changed it: swap in once stopped */

	unsigned restarts; /* respawns since the manager started it */
	uint64_t boot_started_ns, boot_ready_ns; /* first start, first readiness */
	/* The back-off: failures since an instance last became ready, each
	 * within StartLimitIntervalSec of the one before (its exponent). */
	unsigned consecutive;
	uint64_t last_failure_ns; /* when the last failure was handled */
	uint64_t *fail_times; /* ring of def->limit_burst timestamps */
	unsigned fail_count;
	hv_timer *restart_timer;
	uint64_t last_exit_status_valid;
	int last_exit_status;

	/* With Environment=: the inherited environment minus what the manager
	 * or the definition sets, plus the definition's; built once per
	 * definition, not per spawn (without it, the manager's one is used). */
	hv_strv base_env;
	const ss_svc_def *base_env_def;
	/* Pledge=/Unveil= compiled once per definition (lib/sandbox's prepared
	 * sandbox) and applied to every instance until a reload replaces the
	 * definition; NULL until the first sandboxed spawn, or while it cannot
	 * be prepared (an Unveil= path still to be created). */
	struct hv_sandbox_prepared *sandbox;
	const ss_svc_def *sandbox_def;
	/* SpareInstances=: spares running, a top-up pending, and whether a
	 * spare died young (no more spares until the unit starts again). */
	unsigned nspares;
	bool spares_off;
	hv_timer *spare_timer; /* a top-up after the loop's current work */

	int log_rfd, log_wfd;
	hv_watch *log_watch;
	char *partial; /* incomplete line read so far */
	size_t partial_len;
	int log_file;
	bool log_file_tried;
	size_t log_file_size;
	/* svc logs' last lines: made with the first line (8 KiB of slots), so
	 * a definition that never runs costs no ring. */
	ss_log_ring *ring;
};

typedef struct ss_manager_opts {
	bool user_mode;
	const char *config;	  /* file or dir */
	const char *mode;	  /* boot mode */
	const char *runtime_dir;  /* .../haven */
	const char *service_path; /* ':'-separated */
} ss_manager_opts;

/* Called for every captured log line (control.c streams them to svc logs -f). */
typedef void (*ss_log_line_cb)(ss_unit *u, const char *line, void *userdata);

/* Raise this process's soft RLIMIT_NOFILE to its hard limit (each instance
 * costs the manager a pidfd, and with Pledge= a seccomp listener too), and
 * remember the original one: services start with it unless their
 * LimitNOFILE= says otherwise (select() breaks above 1024). Call once,
 * before starting anything. */
void ss_manager_raise_nofile(void);

int ss_manager_new(hv_loop *loop, const ss_manager_opts *opts, ss_manager **out);
void ss_manager_free(ss_manager *m);
HV_DEFINE_CLEANUP(ss_manager *, ss_manager_free)
/* Load definitions, create every socket, then start what should start. */
int ss_manager_boot(ss_manager *m);
const char *ss_manager_portal_dir(const ss_manager *m);
const char *ss_manager_runtime_dir(const ss_manager *m);
hv_loop *ss_manager_loop(const ss_manager *m);
bool ss_manager_user_mode(const ss_manager *m);
void ss_manager_on_log_line(ss_manager *m, ss_log_line_cb cb, void *userdata);

size_t ss_manager_unit_count(const ss_manager *m);
ss_unit *ss_manager_unit_at(const ss_manager *m, size_t i);
ss_unit *ss_manager_find(const ss_manager *m, const char *name);

/* Operations (negative errno on failure; -ENOENT: no such service). */
int ss_manager_start(ss_manager *m, const char *name);
int ss_manager_stop(ss_manager *m, const char *name);
int ss_manager_restart(ss_manager *m, const char *name);
int ss_manager_reload(ss_manager *m);
/* Stop everything in reverse dependency order, remove the sockets, then
 * quit the loop with code 0. */
void ss_manager_shutdown(ss_manager *m);

/* "running", "listening", "starting", "stopped" or "failed". */
const char *ss_unit_state(const ss_unit *u);
pid_t ss_unit_main_pid(const ss_unit *u); /* first instance's pid, or 0 */

/* Visit up to the last n ring lines of a unit, oldest first. */
void ss_unit_log_tail(const ss_unit *u, unsigned n, void (*cb)(const char *line, void *ud), void *ud);
