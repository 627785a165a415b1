/* LoginServer — logs users in with PAM and runs their sessions (greetd's
 * shape): greeters begin an attempt, answer PAM's prompts, and start the
 * session, which runs `SystemServer --user` (or the greeter's command) as
 * the user with a runtime directory; sessions are listed, locked, switched
 * and terminated through the same endpoint.
 *
 *   LoginServer [--socket PATH] [--pam-service NAME] [--runtime-root DIR]
 *               [--default-command CMD] [--autologin USER]
 *               [--fail-delay-ms MS] [--backoff-ms MS] [--backoff-max-ms MS]
 *
 * Sandbox: this process (the IPC front) holds no files and cannot exec or
 * change ids: PAM and the sessions run in workers forked by an unsandboxed
 * launcher started before the sandbox (LoginServer.h says why). */
#include <haven/service.h>

#include "LoginServer.h"

static const hv_service login_server = {
	.name = "LoginServer",
	.summary = "Serves LoginServer.ipc: PAM logins in a worker per attempt, and the\n"
		   "sessions they start.",
	.endpoint = &login_server_endpoint,
	.handlers = &lgs_handlers,
	.options = lgs_options_table,
	.conn_size = sizeof(struct lgs_peer),
	.conn_init = lgs_conn_init,
	.conn_fini = lgs_conn_fini,
	.setup = lgs_setup,
	.teardown = lgs_teardown,
	.unveil = (const hv_unveil_rule[]){{0}},
	.pledge = "stdio sendfd",
};

int main(int argc, char **argv) { return hv_service_main(&login_server, argc, argv); }
