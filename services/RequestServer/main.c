/* RequestServer — fetches URLs for processes that must not touch the
 * network themselves: HTTP/1.1, HTTP/2 and HTTPS on libcurl's multi
 * interface driven by the service's loop, gemini:// over OpenSSL, file://
 * under one unveiled directory; names resolve through LookupServer.
 *
 *   RequestServer [--socket PATH] [--lookup-socket PATH] [--ca-file FILE]
 *                 [--file-root DIR] [--cookie-file FILE] [--proxy URL]
 *                 [--gemini-known-hosts FILE]
 *                 [--connect-timeout MS] [--idle-timeout MS] ...
 *
 * Sandbox: the network (inet), unix (to reach LookupServer), the CA store
 * and the file:// root read-only, the cookie jar's directory; no exec. */
#include <haven/service.h>

#include "RequestServer.h"

static const hv_service request_server = {
	.name = "RequestServer",
	.summary = "Serves RequestServer.ipc: HTTP, HTTPS, Gemini and file:// requests on behalf of\n"
		   "clients, bodies streamed into the fd each client hands over.",
	.endpoint = &request_server_endpoint,
	.handlers = &rqs_handlers,
	.options = rqs_option_table,
	.conn_size = sizeof(struct rqs_client),
	.conn_init = rqs_client_init,
	.conn_fini = rqs_client_fini,
	.setup = rqs_setup,
	.teardown = rqs_teardown,
	.unveil = (const hv_unveil_rule[]){
		HV_UNVEIL_IF_EXISTS(rqs_opts.ca_file, "r"),
		HV_UNVEIL(rqs_opts.file_root, "r"),
		HV_UNVEIL(rqs_opts.cookie_dir, "rwc"),
		HV_UNVEIL(rqs_opts.gemini_dir, "rwc"),
		{0}},
	/* + "wpath cpath" with a cookie jar (--cookie-file): process.c. */
	.pledge = rqs_pledge,
};

int main(int argc, char **argv) { return hv_service_main(&request_server, argc, argv); }
