/* WebServer — static files over HTTP/1.1 from a document root.
 *
 *   WebServer --root DIR [--port N] [--listen ADDR] [--workers N] ...
 *
 * Under SystemServer it takes the manager's TCP sockets (ListenStream=,
 * LISTEN_FDS) and never binds. Sandbox: the root read-only (Landlock),
 * each worker pledged "stdio rpath accept": it accepts on the sockets it
 * was given but creates none, and cannot exec. */
#include "server.h"

static const hv_option options[] = {
	HV_OPT_STRING("root", "DIR", &ws_opts.root, "the document root (required)"),
	HV_OPT_INT("port", "N", &ws_opts.port, 1, 65535, "port when started by hand (8080)"),
	HV_OPT_STRING("listen", "ADDR", &ws_opts.listen, "address when started by hand (127.0.0.1)"),
	HV_OPT_INT("workers", "N", &ws_opts.workers, 1, WS_MAX_WORKERS, "processes accepting (1)"),
	HV_OPT_STRING("index", "NAME", &ws_opts.index, "a directory's index file (index.html)"),
	HV_OPT_FLAG("autoindex", &ws_opts.autoindex, "list directories without an index"),
	HV_OPT_CUSTOM("header", "'NAME: VALUE'", ws_opt_header, &ws_opts.headers,
		      "add a header to every response (repeatable)"),
	HV_OPT_STRING("mime-types", "FILE", &ws_opts.mime_types, "types by extension (/etc/mime.types)"),
	HV_OPT_FLAG("no-access-log", &ws_opts.no_access_log, "no combined-format line per request"),
	HV_OPT_INT("max-connections", "N", &ws_opts.max_connections, 1, 1000000,
		   "per worker; beyond it clients wait in the backlog (16384)"),
	HV_OPT_INT("keepalive-timeout", "S", &ws_opts.keepalive_s, 1, 3600, "idle connection (75)"),
	HV_OPT_INT("header-timeout", "S", &ws_opts.header_s, 1, 3600, "to send a request head (10)"),
	HV_OPT_INT("send-timeout", "S", &ws_opts.send_s, 1, 3600, "client reading nothing (60)"),
	HV_OPT_INT("cache-valid-ms", "MS", &ws_opts.cache_valid_ms, 0, 3600000,
		   "how long an open file is trusted before its path is checked (1000)"),
	{ 0 },
};

static const ws_service web_server = {
	.name = "WebServer",
	.summary = "Serves a directory over HTTP/1.1: GET and HEAD, ranges, conditional\n"
		   "requests, precompressed siblings, keep-alive and pipelining.",
	.options = options,
	.root_perms = "r",
	.worker_pledge = "stdio rpath accept",
	.master_pledge = "stdio proc",
};

int main(int argc, char **argv) { return ws_main(&web_server, argc, argv); }
