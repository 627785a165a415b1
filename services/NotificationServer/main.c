/* NotificationServer — the session's notifications: a priority queue of
 * what to show, Do Not Disturb, history, actions sent back to their owner.
 *
 *   NotificationServer [--socket PATH] [--state-dir DIR] [--max-visible N] [--history N]
 *
 * Every change is saved to the state directory (default $XDG_RUNTIME_DIR/
 * haven/NotificationServer) before it is acknowledged, so a respawn keeps it.
 */
#include <haven/service.h>

#include "NotificationServer.h"

static const char *state_dir;
static int64_t max_visible, history; /* 0: the queue's defaults */

static int setup(hv_server *srv) { return nq_server_setup(srv, &state_dir, max_visible, history); }

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
	.conn_size = sizeof(struct nq_conn),
	.conn_init = nq_conn_init,
	.conn_fini = nq_conn_fini,
	.setup = setup,
	.teardown = nq_server_teardown,
	/* Clients and their icons (fds in), events out, and the state directory. */
	.unveil = (const hv_unveil_rule[]){HV_UNVEIL(state_dir, "rwc"), {0}},
	.pledge = "stdio rpath wpath cpath recvfd sendfd",
};

int main(int argc, char **argv) { return hv_service_main(&notification_server, argc, argv); }
