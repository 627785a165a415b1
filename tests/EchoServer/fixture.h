/* fixture.h — start EchoServer the way a person or a manager would, in a
 * private temp dir, for the EchoServer tests. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <haven/ipc.h>

typedef struct echo_fixture {
	char dir[64];	/* mkdtemp'd, removed by stop */
	char sock[128]; /* dir/echo: also the "echo" portal with HAVEN_PORTAL_DIR=dir */
	pid_t pid;
} echo_fixture;

/* fork+exec `server --socket dir/echo` (listen_fds false) or hand it a
 * listening socket as fd 3 with LISTEN_FDS=1 (listen_fds true); returns once
 * the socket accepts connections. Aborts the test on failure. */
void echo_fixture_start(echo_fixture *f, const char *server, bool listen_fds);
/* SIGTERM; checks the server exits 0 (a clean shutdown); removes the dir. */
void echo_fixture_stop(echo_fixture *f);
/* true while the server process has not exited. */
bool echo_fixture_alive(echo_fixture *f);
/* A loop-less client connection (sync calls). */
hv_conn *echo_fixture_connect(const echo_fixture *f);
/* A raw connected socket to the server (for misbehaving peers). */
int echo_fixture_raw_socket(const echo_fixture *f);
/* A numeric field of /proc/PID/status ("Seccomp", "NoNewPrivs"), -1 if absent. */
int proc_status_field(pid_t pid, const char *key);
/* Run argv (argv[0] a path) with stdout+stderr captured into out (NUL
 * terminated, truncated to size); returns the exit status or -1 if killed. */
int run_capture(char *const argv[], char *const envp_extra[], char *out, size_t size);
