/* internal.h — what SystemServer's own files share and nobody else sees:
 * the manager struct and the functions that cross file boundaries
 * (manager.c scheduler, units.c boot/reload, spawn.c, logs.c). */
#pragma once

#include "manager.h"

struct ss_manager {
	hv_loop *loop;
	bool user_mode, root;
	char *config, *mode, *runtime_dir, *portal_dir, *log_dir, *service_path;
	char *notify_path;
	int notify_fd;
	int null_fd; /* /dev/null for StdIO, opened once */
	hv_strv base_env; /* inherited environment minus what the manager sets */
	bool base_env_ready;
	hv_watch *notify_watch;
	ss_unit **units;
	size_t nunits;
	bool schedule_queued;
	bool shutting_down;
	bool boot_reported;
	ss_log_line_cb log_cb;
	void *log_ud;
};

/* manager.c */
void ss_manager_schedule(ss_manager *m);
bool ss_unit_listening(const ss_unit *u);
void ss_unit_set_failed(ss_unit *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ss_unit_open_sockets(ss_unit *u);
void ss_unit_close_sockets(ss_unit *u);
void ss_unit_listen_pause(ss_unit *u);
void ss_unit_reset_failures(ss_unit *u);
void ss_unit_after_stop(ss_unit *u);
void ss_instance_exited(ss_instance *inst, int status);
/* The instance is ready (exec, READY=1 or its socket accepted): dependents
 * may start, and its unit's restart back-off starts again from RestartSec. */
void ss_instance_ready(ss_instance *inst);
void ss_instance_free(ss_instance *i);
void ss_instance_stop(ss_instance *i, int signo);
void ss_shutdown_step(ss_manager *m);

/* units.c */
bool ss_unit_in_mode(const ss_unit *u);
void ss_unit_replace_def(ss_unit *u, ss_svc_def *d);
void ss_manager_reap(ss_manager *m); /* free units a reload removed */
/* Send a line to $NOTIFY_SOCKET of whoever started the manager (if any). */
void ss_notify_parent(const char *msg);

/* spawn.c */
/* Start one process of u. conn >= 0: an accepted connection it serves
 * (accept / per-user); it is dup'ed, the caller keeps conn. peer: the
 * connecting uid (or -1). */
int ss_spawn_instance(ss_unit *u, int conn, uid_t peer);
/* A warm spare of an AcceptSocketConnections unit (SpareInstances=): no
 * connection yet, a hand-off socket for its one connection. */
int ss_spawn_spare(ss_unit *u);
/* Start the unit's missing spares soon (manager.c). */
void ss_unit_top_up_spares(ss_unit *u);
/* A spare that dies younger than this stops the unit's spares. */
#define SS_SPARE_MIN_LIFE_NS (1000ull * 1000000ull)
/* Pass an accepted connection to a per-user instance (SCM_RIGHTS). */
int ss_handoff_send(int handoff_fd, int conn);

/* logs.c */
int ss_unit_logs_open(ss_unit *u);
void ss_unit_logs_close(ss_unit *u);
/* A line from the manager itself about u (goes to the same log). */
void ss_unit_log_add(ss_unit *u, const char *line);
