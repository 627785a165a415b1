/* service.h — run a service (Clipboard, NotificationServer, …) the way
 * SystemServer does, in a private temp dir: the test binds the portal socket
 * and keeps it, the service gets it as fd 3 (LISTEN_FDS), and a crash is
 * followed by a respawn on the same socket, so clients see what they would
 * under the manager. Shared by the service tests (tests/lib). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include <haven/ipc.h>

#include "check.h"

typedef struct svc_fixture {
	char dir[64];	  /* mkdtemp'd; removed by svc_stop */
	char portal[128]; /* dir/portal: HAVEN_PORTAL_DIR of the test and its children */
	char sock[192];	  /* dir/portal/<name> */
	char runtime[128]; /* dir/run: the service's XDG_RUNTIME_DIR */
	const char *exe;
	const char *const *args;
	const char *log; /* the service's stderr is appended here when set */
	int listen_fd;
	pid_t pid;
} svc_fixture;

/* Bind dir/portal/<name>, start `exe args...` on it. Also sets
 * HAVEN_PORTAL_DIR, XDG_RUNTIME_DIR and XDG_CONFIG_HOME (dir/config) in this
 * process, so CLIs it runs find the service. */
void svc_start(svc_fixture *f, const char *exe, const char *name, const char *const *args);
/* svc_start without starting it: the dirs, the environment and the bound
 * socket, so arguments naming paths under dir (and `log`) can be set before
 * svc_respawn starts it. */
void svc_prepare(svc_fixture *f, const char *exe, const char *name, const char *const *args);
/* Kill with `signo`, reap; returns the wait status. */
int svc_kill(svc_fixture *f, int signo);
/* Start it again on the same socket (a manager's respawn). */
void svc_respawn(svc_fixture *f);
/* SIGTERM; checks a clean exit (0); removes the temp dir. */
void svc_stop(svc_fixture *f);
bool svc_alive(svc_fixture *f);
/* A loop-less client (sync calls, events by hv_conn_dispatch). */
hv_conn *svc_connect(const svc_fixture *f);
/* A raw socket to the service, for peers that misbehave. */
int svc_raw_socket(const svc_fixture *f);
/* An AF_UNIX stream socket (close-on-exec) and path's address in sa; the
 * test ends if path does not fit. */
int svc_unix_socket(const char *path, struct sockaddr_un *sa);
/* In a forked child about to exec a service: die with the test
 * (PDEATHSIG), LeakSanitizer off (the service's pledge forbids its
 * ptrace), and with listen_fd >= 0 that socket handed over as fd 3 with
 * LISTEN_FDS=1, LISTEN_PID and LISTEN_FDNAMES=name (else LISTEN_FDS unset). */
void svc_child_setup(int listen_fd, const char *name);
/* Run client(k, report_fd, ud) in n forked processes at once (k = 0..n-1);
 * each reports what it got as uint64_t values written to report_fd (one
 * pipe for all: values that belong together go in ONE write, which a pipe
 * keeps whole, or another client's land between them). Every
 * client must exit 0 (the test ends otherwise); returns how many values
 * were collected into out (at most max). */
size_t svc_run_clients(int n, void (*client)(int k, int report_fd, void *ud), void *ud,
		       uint64_t *out, size_t max);
/* No two of the n values are equal (ids handed out under concurrency). */
bool svc_all_distinct(const uint64_t *v, size_t n);
/* Run argv with stdin from in_fd (-1: /dev/null), stdout into out (NUL
 * terminated, truncated to size; NULL: discarded), stderr into err likewise.
 * Returns the exit status, or -1 when killed by a signal. */
int run_cmd(char *const argv[], int in_fd, char *out, size_t size, char *err, size_t err_size);
/* Whether the service's log (f->log) says `words` within ms milliseconds;
 * when not, the log is printed. */
/* The pid of parent's child whose command is comm (a service SystemServer
 * started: SO_PEERCRED would name the manager, which made the listening
 * socket), or 0 if there is none. */
pid_t svc_find_child(pid_t parent, const char *comm);
bool svc_log_says(const svc_fixture *f, const char *words, int ms);
/* Write text to path (created 0644 or truncated); ends the test on failure. */
void svc_write_file(const char *path, const char *text);
/* Dispatch what has arrived on c without waiting. */
void drain(hv_conn *c);
