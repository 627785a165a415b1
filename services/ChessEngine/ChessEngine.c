/* ChessEngine.c — the handlers of ChessEngine.ipc, one per message, named
 * after it. A connection's game is a ch_game; a search reads a copy of
 * it, so the game cannot change under a search — while one runs, moves
 * and new positions are refused with Busy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>

#include "ChessEngine.h"

int ce_peer_init(hv_conn *c, void *state)
{
	struct ce_peer *p = state;
	ch_init();
	p->conn = c;
	p->next_id = 1;
	ch_pos start;
	ch_fen_parse(CH_START_FEN, &start, NULL, 0);
	ch_game_init(&p->game, &start);
	return 0;
}

void ce_peer_fini(hv_conn *c, void *state)
{
	(void)c;
	struct ce_peer *p = state;
	ce_job_abandon(p);
	ce_backend_free(p->backend);
	ch_search_free(p->search);
	ch_game_fini(&p->game);
}

static struct ce_peer *peer_of(hv_call *call)
{
	return hv_call_state(call);
}

static bool busy(const struct ce_peer *p)
{
	return p->job || p->backend_search;
}

static void fill_state(hv_call *call, const ch_game *g, chess_engine_state *st)
{
	char fen[CH_FEN_MAX];
	ch_fen_write(&g->pos, fen);
	st->fen = hv_call_strdup(call, fen);
	st->outcome = (chess_engine_outcome)ch_game_outcome(g);
	st->in_check = ch_in_check(&g->pos);
	st->repetitions = (uint32_t)ch_game_repetitions(g);
	st->moves = (uint32_t)g->n;
}

static int play_move(hv_call *call, ch_game *g, const char *text)
{
	ch_move m;
	if (g->n >= CE_MAX_MOVES)
		return chess_engine_error(call, CHESS_ENGINE_ERR_ILLEGAL_MOVE,
					  "the game is at its limit of %d plies", CE_MAX_MOVES);
	int r = ch_move_parse(&g->pos, text, &m);
	if (r == -ENOTUNIQ)
		return chess_engine_error(call, CHESS_ENGINE_ERR_ILLEGAL_MOVE, "%s is ambiguous", text);
	if (r < 0) {
		char fen[CH_FEN_MAX];
		ch_fen_write(&g->pos, fen);
		return chess_engine_error(call, CHESS_ENGINE_ERR_ILLEGAL_MOVE, "%s is %s in %s", text,
					  r == -EINVAL ? "not a move" : "not legal", fen);
	}
	return ch_game_push(g, m);
}

static int h_set_position(hv_call *call, const chess_engine_set_position_req *req,
			  chess_engine_set_position_rep *rep)
{
	struct ce_peer *p = peer_of(call);
	if (busy(p))
		return CHESS_ENGINE_ERR_BUSY;
	const char *fen = req->fen[0] && strcmp(req->fen, "startpos") ? req->fen : CH_START_FEN;
	ch_pos start;
	char err[160];
	if (ch_fen_parse(fen, &start, err, sizeof err) < 0)
		return chess_engine_error(call, CHESS_ENGINE_ERR_BAD_FEN, "%s", err);
	ch_game g;
	ch_game_init(&g, &start);
	for (size_t i = 0; i < req->moves.count; i++) {
		int r = play_move(call, &g, req->moves.items[i]);
		if (r < 0) {
			ch_game_fini(&g);
			return r;
		}
	}
	ch_game_fini(&p->game);
	p->game = g;
	fill_state(call, &p->game, &rep->state);
	return 0;
}

static int h_play(hv_call *call, const chess_engine_play_req *req, chess_engine_play_rep *rep)
{
	struct ce_peer *p = peer_of(call);
	if (busy(p))
		return CHESS_ENGINE_ERR_BUSY;
	ch_pos before = p->game.pos;
	int r = play_move(call, &p->game, req->move);
	if (r < 0)
		return r;
	char uci[CH_MOVE_STR_MAX], san[CH_MOVE_STR_MAX];
	ch_move m = p->game.moves[p->game.n - 1];
	ch_move_uci(m, uci);
	ch_move_san(&before, m, san);
	rep->uci = hv_call_strdup(call, uci);
	rep->san = hv_call_strdup(call, san);
	fill_state(call, &p->game, &rep->state);
	return 0;
}

static int undo(hv_call *call, chess_engine_undo_rep *rep);

static int h_undo(hv_call *call, const chess_engine_undo_req *req, chess_engine_undo_rep *rep)
{
	(void)req;
	return undo(call, rep);
}

static int undo(hv_call *call, chess_engine_undo_rep *rep)
{
	struct ce_peer *p = peer_of(call);
	if (busy(p))
		return CHESS_ENGINE_ERR_BUSY;
	if (p->game.n == 0)
		return chess_engine_error(call, CHESS_ENGINE_ERR_ILLEGAL_MOVE, "no move to take back");
	/* Replay from the start: positions are not kept, moves are. */
	ch_game g;
	ch_game_init(&g, &p->game.start);
	for (size_t i = 0; i + 1 < p->game.n; i++)
		if (ch_game_push(&g, p->game.moves[i]) < 0) {
			ch_game_fini(&g);
			return -ENOMEM;
		}
	for (size_t i = 0; i < p->game.ntags; i++)
		ch_game_set_tag(&g, p->game.tags[i].name, p->game.tags[i].value);
	ch_game_fini(&p->game);
	p->game = g;
	fill_state(call, &p->game, &rep->state);
	return 0;
}

