/* NotificationServer — the session's notifications: a priority queue of
 * what to show, Do Not Disturb, history, actions sent back to their owner.
 *
 *   NotificationServer [--socket PATH] [--state-dir DIR] [--max-visible N] [--history N]
 *
 * Every change is saved to the state directory (default $XDG_RUNTIME_DIR/
 * haven/NotificationServer) before it is acknowledged, so a respawn keeps it.
 */
#include <haven/log.h>
#include <haven/service.h>

#include "NotificationServer.h"

static const char *state_dir;
static int64_t max_visible, history; /* 0: the queue's defaults */

static int setup(hv_server *srv)
{
	static char dir[4096];
	nq_config cfg = {.default_timeout_ms = {-1, -1, -1},
			    .max_visible = (unsigned)max_visible,
			    .history_max = (unsigned)history};
	nq_queue *queue;
	int r = hv_state_dir_arg(state_dir, "NotificationServer", dir, sizeof(dir), &state_dir);
	if (r >= 0 && (r = nq_server_attach(srv, hv_server_loop(srv), &cfg, state_dir, &queue)) < 0)
		hv_log_errno(r, "Failed to set up the queue");
	return r;
}

static void teardown(int code) { nq_server_detach(); }

static const hv_service notification_server = {
	.name = "NotificationServer",
	.summary = "Serves NotificationServer.ipc: the session's notifications.",
	.endpoint = &notification_server_endpoint,
	.handlers = &nq_handlers,
	.options = (const hv_option[]){
		HV_OPT_STRING("state-dir", "DIR", &state_dir, "where notifications survive a crash (default\n"
			      "$XDG_RUNTIME_DIR/haven/NotificationServer; \"-\": memory only)"),
		HV_OPT_INT("max-visible", "N", &max_visible, 1, 64, "non-critical notifications on screen at once (default 3)"),
		HV_OPT_INT("history", "N", &history, 1, 100000, "closed notifications remembered (default 100)"),
		{0}},
	.setup = setup,
	.teardown = teardown,
	/* Clients and their icons (fds in), events out, and the state directory. */
	.unveil = (const hv_unveil_rule[]){HV_UNVEIL(state_dir, "rwc"), {0}},
	.pledge = "stdio rpath wpath cpath recvfd sendfd",
};

int main(int argc, char **argv) { return hv_service_main(&notification_server, argc, argv); }
