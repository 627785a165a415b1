/* ChessEngine.h — the service's parts and how they meet: the handlers
 * (ChessEngine.c), the search jobs on worker threads (jobs.c), the UCI
 * engine child (backend.c) and the process around them (process.c). */
#pragma once

#include <haven/ipc.h>

#include "ChessClient.ipc.h"
#include "ChessEngine.ipc.h"
#include "chess.h"
#include "engine.h"

#define CE_HASH_MB 16	  /* transposition table per connection */
#define CE_MAX_PERFT 7	  /* perft depth a client may ask (~3.2e9 nodes at most from the start) */
#define CE_MAX_DEPTH 64	  /* Limits.depth */
#define CE_MAX_MOVES 2048 /* plies in one game */
#define CE_MAX_PGN (1u << 20)

extern const chess_engine_handlers ce_handlers;

struct ce_job;
struct ce_backend;

/* One client: its game and its search. */
struct ce_peer {
	hv_conn *conn;
	ch_game game;
	ch_search *search; /* created on the first search of the own engine */
	struct ce_job *job; /* the running search (own engine), or NULL */
	struct ce_backend *backend; /* the UCI child, started on first use */
	uint64_t next_id;
	uint64_t backend_search; /* id of the search the backend runs, or 0 */
};
int ce_peer_init(hv_conn *c, void *state);
void ce_peer_fini(hv_conn *c, void *state);

/* jobs.c: a search or perft of the own engine on a thread; its events are
 * posted to the loop and sent from there. Returns 0 or a negative errno. */
int ce_job_start(struct ce_peer *peer, uint64_t id, const ch_limits *lim, hv_call *perft_call,
		 int perft_depth);
void ce_job_stop(struct ce_peer *peer);
/* The peer is leaving: stop the job and wait for its thread. */
void ce_job_abandon(struct ce_peer *peer);

/* backend.c: the UCI engine as a sandboxed child. */
extern const char *ce_uci_engine;     /* --uci-engine PATH; NULL: none */
extern int64_t ce_backend_timeout_ms; /* --uci-timeout: a silent backend is hung */
int ce_backend_go(struct ce_peer *peer, uint64_t id, const ch_limits *lim);
void ce_backend_stop(struct ce_peer *peer);
void ce_backend_free(struct ce_backend *b);

/* Sending the search's end to the client (ChessEngine.c). */
void ce_send_best(struct ce_peer *peer, uint64_t id, const ch_pos *pos, ch_move best,
		  ch_move ponder);
void ce_send_info(struct ce_peer *peer, uint64_t id, const ch_info *info);

/* process.c */
extern bool ce_uci_mode;
int ce_uci_run(void);
/* The service as described, or — with a UCI engine to run — with the
 * promises and read-only system view that starting it needs. */
const struct hv_service *ce_with_backend(const struct hv_service *svc);
