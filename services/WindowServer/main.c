/* WindowServer — composes clients' windows onto a screen and routes input
 * to them (docs/windowserver.md).
 *
 * The theme and the font are read before the sandbox is entered (process.c);
 * after that the service opens no file: it serves clients, takes their
 * memfds and hands out screenshots (and, with the vnc backend, serves
 * viewers on the TCP socket it made before: "inet"). */
#include <haven/service.h>

#include "WindowServer.h"

static hv_service windowserver = {
	.name = "WindowServer",
	.summary = "Serves WindowServer.ipc: composes clients' windows and routes input to them.",
	.endpoint = &window_server_endpoint,
	.handlers = &ws_handlers,
	.options = ws_options,
	.conn_size = sizeof(struct ws_client),
	.conn_init = ws_client_init,
	.conn_fini = ws_client_fini,
	.setup = ws_setup,
	.teardown = ws_teardown,
	/* Backing stores are mapped by the service itself, read-only, and only
	 * when a new one arrives (a flip between two costs no mmap). */
	.lazy_buffers = true,
	/* No files once running: theme and font are in memory. */
	.unveil = (const hv_unveil_rule[]){{0}},
};

int main(int argc, char **argv)
{
	int r = hv_service_parse(&windowserver, argc, argv);
	if (r != 1)
		return hv_options_exit_code(r);
	windowserver.pledge = ws_promises(); /* depends on --backend */
	return hv_service_run(&windowserver);
}
