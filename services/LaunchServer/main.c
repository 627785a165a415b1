/* LaunchServer — opens files and URLs with the user's applications: the
 * freedesktop world (desktop entries, shared-mime-info, libmagic,
 * mimeapps.list), SerenityOS's endpoint, and a sealed allowlist per
 * connection, so a sandboxed client may open its help page and nothing
 * else.
 *
 *   LaunchServer [--socket PATH] [--terminal CMD] [--magic FILE] [--app-output]
 *
 * Sandbox: applications are started by a helper forked in setup, before
 * the sandbox (spawn.h); the service itself then sees only the XDG
 * application, MIME and config directories (read-only; $XDG_CONFIG_HOME
 * writable for mimeapps.list), with no exec and no new sockets. */
#include <haven/service.h>

#include "LaunchServer.h"

static const hv_service launch_server = {
	.name = "LaunchServer",
	.summary = "Serves LaunchServer.ipc: file and URL associations, default applications,\n"
		   "and starting applications from their desktop entries.",
	.endpoint = &launch_server_endpoint,
	.handlers = &lch_handlers,
	.options = lch_option_table,
	.conn_size = sizeof(struct lch_client),
	.conn_fini = lch_client_fini,
	.setup = lch_setup,
	.teardown = lch_teardown,
	.unveil = lch_unveil_rules,
	/* rpath: desktop entries and files to classify; wpath cpath:
	 * mimeapps.list; no proc, no exec: the spawner does that. */
	.pledge = "stdio rpath wpath cpath recvfd",
};

int main(int argc, char **argv)
{
	return hv_service_main(&launch_server, argc, argv);
}
