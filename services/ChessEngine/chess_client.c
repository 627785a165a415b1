/* chess_client.c — ChessEngine's client library: calls, and the events of
 * one search dispatched with hv_conn_dispatch until best_move or
 * search_failed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/loop.h>

#include "chess_client.h"

struct chc {
	hv_conn *conn;
	int timeout_ms;
	uint64_t search_id;
	bool done;
	int status;
	chc_info_fn info;
	void *ud;
	char best[CHC_MOVE_MAX], san[CHC_MOVE_MAX];
	char reason[256];
};

static int on_info(hv_call *call, const chess_client_info_req *req)
{
	chc *c = hv_conn_userdata(hv_call_conn(call));
	if (req->search_id == c->search_id && c->info)
		c->info(c->ud, req);
	return 0;
}

static int on_best(hv_call *call, const chess_client_best_move_req *req)
{
	chc *c = hv_conn_userdata(hv_call_conn(call));
	if (req->search_id != c->search_id)
		return 0;
	snprintf(c->best, sizeof c->best, "%s", req->uci);
	snprintf(c->san, sizeof c->san, "%s", req->san);
	c->status = 0;
	c->done = true;
	return 0;
}

static int on_failed(hv_call *call, const chess_client_search_failed_req *req)
{
	chc *c = hv_conn_userdata(hv_call_conn(call));
	if (req->search_id != c->search_id)
		return 0;
	snprintf(c->reason, sizeof c->reason, "%s", req->reason);
	c->status = CHC_ERR_SEARCH_FAILED;
	c->done = true;
	return 0;
}

static const chess_client_handlers events = {
	.info = on_info,
	.best_move = on_best,
	.search_failed = on_failed,
};

int chc_from_conn(hv_conn *conn, chc **out)
{
	chc *c = calloc(1, sizeof *c);
	int r = c ? hv_conn_serve(conn, &chess_client_endpoint, &events) : -ENOMEM;
	if (r < 0) {
		hv_conn_close(conn);
		free(c);
		return r;
	}
	c->conn = conn;
	hv_conn_set_userdata(conn, c);
	c->timeout_ms = -1;
	*out = c;
	return 0;
}

int chc_open(const char *socket_path, chc **out)
{
	hv_conn *conn;
	int r = socket_path ? hv_conn_connect(NULL, socket_path, &conn)
			    : hv_conn_connect_portal(NULL, CHC_PORTAL, &conn);
	return r < 0 ? r : chc_from_conn(conn, out);
}

void chc_close(chc *c)
{
	if (!c)
		return;
	hv_conn_close(c->conn);
	free(c);
}

hv_conn *chc_conn(chc *c) { return c->conn; }

void chc_set_timeout(chc *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
	hv_conn_set_timeout(c->conn, c->timeout_ms);
}

const char *chc_strerror(chc *c, int r)
{
	if (r == CHC_ERR_SEARCH_FAILED && c)
		return c->reason;
	return hv_conn_strerror(c ? c->conn : NULL, r);
}

const char *chc_outcome_name(chess_engine_outcome o)
{
	static const char *const names[] = {"ongoing", "checkmate", "stalemate", "fifty-move rule",
					    "threefold repetition", "insufficient material"};
	return (unsigned)o < 6 ? names[o] : "?";
}

static void copy_state(const chess_engine_state *in, chc_state *st)
{
	if (!st)
		return;
	snprintf(st->fen, sizeof st->fen, "%s", in->fen);
	st->outcome = in->outcome;
	st->in_check = in->in_check;
	st->repetitions = in->repetitions;
	st->moves = in->moves;
}

int chc_set_position(chc *c, const char *fen, const char *const *moves, size_t nmoves,
		     chc_state *st)
{
	chess_engine_state s;
	int r = chess_engine_set_position(c->conn, fen ? fen : "",
					  (hv_vec_string){(const char **)moves, nmoves}, &s);
	if (r >= 0)
		copy_state(&s, st);
	return r;
}

int chc_play(chc *c, const char *move, char uci[CHC_MOVE_MAX], char san[CHC_MOVE_MAX],
	     chc_state *st)
{
	const char *u, *s;
	chess_engine_state state;
	int r = chess_engine_play(c->conn, move, &u, &s, &state);
	if (r < 0)
		return r;
	if (uci)
		snprintf(uci, CHC_MOVE_MAX, "%s", u);
	if (san)
		snprintf(san, CHC_MOVE_MAX, "%s", s);
	copy_state(&state, st);
	return 0;
}

int chc_state_get(chc *c, chc_state *st)
{
	chess_engine_state s;
	int r = chess_engine_get_state(c->conn, &s);
	if (r >= 0)
		copy_state(&s, st);
	return r;
}

int chc_perft(chc *c, unsigned depth, uint64_t *nodes)
{
	return chess_engine_perft(c->conn, depth, nodes);
}

int chc_go(chc *c, const chess_engine_limits *lim, uint64_t *id)
{
	uint64_t sid;
	int r = chess_engine_go(c->conn, *lim, &sid);
	if (r < 0)
		return r; /* a search already running keeps its id */
	c->done = false;
	c->search_id = sid;
	if (id)
		*id = sid;
	return 0;
}

int chc_wait(chc *c, chc_info_fn info, void *ud, char best[CHC_MOVE_MAX],
	     char san[CHC_MOVE_MAX])
{
	c->info = info;
	c->ud = ud;
	uint64_t last = hv_now_ns();
	while (!c->done) {
		int r = hv_conn_dispatch(c->conn, c->timeout_ms);
		if (r < 0)
			return r;
		if (r > 0)
			last = hv_now_ns();
		else if (c->timeout_ms >= 0 &&
			 hv_now_ns() - last >= (uint64_t)c->timeout_ms * 1000000u)
			return -ETIMEDOUT;
	}
	if (c->status < 0)
		return c->status;
	if (best)
		snprintf(best, CHC_MOVE_MAX, "%s", c->best);
	if (san)
		snprintf(san, CHC_MOVE_MAX, "%s", c->san);
	return 0;
}

int chc_search(chc *c, const chess_engine_limits *lim, chc_info_fn info, void *ud,
	       char best[CHC_MOVE_MAX], char san[CHC_MOVE_MAX])
{
	int r = chc_go(c, lim, NULL);
	return r < 0 ? r : chc_wait(c, info, ud, best, san);
}

int chc_stop(chc *c)
{
	int r = chess_engine_stop(c->conn);
	return r < 0 ? r : hv_conn_flush(c->conn);
}
