/* FileOperation — copies, moves and deletes files and trees for one
 * client, in a process of its own that sees only what it was handed
 * (docs/fileoperation.md).
 *
 *   FileOperation [--socket PATH] [--debug-pause-at BYTES]
 *
 * SystemServer starts one per connection (AcceptSocketConnections): one
 * operation, one process. The client passes directory fds with `start`;
 * the process confines itself to them (Landlock, confine.c) and works on
 * a thread (worker.c) while the loop sends progress and takes pause,
 * resume, cancel and answers to conflicts (FileOperation.c). */
#include <haven/service.h>

#include "FileOperation.h"

/* The first view: everything (what its uid may). Started by hand
 * (--socket), the runner would otherwise narrow it to the socket's
 * directory before the client speaks; confine.c narrows it per operation. */
static const char *root = "/";

static const hv_service file_operation = {
	.name = "FileOperation",
	.summary = "Copies, moves and deletes files for one client, confined to the directories\n"
		   "it was handed; progress, pause, resume, cancel and conflicts by events.",
	.endpoint = &file_operation_server_endpoint,
	.handlers = &fo_handlers,
	.options = (const hv_option[]){
		HV_OPT_INT("debug-pause-at", "BYTES", &fo_debug_pause_at, 0, INT64_MAX,
			   "pause once BYTES are done (tests only)"),
		{0}},
	/* One client, one operation, one process, which ends with it. */
	.max_connections = 1,
	.exit_when_idle = true,
	.conn_fini = fo_conn_fini,
	.teardown = fo_teardown,
	/* Files through the fds it is handed (paths are narrowed per
	 * operation, confine.c): read, create, write, remove; modes, times
	 * and xattrs (fattr), owners (chown); the worker (thread). */
	.unveil = (const hv_unveil_rule[]){HV_UNVEIL(root, "rwc"), {0}},
	.pledge = "stdio rpath wpath cpath fattr chown thread recvfd",
};

int main(int argc, char **argv) { return hv_service_main(&file_operation, argc, argv); }
