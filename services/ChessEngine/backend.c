/* backend.c — a UCI engine behind the endpoint (not yet: see
 * docs/chessengine.md). */
#include "ChessEngine.h"

const char *ce_uci_engine = "/usr/games/stockfish";
int64_t ce_backend_timeout_ms = 10000;

int ce_backend_go(struct ce_peer *peer, uint64_t id, const ch_limits *lim)
{
	(void)peer;
	(void)id;
	(void)lim;
	return CHESS_ENGINE_ERR_NO_ENGINE;
}

void ce_backend_stop(struct ce_peer *peer)
{
	(void)peer;
}

void ce_backend_free(struct ce_backend *b)
{
	(void)b;
}
