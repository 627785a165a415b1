/* chess_client.h — the client library of ChessEngine: a blocking
 * connection with one game, and searches whose info events reach a
 * callback. `chess` and the tests use only this.
 *
 *	chc *c;
 *	chc_open(NULL, &c);                              // the "chess" portal
 *	chc_set_position(c, "startpos", moves, n, NULL);
 *	chess_engine_limits lim = {.depth = 8, .skill = 20};
 *	char best[CHC_MOVE_MAX];
 *	chc_search(c, &lim, NULL, NULL, best, NULL);
 *	chc_close(c);
 *
 * Errors: a negative errno (transport) or a CHESS_ENGINE_ERR_* (the
 * service's refusal; chc_strerror has its message, e.g. the FEN field). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ChessClient.ipc.h"
#include "ChessEngine.ipc.h"

#define CHC_MOVE_MAX 16
#define CHC_FEN_MAX 100
/* The search failed on the service's side (search_failed): chc_strerror
 * then has its reason. */
#define CHC_ERR_SEARCH_FAILED (-5097)

typedef struct chc chc;

typedef struct chc_state {
	char fen[CHC_FEN_MAX];
	chess_engine_outcome outcome;
	bool in_check;
	unsigned repetitions, moves;
} chc_state;

#define CHC_PORTAL "chess"
/* socket_path NULL: the "chess" portal. */
int chc_open(const char *socket_path, chc **out);
/* Use a connection made elsewhere (cli_connect); it is the chc's now,
 * closed on failure too. */
int chc_from_conn(hv_conn *conn, chc **out);
void chc_close(chc *c);
hv_conn *chc_conn(chc *c);
/* How long a call, or a search's silence, may last before -ETIMEDOUT
 * (ms; < 0, the default: for ever). */
void chc_set_timeout(chc *c, int timeout_ms);
const char *chc_strerror(chc *c, int r);
const char *chc_outcome_name(chess_engine_outcome o);

int chc_set_position(chc *c, const char *fen, const char *const *moves, size_t nmoves,
		     chc_state *st);
int chc_play(chc *c, const char *move, char uci[CHC_MOVE_MAX], char san[CHC_MOVE_MAX],
	     chc_state *st);
int chc_state_get(chc *c, chc_state *st);
int chc_perft(chc *c, unsigned depth, uint64_t *nodes);

/* Run a search to its end: info events go to `info` (may be NULL); the
 * best move in UCI (and SAN, may be NULL). */
typedef void (*chc_info_fn)(void *ud, const chess_client_info_req *info);
int chc_search(chc *c, const chess_engine_limits *lim, chc_info_fn info, void *ud,
	       char best[CHC_MOVE_MAX], char san[CHC_MOVE_MAX]);
/* Start a search and return (its id in *id); chc_wait() waits for its end. */
int chc_go(chc *c, const chess_engine_limits *lim, uint64_t *id);
int chc_wait(chc *c, chc_info_fn info, void *ud, char best[CHC_MOVE_MAX],
	     char san[CHC_MOVE_MAX]);
int chc_stop(chc *c);