static int h_get_state(hv_call *call, const chess_engine_get_state_req *req,
		       chess_engine_get_state_rep *rep)
{
	(void)req;
	fill_state(call, &peer_of(call)->game, &rep->state);
	return 0;
}

static int h_legal_moves(hv_call *call, const chess_engine_legal_moves_req *req,
			 chess_engine_legal_moves_rep *rep)
{
	(void)req;
	const ch_pos *pos = &peer_of(call)->game.pos;
	ch_movelist l;
	ch_gen_legal(pos, &l);
	rep->uci.items = hv_call_calloc(call, (size_t)l.n + 1, sizeof(char *));
	rep->san.items = hv_call_calloc(call, (size_t)l.n + 1, sizeof(char *));
	if (!rep->uci.items || !rep->san.items)
		return -ENOMEM;
	for (int i = 0; i < l.n; i++) {
		char u[CH_MOVE_STR_MAX], s[CH_MOVE_STR_MAX];
		ch_move_uci(l.m[i], u);
		ch_move_san(pos, l.m[i], s);
		rep->uci.items[i] = hv_call_strdup(call, u);
		rep->san.items[i] = hv_call_strdup(call, s);
	}
	rep->uci.count = rep->san.count = (size_t)l.n;
	return 0;
}

static int h_perft(hv_call *call, const chess_engine_perft_req *req, chess_engine_perft_rep *rep)
{
	(void)rep;
	struct ce_peer *p = peer_of(call);
	if (req->depth < 1 || req->depth > CE_MAX_PERFT)
		return chess_engine_error(call, CHESS_ENGINE_ERR_BAD_LIMITS, "perft depth %u: 1..%d",
					  req->depth, CE_MAX_PERFT);
	if (busy(p))
		return CHESS_ENGINE_ERR_BUSY;
	hv_call *held = hv_call_hold(call);
	int r = ce_job_start(p, 0, NULL, held, (int)req->depth);
	if (r < 0)
		return hv_call_respond_error(held, r, NULL), HV_IPC_DEFERRED;
	return HV_IPC_DEFERRED;
}

static int check_limits(hv_call *call, const chess_engine_limits *l, ch_limits *out)
{
	if (l->depth > CE_MAX_DEPTH || l->movetime_ms > 86400000u || l->skill > CH_SKILL_MAX ||
	    l->wtime_ms > 86400000u || l->btime_ms > 86400000u || l->winc_ms > 86400000u ||
	    l->binc_ms > 86400000u || (unsigned)l->engine > CHESS_ENGINE_ENGINE_UCI)
		return chess_engine_error(call, CHESS_ENGINE_ERR_BAD_LIMITS,
					  "depth 0..%d, times up to a day, skill 0..%d", CE_MAX_DEPTH,
					  CH_SKILL_MAX);
	*out = (ch_limits){
		.depth = (int)l->depth,
		.nodes = l->nodes,
		.movetime_ms = l->movetime_ms,
		.time_ms = {l->wtime_ms, l->btime_ms},
		.inc_ms = {l->winc_ms, l->binc_ms},
		.movestogo = (int)l->movestogo,
		.skill = l->skill,
	};
	return 0;
}

static int h_go(hv_call *call, const chess_engine_go_req *req, chess_engine_go_rep *rep)
{
	struct ce_peer *p = peer_of(call);
	ch_limits lim;
	int r = check_limits(call, &req->limits, &lim);
	if (r < 0)
		return r;
	if (busy(p))
		return CHESS_ENGINE_ERR_BUSY;
	ch_movelist l;
	ch_gen_legal(&p->game.pos, &l);
	if (l.n == 0)
		return chess_engine_error(call, CHESS_ENGINE_ERR_ILLEGAL_MOVE,
					  "no legal move: the game is over (%s)",
					  ch_outcome_name(ch_game_outcome(&p->game)));
	uint64_t id = p->next_id++;
	if (req->limits.engine == CHESS_ENGINE_ENGINE_UCI)
		r = ce_backend_go(p, id, &lim);
	else
		r = ce_job_start(p, id, &lim, NULL, 0);
	if (r < 0)
		return r == CHESS_ENGINE_ERR_NO_ENGINE
			       ? chess_engine_error(call, r, "cannot start %s", ce_uci_engine)
			       : r;
	rep->search_id = id;
	return 0;
}

