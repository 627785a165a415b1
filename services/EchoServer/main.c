/* EchoServer — answers every EchoServer.ipc message with what it was sent.
 *
 *   EchoServer [--socket PATH]
 *
 * Started by SystemServer it serves the socket it is handed (LISTEN_FDS);
 * started by hand, --socket PATH makes it listen there.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <haven/ipc.h>
#include <haven/log.h>
#ifdef HAVE_SANDBOX
#include <haven/sandbox.h>
#endif

#include "EchoServer.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: EchoServer [--socket PATH]\n"
		   "Echo service: serves EchoServer.ipc on PATH, or on the socket(s) handed\n"
		   "over by a service manager (LISTEN_FDS) when --socket is not given.\n");
}

#ifdef HAVE_SANDBOX
/* Serve connected clients, accept new ones, pass fds: nothing else. Started
 * by hand (--socket), the server also removes its socket file on exit, which
 * needs "cpath" on that one directory and nowhere else. */
static int enter_sandbox(const char *socket_path)
{
	const char *promises = "stdio recvfd sendfd accept";
	if (socket_path) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", socket_path);
		char *slash = strrchr(dir, '/');
		if (!slash)
			snprintf(dir, sizeof dir, ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
		int r = hv_unveil(dir, "c");
		/* No Landlock in this kernel: logged by lib/sandbox; seccomp still applies. */
		if (r < 0 && r != -ENOSYS && r != -EOPNOTSUPP)
			return r;
		promises = "stdio recvfd sendfd accept cpath";
	}
	return hv_pledge(promises, NULL);
}
#endif

int main(int argc, char **argv)
{
	const char *socket_path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--socket") || ++i == argc) {
			usage(stderr);
			return 2;
		}
		socket_path = argv[i];
	}

	hv_loop *loop = NULL;
	hv_server *srv = NULL;
	int r = hv_loop_new(&loop);
	if (r < 0)
		return hv_log_errno(r, "Failed to create the event loop"), 1;
	if ((r = hv_loop_quit_on_signals(loop)) < 0)
		goto out;
	if ((r = hv_server_new(loop, &echo_server_endpoint, &echo_handlers, &srv)) < 0) {
		hv_log_errno(r, "Failed to create the server");
		goto out;
	}
	echo_server_track_connections(srv);
	/* EchoBuffer hands the buffer straight back and never reads it: no
	 * fcntl/fstat/mmap/munmap per call (the client maps and checks it). */
	hv_server_set_lazy_buffers(srv, true);
	if ((r = hv_server_start(srv, argc, argv)) < 0)
		goto out;
#ifdef HAVE_SANDBOX
	if ((r = enter_sandbox(socket_path)) < 0) {
		hv_log_errno(r, "Failed to enter the sandbox");
		goto out;
	}
#else
	(void)socket_path;
#endif
	r = hv_loop_run(loop);
out:
	hv_server_free(srv);
	hv_loop_free(loop);
	return r < 0 ? 1 : 0;
}
