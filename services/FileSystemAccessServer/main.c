/* FileSystemAccessServer — files for processes that have no filesystem,
 * by the person's consent, through prompt agents; "always" answers kept in
 * DIR/grants (docs/filesystemaccessserver.md). One per user. */
#include <haven/service.h>

#include "FileSystemAccessServer.h"

#define PROMISES "stdio rpath wpath cpath sendfd unix"

static hv_service fsa_service = {
	.name = "FileSystemAccessServer",
	.summary = "Hands sandboxed clients open files the person allowed (prompt agents: fsa agent).",
	.endpoint = &file_system_access_server_endpoint,
	.handlers = &fsa_handlers,
	.options = (const hv_option[]){
		HV_OPT_STRING("state-dir", "DIR", &fsa_state_dir, "where grants are kept ('-': nowhere)"),
		HV_OPT_INT("prompt-timeout", "S", &fsa_prompt_timeout_s, 1, 3600,
			   "seconds a question waits before it is denied (default 60)"),
		HV_OPT_CUSTOM("agent-exe", "PATH", fsa_parse_agent_exe, &fsa_agent_exes,
			      "an executable trusted as prompt agent (repeatable;\ndefault: fsa)"),
		{0}},
	.conn_size = sizeof(struct fsa_peer),
	.conn_fini = fsa_peer_fini,
	.setup = fsa_setup,
	.teardown = fsa_teardown,
	/* The user's files for its clients; no Landlock domain, which would
	 * hide the clients' /proc/PID/exe. "unix": NotificationServer. */
	.pledge = PROMISES,
};

int main(int argc, char **argv)
{
	int r = hv_service_parse(&fsa_service, argc, argv);
	if (r != 1)
		return hv_options_exit_code(r);
	/* By hand, "unveil" keeps the socket directory's rule pending. */
	if (hv_service_socket_path())
		fsa_service.pledge = PROMISES " unveil";
	return hv_service_run(&fsa_service);
}
