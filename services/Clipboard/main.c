/* Clipboard — the session's clipboard: entries with several MIME
 * representations in shared memory, a bounded history, change events.
 *
 *   Clipboard [--socket PATH] [--state-dir DIR] [--history N]
 *
 * Started by SystemServer it serves the socket it is handed (LISTEN_FDS);
 * --socket PATH makes it listen there when started by hand. Every change is
 * written to the state directory (default $XDG_RUNTIME_DIR/haven/Clipboard)
 * before it is acknowledged, so a respawned Clipboard has it all.
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

#include "Clipboard.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: Clipboard [--socket PATH] [--state-dir DIR] [--history N]\n"
		"Serves ClipboardServer.ipc on PATH, or on the socket handed over by a\n"
		"service manager (LISTEN_FDS).\n"
		"  --state-dir DIR  where entries survive a crash (default\n"
		"                   $XDG_RUNTIME_DIR/haven/Clipboard; \"-\" keeps them in memory)\n"
		"  --history N      entries kept, 1..%u (default: ConfigServer's\n"
		"                   Clipboard/History/Size, else %u)\n",
		HV_CLIP_MAX_HISTORY, HV_CLIP_DEFAULT_HISTORY);
}

int main(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_STATE_DIR, OPT_HISTORY };
	static const struct option options[] = {
		{"socket", required_argument, NULL, OPT_SOCKET}, /* read by hv_server_start */
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"history", required_argument, NULL, OPT_HISTORY},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *state_dir = NULL;
	int64_t history = 0;
	for (int c; (c = getopt_long(argc, argv, "h", options, NULL)) != -1;) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case OPT_SOCKET:
			break;
		case OPT_STATE_DIR:
			state_dir = optarg;
			break;
		case OPT_HISTORY:
			if (hv_parse_i64(optarg, 1, HV_CLIP_MAX_HISTORY, &history) == 0)
				break;
			fprintf(stderr, "Clipboard: --history: not a number in 1..%u: %s\n",
				HV_CLIP_MAX_HISTORY, optarg);
			/* fall through */
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "Clipboard: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	char dir[4096];
	if (hv_state_dir_arg(state_dir, "Clipboard", dir, sizeof(dir), &state_dir) < 0)
		return 1;

	hv_loop *loop = NULL;
	hv_server *srv = NULL;
	hv_clip_store *store = NULL;
	int r = hv_loop_new(&loop);
	if (r < 0)
		return hv_log_errno(r, "Failed to create the event loop"), 1;
	if ((r = hv_clip_store_new(state_dir, history ? (size_t)history : HV_CLIP_DEFAULT_HISTORY, 0,
				   &store)) < 0)
		goto out;
	if ((r = hv_loop_quit_on_signals(loop)) < 0)
		goto out;
	if ((r = hv_server_new(loop, &clipboard_server_endpoint, &clipboard_handlers, &srv)) < 0) {
		hv_log_errno(r, "Failed to create the server");
		goto out;
	}
	clipboard_attach(srv, store);
	if ((r = hv_server_start(srv, argc, argv)) < 0)
		goto out;
	/* An explicit --history wins over the setting. */
	if (!history)
		clipboard_follow_config(loop, store);
#ifdef HAVE_SANDBOX
	/* From here on: the state directory, clients, memfds; nothing else. */
	if (state_dir && (r = hv_unveil(state_dir, "rwc")) < 0) {
		hv_log_errno(r, "Failed to unveil %s", state_dir);
		goto out;
	}
	if ((r = hv_pledge("stdio rpath wpath cpath unix recvfd sendfd accept", NULL)) < 0) {
		hv_log_errno(r, "Failed to pledge");
		goto out;
	}
#endif
	r = hv_loop_run(loop);
out:
	clipboard_detach();
	hv_server_free(srv);
	hv_clip_store_free(store);
	hv_loop_free(loop);
	return r < 0 ? 1 : 0;
}
