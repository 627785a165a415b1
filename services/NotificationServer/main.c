/* NotificationServer — the session's notifications: a priority queue of
 * what to show, Do Not Disturb, history, actions sent back to their owner.
 *
 *   NotificationServer [--socket PATH] [--state-dir DIR] [--max-visible N] [--history N]
 *
 * Started by SystemServer it serves the socket it is handed (LISTEN_FDS);
 * --socket PATH makes it listen there when started by hand. Every change is
 * saved to the state directory (default $XDG_RUNTIME_DIR/haven/
 * NotificationServer) before it is acknowledged, so a respawn keeps it.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <haven/ipc.h>
#include <haven/log.h>
#ifdef HAVE_SANDBOX
#include <haven/sandbox.h>
#endif

#include "NotificationServer.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: NotificationServer [--socket PATH] [--state-dir DIR] [--max-visible N]\n"
		"                          [--history N]\n"
		"Serves NotificationServer.ipc on PATH, or on the socket handed over by a\n"
		"service manager (LISTEN_FDS).\n"
		"  --state-dir DIR  where notifications survive a crash (default\n"
		"                   $XDG_RUNTIME_DIR/haven/NotificationServer; \"-\": memory only)\n"
		"  --max-visible N  non-critical notifications on screen at once (default %u)\n"
		"  --history N      closed notifications remembered (default %u)\n",
		HV_NQ_DEFAULT_VISIBLE, HV_NQ_DEFAULT_HISTORY);
}

int main(int argc, char **argv)
{
	hv_nq_config cfg = {.default_timeout_ms = {-1, -1, -1}};
	enum { OPT_SOCKET = 256, OPT_STATE_DIR, OPT_MAX_VISIBLE, OPT_HISTORY };
	static const struct option options[] = {
		{"socket", required_argument, NULL, OPT_SOCKET}, /* read by hv_server_start */
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"max-visible", required_argument, NULL, OPT_MAX_VISIBLE},
		{"history", required_argument, NULL, OPT_HISTORY},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *state_dir = NULL;
	for (int c; (c = getopt_long(argc, argv, "h", options, NULL)) != -1;) {
		int64_t v, max = c == OPT_MAX_VISIBLE ? 64 : 100000;
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case OPT_SOCKET:
			break;
		case OPT_STATE_DIR:
			state_dir = optarg;
			break;
		case OPT_MAX_VISIBLE:
		case OPT_HISTORY:
			if (hv_parse_i64(optarg, 1, max, &v) == 0) {
				*(c == OPT_MAX_VISIBLE ? &cfg.max_visible : &cfg.history_max) = (unsigned)v;
				break;
			}
			fprintf(stderr, "NotificationServer: --%s: not a number in 1..%lld: %s\n",
				c == OPT_MAX_VISIBLE ? "max-visible" : "history", (long long)max, optarg);
			/* fall through */
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "NotificationServer: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	char dir[4096];
	if (hv_state_dir_arg(state_dir, "NotificationServer", dir, sizeof(dir), &state_dir) < 0)
		return 1;

	hv_loop *loop = NULL;
	hv_server *srv = NULL;
	hv_nq *queue = NULL;
	int r = hv_loop_new(&loop);
	if (r < 0)
		return hv_log_errno(r, "Failed to create the event loop"), 1;
	if ((r = hv_loop_quit_on_signals(loop)) < 0)
		goto out;
	if ((r = hv_server_new(loop, &notification_server_endpoint, &notification_handlers,
			       &srv)) < 0) {
		hv_log_errno(r, "Failed to create the server");
		goto out;
	}
	if ((r = notification_server_attach(srv, loop, &cfg, state_dir, &queue)) < 0) {
		hv_log_errno(r, "Failed to set up the queue");
		goto out;
	}
	if ((r = hv_server_start(srv, argc, argv)) < 0)
		goto out;
#ifdef HAVE_SANDBOX
	/* From here on: clients and their icons (fds in), events out, and the
	 * state directory. */
	if (state_dir && (r = hv_unveil(state_dir, "rwc")) < 0) {
		hv_log_errno(r, "Failed to unveil %s", state_dir);
		goto out;
	}
	if ((r = hv_pledge("stdio rpath wpath cpath recvfd sendfd accept", NULL)) < 0) {
		hv_log_errno(r, "Failed to pledge");
		goto out;
	}
#endif
	r = hv_loop_run(loop);
out:
	hv_server_free(srv);
	notification_server_detach();
	hv_loop_free(loop);
	return r < 0 ? 1 : 0;
}
