/* ChessEngine — chess for its clients: the rules, its own engine, or a
 * UCI engine behind the same endpoint (docs/chessengine.md).
 *
 *   ChessEngine [--socket PATH] [--uci-engine PATH]
 *   ChessEngine --uci
 *
 * Each connection has its own game and at most one search, run on a
 * thread of its own; SystemServer may start one process per client. The
 * sandbox is computation: no files, no network; with --uci-engine it may
 * also start that engine, a sandboxed child (backend.c). --uci speaks UCI
 * on stdin and stdout instead, for GUIs and tools that drive engines. */
#include <haven/service.h>

#include "ChessEngine.h"

static const hv_service chess_engine_service = {
	.name = "ChessEngine",
	.summary = "Serves ChessEngine.ipc: chess rules and engines for its clients.",
	.endpoint = &chess_engine_endpoint,
	.handlers = &ce_handlers,
	.conn_size = sizeof(struct ce_peer),
	.conn_init = ce_peer_init,
	.conn_fini = ce_peer_fini,
	.options = (const hv_option[]){
		HV_OPT_FLAG("uci", &ce_uci_mode, "speak UCI on stdin/stdout (no socket)"),
		HV_OPT_STRING("uci-engine", "PATH", &ce_uci_engine, "a UCI engine for engine=Uci"),
		HV_OPT_INT("uci-timeout", "MS", &ce_backend_timeout_ms, 100, 3600000,
			   "its silence that means hung (default 10000)"),
		{0}},
	.unveil = (const hv_unveil_rule[]){{0}},
	.pledge = "stdio thread",
};

int main(int argc, char **argv)
{
	int r = hv_service_parse(&chess_engine_service, argc, argv);
	if (r != 1)
		return hv_options_exit_code(r);
	return ce_uci_mode ? ce_uci_run() : hv_service_run(ce_with_backend(&chess_engine_service));
}
