/* internal.h — what SystemServer's own files share and nobody else sees:
 * the manager struct and the functions that cross file boundaries
 * (manager.c scheduler, units.c boot/reload, spawn.c, logs.c). */
#pragma once

#include "manager.h"

struct hv_manager {
	hv_loop *loop;
	bool user_mode, root;
	char *config, *mode, *runtime_dir, *portal_dir, *log_dir, *service_path;
	char *notify_path;
	int notify_fd;
	int null_fd; /* /dev/null for StdIO, opened once */
	hv_strv base_env; /* inherited environment minus what the manager sets */
	bool base_env_ready;
	hv_watch *notify_watch;
	hv_unit **units;
	size_t nunits;
	bool schedule_queued;
	bool shutting_down;
	bool boot_reported;
	hv_log_line_cb log_cb;
	void *log_ud;
};

/* manager.c */
void hv_manager_schedule(hv_manager *m);
bool hv_unit_listening(const hv_unit *u);
void hv_unit_set_failed(hv_unit *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int hv_unit_open_sockets(hv_unit *u);
void hv_unit_close_sockets(hv_unit *u);
void hv_unit_listen_pause(hv_unit *u);
void hv_unit_reset_failures(hv_unit *u);
void hv_unit_after_stop(hv_unit *u);
void hv_instance_exited(hv_instance *inst, int status);
void hv_instance_free(hv_instance *i);
void hv_instance_stop(hv_instance *i, int signo);
void hv_shutdown_step(hv_manager *m);

/* units.c */
bool hv_unit_in_mode(const hv_unit *u);
void hv_unit_replace_def(hv_unit *u, hv_svc_def *d);
void hv_manager_reap(hv_manager *m); /* free units a reload removed */
/* Send a line to $NOTIFY_SOCKET of whoever started the manager (if any). */
void hv_notify_parent(const char *msg);

/* spawn.c */
/* Start one process of u. conn >= 0: an accepted connection it serves
 * (accept / per-user); it is dup'ed, the caller keeps conn. peer: the
 * connecting uid (or -1). */
int hv_spawn_instance(hv_unit *u, int conn, uid_t peer);
/* Pass an accepted connection to a per-user instance (SCM_RIGHTS). */
int hv_handoff_send(int handoff_fd, int conn);

/* logs.c */
int hv_unit_logs_open(hv_unit *u);
void hv_unit_logs_close(hv_unit *u);
/* A line from the manager itself about u (goes to the same log). */
void hv_unit_log_add(hv_unit *u, const char *line);
