/* test-echo-systemserver.c — EchoServer as shipped: SystemServer reads
 * etc/services/EchoServer.ini, creates the "echo" portal, starts EchoServer
 * on the first connection inside its declared sandbox, and respawns it when
 * it is killed; the client sees a clean error, then service again.
 *
 * Usage: test-echo-systemserver SystemServer EchoServer.ini EchoServer
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/ipc.h>

#include "check.h"
#include "EchoServer.ipc.h"
#include "fixture.h"
#include "service.h"

/* Hang guards only: nothing asserts that anything is fast. */
#define WAIT_ROUNDS 6000 /* x 5 ms = 30 s */

static char dir[64], portal[128];
static pid_t ss_pid;

static void start_systemserver(const char *ss, const char *ini, const char *server)
{
	strcpy(dir, "/tmp/echo-ss-XXXXXX");
	REQUIRE(mkdtemp(dir));
	snprintf(portal, sizeof portal, "%s/portal/echo", dir);
	/* Absolute: SystemServer starts services in "/" (WorkingDirectory). */
	char server_dir[PATH_MAX];
	REQUIRE(realpath(server, server_dir));
	ss_pid = fork();
	REQUIRE(ss_pid >= 0);
	if (ss_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Under ASan the service starts inside its Pledge= filter: its leak
		 * scan needs ptrace, rightly forbidden. Memory errors still abort it. */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execl(ss, ss, "--user", "--runtime-dir", dir, "--config", ini, "--service-path",
		      dirname(server_dir), (char *)NULL);
		_exit(127);
	}
}

static hv_conn *connect_portal(void)
{
	hv_conn *c = NULL;
	for (int i = 0; i < WAIT_ROUNDS; i++) {
		if (hv_conn_connect(NULL, portal, &c) == 0) {
			hv_conn_set_timeout(c, 60000);
			return c;
		}
		int status;
		REQUIRE_EQ(waitpid(ss_pid, &status, WNOHANG), 0); /* SystemServer still up */
		poll(NULL, 0, 5);
	}
	REQUIRE(!"the echo portal never appeared");
	return NULL;
}

static pid_t find_service(void) { return svc_find_child(ss_pid, "EchoServer"); }

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

int main(int argc, char **argv)
{
	REQUIRE_EQ(argc, 4);
	signal(SIGPIPE, SIG_IGN);
	start_systemserver(argv[1], argv[2], argv[3]);

	/* Lazy: the first connection starts the service. */
	hv_conn *c = connect_portal();
	const char *back;
	REQUIRE_EQ(echo_server_echo(c, "under SystemServer", &back), 0);
	REQUIRE(!strcmp(back, "under SystemServer"));

	pid_t svc = find_service();
	REQUIRE(svc > 0);
	/* Confined by the kernel: a seccomp filter and no_new_privs. */
	REQUIRE_EQ(proc_status_field(svc, "Seccomp"), 2);
	REQUIRE_EQ(proc_status_field(svc, "NoNewPrivs"), 1);

	/* Killed mid-session: the client gets a clean error, not a hang... */
	REQUIRE_EQ(kill(svc, SIGKILL), 0);
	int r = 0;
	for (int i = 0; i < WAIT_ROUNDS && r == 0; i++) {
		r = echo_server_echo(c, "still there?", &back);
		if (r == 0)
			poll(NULL, 0, 5);
	}
	REQUIRE(r == -ECONNRESET || r == -EPIPE);
	hv_conn_close(c);

	/* ...and KeepAlive brings it back on the same portal. */
	c = NULL;
	for (int i = 0; i < WAIT_ROUNDS; i++) {
		c = connect_portal();
		if (echo_server_echo(c, "respawned", &back) == 0)
			break;
		hv_conn_close(c);
		c = NULL;
		poll(NULL, 0, 5);
	}
	REQUIRE(c);
	REQUIRE(!strcmp(back, "respawned"));
	pid_t again = find_service();
	REQUIRE(again > 0 && again != svc);
	hv_conn_close(c);

	int status;
	REQUIRE_EQ(kill(ss_pid, SIGTERM), 0);
	REQUIRE_EQ(waitpid(ss_pid, &status, 0), ss_pid);
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	printf("test-echo-systemserver: ok\n");
	return 0;
}