static int h_stop(hv_call *call, const chess_engine_stop_req *req)
{
	(void)req;
	struct ce_peer *p = peer_of(call);
	ce_job_stop(p);
	ce_backend_stop(p);
	return 0;
}

static int h_import_pgn(hv_call *call, const chess_engine_import_pgn_req *req,
			chess_engine_import_pgn_rep *rep)
{
	struct ce_peer *p = peer_of(call);
	if (busy(p))
		return CHESS_ENGINE_ERR_BUSY;
	ch_game g;
	char err[200];
	if (ch_pgn_parse(req->pgn, strlen(req->pgn), &g, err, sizeof err) < 0)
		return chess_engine_error(call, CHESS_ENGINE_ERR_BAD_PGN, "%s", err);
	ch_game_fini(&p->game);
	p->game = g;
	fill_state(call, &p->game, &rep->state);
	return 0;
}

static int h_export_pgn(hv_call *call, const chess_engine_export_pgn_req *req,
			chess_engine_export_pgn_rep *rep)
{
	(void)req;
	struct ce_peer *p = peer_of(call);
	ch_game *g = &p->game;
	enum ch_outcome o = ch_game_outcome(g);
	if (o == CH_CHECKMATE)
		strcpy(g->result, g->pos.side == CH_WHITE ? "0-1" : "1-0");
	else if (o == CH_STALEMATE || o == CH_INSUFFICIENT)
		strcpy(g->result, "1/2-1/2");
	char *pgn = ch_pgn_write(g);
	if (!pgn)
		return -ENOMEM;
	rep->pgn = hv_call_strdup(call, pgn);
	free(pgn);
	return rep->pgn ? 0 : -ENOMEM;
}

static int h_set_tag(hv_call *call, const chess_engine_set_tag_req *req,
		     chess_engine_set_tag_rep *rep)
{
	(void)rep;
	struct ce_peer *p = peer_of(call);
	size_t n = strlen(req->name);
	if (n == 0 || n > 40 || strlen(req->value) > 200 || strchr(req->value, '\n'))
		return chess_engine_error(call, CHESS_ENGINE_ERR_BAD_PGN,
					  "a tag is 1-40 characters, its value at most 200 on one line");
	for (const char *c = req->name; *c; c++)
		if (!(*c == '_' || (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= 'A' && *c <= 'Z')))
			return chess_engine_error(call, CHESS_ENGINE_ERR_BAD_PGN,
						  "tag names are letters, digits and _");
	if (!strcmp(req->name, "Result")) {
		if (strcmp(req->value, "1-0") && strcmp(req->value, "0-1") &&
		    strcmp(req->value, "1/2-1/2") && strcmp(req->value, "*"))
			return chess_engine_error(call, CHESS_ENGINE_ERR_BAD_PGN,
						  "Result is 1-0, 0-1, 1/2-1/2 or *");
		strcpy(p->game.result, req->value);
		return 0;
	}
	return ch_game_set_tag(&p->game, req->name, req->value);
}

void ce_send_info(struct ce_peer *peer, uint64_t id, const ch_info *in)
{
	const char *pv[CH_MAX_PLY];
	char buf[CH_MAX_PLY][CH_MOVE_STR_MAX];
	for (int i = 0; i < in->pvlen; i++) {
		ch_move_uci(in->pv[i], buf[i]);
		pv[i] = buf[i];
	}
	chess_client_info(peer->conn, id, (uint32_t)in->depth, (uint32_t)in->seldepth, in->score,
			  in->mate, in->nodes, in->nps, (uint64_t)in->time_ms,
			  (hv_vec_string){pv, (size_t)in->pvlen});
}

void ce_send_best(struct ce_peer *peer, uint64_t id, const ch_pos *pos, ch_move best,
		  ch_move ponder)
{
	char uci[CH_MOVE_STR_MAX], san[CH_MOVE_STR_MAX], pon[CH_MOVE_STR_MAX] = "";
	ch_move_uci(best, uci);
	ch_move_san(pos, best, san);
	if (ponder)
		ch_move_uci(ponder, pon);
	chess_client_best_move(peer->conn, id, uci, san, pon);
}

const chess_engine_handlers ce_handlers = {
	.set_position = h_set_position,
	.play = h_play,
	.undo = h_undo,
	.get_state = h_get_state,
	.legal_moves = h_legal_moves,
	.perft = h_perft,
	.go = h_go,
	.stop = h_stop,
	.import_pgn = h_import_pgn,
	.export_pgn = h_export_pgn,
	.set_tag = h_set_tag,
};
