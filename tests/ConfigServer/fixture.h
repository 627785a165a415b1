/* fixture.h — ConfigServer processes for the tests, started the way
 * SystemServer starts them: the test binds and listens (keeping the socket
 * across restarts, as the manager does) and hands the socket over as fd 3
 * with LISTEN_FDS. Setup failures end the test (exit 1) with a message. */
#pragma once

#include <sys/types.h>

#include <haven/ipc.h>

typedef struct cfg_fixture {
	const char *server;
	char dir[64];	    /* mkdtemp'd; removed by cfg_fixture_cleanup */
	char sock[128];	    /* dir/config */
	char user_dir[128]; /* dir/user: --config-dir */
	char defs_dir[128]; /* dir/defaults: --defaults (created) */
	int listen_fd;
	pid_t pid;
} cfg_fixture;

void cfg_fixture_init(cfg_fixture *f, const char *server);
void cfg_fixture_start(cfg_fixture *f);
/* Send sig and reap; returns the wait status. */
int cfg_fixture_kill(cfg_fixture *f, int sig);
void cfg_fixture_cleanup(cfg_fixture *f);
/* A loop-less connection with a generous call timeout (only against hangs). */
hv_conn *cfg_fixture_connect(const cfg_fixture *f);
/* Write text to path; ends the test on failure. */
void cfg_write_file(const char *path, const char *text);
/* Run argv with stdin_text (NULL: /dev/null) on stdin, stdout and stderr
 * captured into out (NUL-terminated, truncated); returns the exit status,
 * or -1 if it was killed. */
int run_capture(char *const argv[], const char *stdin_text, char *out, size_t size);
