/* jobs.c — the own engine's searches (and perft) on a worker thread, one
 * per connection at a time, so the loop never waits for a search.
 *
 * The thread works on copies (the position, the game's keys, the limits)
 * and reports through hv_loop_post(): each event holds a reference on the
 * job, and the loop sends it only if the job still has its peer. A peer
 * that leaves stops its job and joins the thread (a stopped search returns
 * within ~1024 nodes); events still queued then find no peer and are
 * dropped, and the last reference frees the job. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>
#include <haven/loop.h>

#include "ChessEngine.h"

struct ce_job {
	atomic_int refs;
	struct ce_peer *peer; /* loop thread only; NULL once the peer left */
	hv_loop *loop;
	pthread_t thread;
	bool joined;
	atomic_bool cancel; /* perft checks it between root moves */
	uint64_t id;
	ch_search *search;
	ch_pos pos;
	uint64_t *keys;
	size_t nkeys;
	ch_limits lim;
	hv_call *perft_call;
	int perft_depth;
	/* results, read by the loop after the done event */
	uint64_t perft_nodes;
	ch_move best, ponder;
};

enum ev_kind { EV_INFO, EV_DONE };

struct ce_event {
	struct ce_job *job;
	enum ev_kind kind;
	ch_info info;
};

static void job_unref(struct ce_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	free(j->keys);
	free(j);
}

static void join(struct ce_job *j)
{
	if (!j->joined) {
		pthread_join(j->thread, NULL);
		j->joined = true;
	}
}

static void deliver(hv_loop *loop, void *ud)
{
	(void)loop;
	struct ce_event *ev = ud;
	struct ce_job *j = ev->job;
	struct ce_peer *peer = j->peer;
	if (peer && ev->kind == EV_INFO) {
		ce_send_info(peer, j->id, &ev->info);
	} else if (ev->kind == EV_DONE) {
		join(j); /* the thread's last act was to post this */
		if (j->perft_call) {
			/* answered even when the peer left: that frees the held call */
			chess_engine_perft_respond(j->perft_call,
						   &(chess_engine_perft_rep){.nodes = j->perft_nodes});
			j->perft_call = NULL;
		} else if (peer) {
			ce_send_best(peer, j->id, &j->pos, j->best, j->ponder);
		}
		if (peer && peer->job == j) {
			peer->job = NULL;
			job_unref(j); /* the peer's reference */
		}
	}
	free(ev);
	job_unref(j);
}

/* From the worker: queue an event for the loop. A failed post (no
 * memory) loses an info line, never the end: EV_DONE is retried. */
static void post(struct ce_job *j, enum ev_kind kind, const ch_info *info)
{
	for (;;) {
		struct ce_event *ev = calloc(1, sizeof *ev);
		if (ev) {
			ev->job = j;
			ev->kind = kind;
			if (info)
				ev->info = *info;
			atomic_fetch_add(&j->refs, 1);
			if (hv_loop_post(j->loop, deliver, ev) == 0)
				return;
			atomic_fetch_sub(&j->refs, 1);
			free(ev);
		}
		if (kind != EV_DONE)
			return;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static void on_info(void *ud, const ch_info *info)
{
	post(ud, EV_INFO, info);
}

static void *worker(void *arg)
{
	struct ce_job *j = arg;
	if (j->perft_call) {
		ch_movelist l;
		ch_gen_legal(&j->pos, &l);
		uint64_t n = 0;
		for (int i = 0; i < l.n && !atomic_load(&j->cancel); i++) {
			ch_pos c = j->pos;
			ch_make(&c, l.m[i]);
			n += ch_perft(&c, j->perft_depth - 1);
		}
		j->perft_nodes = j->perft_depth == 1 ? (uint64_t)l.n : n;
	} else {
		ch_info fin;
		j->best = ch_search_run(j->search, &j->pos, j->keys, j->nkeys, &j->lim, on_info, j,
					&fin);
		j->ponder = fin.pvlen > 1 && fin.pv[0] == j->best ? fin.pv[1] : 0;
	}
	post(j, EV_DONE, NULL);
	return NULL;
}

int ce_job_start(struct ce_peer *peer, uint64_t id, const ch_limits *lim, hv_call *perft_call,
		 int perft_depth)
{
	if (!perft_call && !peer->search) {
		int r = ch_search_new(CE_HASH_MB, &peer->search);
		if (r < 0)
			return r;
	}
	struct ce_job *j = calloc(1, sizeof *j);
	if (!j)
		return -ENOMEM;
	const ch_game *g = &peer->game;
	j->keys = malloc((g->n + 1) * sizeof *j->keys);
	if (!j->keys) {
		free(j);
		return -ENOMEM;
	}
	if (g->n)
		memcpy(j->keys, g->keys, g->n * sizeof *j->keys);
	j->nkeys = g->n;
	atomic_init(&j->refs, 2); /* the peer's and the thread's (its EV_DONE) */
	j->peer = peer;
	j->loop = hv_conn_loop(peer->conn);
	j->id = id;
	j->search = peer->search;
	if (j->search)
		ch_search_arm(j->search);
	j->pos = g->pos;
	if (lim)
		j->lim = *lim;
	j->perft_call = perft_call;
	j->perft_depth = perft_depth;
	int r = pthread_create(&j->thread, NULL, worker, j);
	if (r) {
		free(j->keys);
		free(j);
		return -r;
	}
	/* The thread's reference is carried by its EV_DONE event. */
	atomic_fetch_sub(&j->refs, 1);
	peer->job = j;
	return 0;
}

void ce_job_stop(struct ce_peer *peer)
{
	if (peer->job && !peer->job->perft_call)
		ch_search_stop(peer->job->search);
}

void ce_job_abandon(struct ce_peer *peer)
{
	struct ce_job *j = peer->job;
	if (!j)
		return;
	atomic_store(&j->cancel, true);
	if (!j->perft_call)
		ch_search_stop(j->search);
	join(j);
	j->peer = NULL;
	peer->job = NULL;
	job_unref(j);
}
