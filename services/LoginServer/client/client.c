/* client.c — the LoginServer client library (login-client.h).
 *
 * A conversation is the client's mirror of one attempt: LoginClient events
 * are routed to it by attempt id (and, once the session runs, by session
 * id). Calls are async so a greeter's loop never waits on LoginServer. A
 * conversation freed while a call of its is in flight is only marked dead
 * and freed when that call returns (the callback holds its pointer). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/util.h>

#include "login-client.h"

enum conv_state { CONV_BEGINNING, CONV_TALKING, CONV_AUTHENTICATED, CONV_STARTING, CONV_RUNNING, CONV_OVER };

struct lgn_conv {
	lgn_client *cl;
	const lgn_conv_ops *ops;
	void *userdata;
	uint64_t attempt, session, prompt;
	bool wants_answer;
	bool dead;	  /* lgn_conv_free'd while calls were in flight */
	bool cancel_on_begin; /* lgn_cancel'd before begin was answered */
	unsigned inflight; /* async calls whose callback holds this pointer */
	enum conv_state state;
	lgn_conv *next;
};

struct lgn_client {
	hv_conn *c;
	lgn_conv *convs;
	const lgn_watch_ops *wops;
	void *wud;
};

static void conv_unlink(lgn_conv *cv)
{
	if (!cv->cl)
		return;
	for (lgn_conv **p = &cv->cl->convs; *p; p = &(*p)->next)
		if (*p == cv) {
			*p = cv->next;
			break;
		}
	cv->cl = NULL;
}

/* Free it if nothing refers to it any more. */
static void conv_release(lgn_conv *cv)
{
	if (cv->dead && cv->inflight == 0) {
		conv_unlink(cv);
		free(cv);
	}
}

static lgn_conv *find_attempt(lgn_client *cl, uint64_t attempt)
{
	for (lgn_conv *cv = cl->convs; cv; cv = cv->next)
		if (!cv->dead && cv->attempt == attempt && cv->state < CONV_RUNNING)
			return cv;
	return NULL;
}

static lgn_conv *find_session(lgn_client *cl, uint64_t session)
{
	for (lgn_conv *cv = cl->convs; cv; cv = cv->next)
		if (!cv->dead && cv->session == session && cv->state == CONV_RUNNING)
			return cv;
	return NULL;
}

static void conv_fail(lgn_conv *cv, int code, const char *message)
{
	cv->state = CONV_OVER;
	cv->wants_answer = false;
	if (cv->ops->failed)
		cv->ops->failed(cv, code, message, cv->userdata); /* may free cv */
}

/* --- events ---------------------------------------------------------------- */
static lgn_client *event_client(hv_call *call) { return hv_conn_userdata(hv_call_conn(call)); }

static int on_prompt(hv_call *call, const login_client_prompt_req *req)
{
	lgn_conv *cv = find_attempt(event_client(call), req->attempt);
	if (!cv || cv->state != CONV_TALKING)
		return 0;
	if (req->kind == LOGIN_SERVER_PROMPT_KIND_VISIBLE || req->kind == LOGIN_SERVER_PROMPT_KIND_SECRET) {
		cv->prompt = req->prompt;
		cv->wants_answer = true;
	}
	if (cv->ops->prompt)
		cv->ops->prompt(cv, (lgn_prompt_kind)req->kind, req->text, cv->userdata);
	return 0;
}

static int on_authenticated(hv_call *call, const login_client_authenticated_req *req)
{
	lgn_conv *cv = find_attempt(event_client(call), req->attempt);
	if (!cv || cv->state != CONV_TALKING)
		return 0;
	cv->state = CONV_AUTHENTICATED;
	cv->wants_answer = false;
	if (cv->ops->authenticated)
		cv->ops->authenticated(cv, cv->userdata);
	return 0;
}

static int on_failed(hv_call *call, const login_client_failed_req *req)
{
	lgn_conv *cv = find_attempt(event_client(call), req->attempt);
	if (cv && cv->state != CONV_OVER)
		conv_fail(cv, req->code, req->message);
	return 0;
}

static int on_session_ended(hv_call *call, const login_client_session_ended_req *req)
{
	lgn_client *cl = event_client(call);
	lgn_conv *cv = find_session(cl, req->session);
	if (cl->wops && cl->wops->ended)
		cl->wops->ended(req->session, req->exit_code, req->signal, cl->wud);
	if (!cv)
		return 0;
	cv->state = CONV_OVER;
	if (cv->ops->session_ended)
		cv->ops->session_ended(cv, req->session, req->exit_code, req->signal, cv->userdata);
	return 0;
}

static int on_session_changed(hv_call *call, const login_client_session_changed_req *req)
{
	lgn_client *cl = event_client(call);
	if (cl->wops && cl->wops->changed)
		cl->wops->changed(&req->session, cl->wud);
	return 0;
}

static const login_client_handlers client_handlers = LOGIN_CLIENT_HANDLERS(
	on_prompt, on_authenticated, on_failed, on_session_ended, on_session_changed);

/* LoginServer went away: every conversation still going learns it. */
static void on_disconnect(hv_conn *c, void *userdata)
{
	lgn_client *cl = userdata;
	lgn_conv *next;
	for (lgn_conv *cv = cl->convs; cv; cv = next) {
		next = cv->next;
		if (cv->dead || cv->state == CONV_OVER || cv->state == CONV_STARTING)
			continue; /* STARTING: its start_session callback says it */
		if (cv->state == CONV_RUNNING) {
			cv->state = CONV_OVER;
			if (cv->ops->session_ended)
				cv->ops->session_ended(cv, cv->session, -1, 0, cv->userdata);
		} else if (cv->state != CONV_BEGINNING) {
			conv_fail(cv, -ECONNRESET, "the connection to LoginServer was lost");
		}
	}
}

/* --- connection -------------------------------------------------------------- */
int lgn_client_connect(hv_loop *loop, const char *socket_path, lgn_client **out)
{
	if (!loop)
		return -EINVAL;
	lgn_client *cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	int r = socket_path ? hv_conn_connect(loop, socket_path, &cl->c)
			    : hv_conn_connect_portal(loop, LGN_PORTAL, &cl->c);
	if (r < 0) {
		free(cl);
		return r;
	}
	hv_conn_set_timeout(cl->c, LGN_TIMEOUT_MS);
	hv_conn_set_userdata(cl->c, cl);
	hv_conn_on_disconnect(cl->c, on_disconnect, cl);
	r = hv_conn_serve(cl->c, &login_client_endpoint, &client_handlers);
	if (r < 0) {
		hv_conn_close(cl->c);
		free(cl);
		return r;
	}
	*out = cl;
	return 0;
}

hv_conn *lgn_client_conn(const lgn_client *cl) { return cl->c; }

void lgn_client_free(lgn_client *cl)
{
	if (!cl)
		return;
	/* Closing runs the pending calls' callbacks (-ECONNRESET), which drop
	 * their references; the conversations are then ours to free. */
	for (lgn_conv *cv = cl->convs; cv; cv = cv->next)
		cv->dead = true;
	hv_conn_on_disconnect(cl->c, NULL, NULL);
	hv_conn_close(cl->c);
	while (cl->convs) {
		lgn_conv *cv = cl->convs;
		cl->convs = cv->next;
		free(cv);
	}
	free(cl);
}

const char *lgn_strerror(const lgn_client *cl, int r)
{
	const char *named = login_server_error_message(r);
	const hv_ipc_error *last = cl ? hv_conn_last_error(cl->c) : NULL;
	if (last && last->code == r && last->message && last->message[0])
		return last->message;
	return named ? named : strerror(r < 0 ? -r : r);
}

/* --- the conversation ---------------------------------------------------------- */
/* A cancel nobody waits for (the conversation is gone or going). */
static void on_cancel_ignored(hv_conn *c, int status, const login_server_cancel_rep *rep, void *ud) {}

static void on_begin(hv_conn *c, int status, const login_server_begin_rep *rep, void *ud)
{
	lgn_conv *cv = ud;
	cv->inflight--;
	if (cv->dead || cv->cancel_on_begin) {
		if (status == 0)
			login_server_cancel_async(c, rep->attempt, on_cancel_ignored, NULL);
		conv_release(cv);
		return;
	}
	if (status < 0) {
		conv_fail(cv, status, lgn_strerror(cv->cl, status));
		return;
	}
	cv->attempt = rep->attempt;
	cv->state = CONV_TALKING;
}

int lgn_begin(lgn_client *cl, const char *user, const lgn_conv_ops *ops, void *userdata,
	      lgn_conv **out)
{
	static const lgn_conv_ops no_ops;
	if (!hv_conn_is_open(cl->c))
		return -ENOTCONN;
	lgn_conv *cv = calloc(1, sizeof(*cv));
	if (!cv)
		return -ENOMEM;
	*cv = (lgn_conv){.cl = cl, .ops = ops ? ops : &no_ops, .userdata = userdata, .inflight = 1};
	int r = login_server_begin_async(cl->c, user, on_begin, cv);
	if (r < 0) {
		free(cv);
		return r;
	}
	cv->next = cl->convs;
	cl->convs = cv;
	*out = cv;
	return 0;
}

/* answer/cancel replies: a refused answer ends nothing by itself (the
 * attempt's own failed event does), so only the reference is dropped. */
static void on_simple_reply(hv_conn *c, int status, const void *rep, void *ud)
{
	lgn_conv *cv = ud;
	cv->inflight--;
	conv_release(cv);
}

static void on_answer(hv_conn *c, int status, const login_server_answer_rep *rep, void *ud)
{
	on_simple_reply(c, status, rep, ud);
}

int lgn_answer(lgn_conv *cv, const char *text)
{
	if (!cv->wants_answer || cv->state != CONV_TALKING || !cv->cl)
		return -EPROTO;
	cv->wants_answer = false;
	cv->inflight++; /* before: the callback may run inside the call */
	int r = login_server_answer_async(cv->cl->c, cv->attempt, cv->prompt, text, on_answer, cv);
	if (r < 0)
		cv->inflight--;
	return r;
}

static void on_start_session(hv_conn *c, int status, const login_server_start_session_rep *rep,
			     void *ud)
{
	lgn_conv *cv = ud;
	cv->inflight--;
	if (cv->dead) {
		conv_release(cv);
		return;
	}
	const char *message = status < 0 ? lgn_strerror(cv->cl, status) : NULL;
	if (status == 0) {
		cv->session = rep->session;
		cv->state = CONV_RUNNING;
	} else {
		cv->state = CONV_OVER;
	}
	if (cv->ops->session_started)
		cv->ops->session_started(cv, status, status == 0 ? rep->session : 0, message,
					 cv->userdata);
}

static size_t strv_len(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int lgn_start_session(lgn_conv *cv, const char *const *argv, const char *const *env,
		      const int *stdio, size_t nstdio)
{
	if (cv->state != CONV_AUTHENTICATED || !cv->cl)
		return -EPROTO;
	if (nstdio > 3)
		return -EINVAL;
	hv_vec_bytestring cmd = {.items = (const char **)argv, .count = strv_len(argv)};
	hv_vec_bytestring ev = {.items = (const char **)env, .count = strv_len(env)};
	hv_vec_file fds = {.items = (int *)stdio, .count = nstdio};
	cv->state = CONV_STARTING;
	cv->inflight++;
	int r = login_server_start_session_async(cv->cl->c, cv->attempt, cmd, ev, fds, on_start_session,
						 cv);
	if (r < 0) {
		cv->inflight--;
		cv->state = CONV_AUTHENTICATED;
	}
	return r;
}

static void on_cancel(hv_conn *c, int status, const login_server_cancel_rep *rep, void *ud)
{
	on_simple_reply(c, status, rep, ud);
}

int lgn_cancel(lgn_conv *cv)
{
	if (!cv->cl)
		return -ENOTCONN;
	if (cv->state == CONV_BEGINNING) {
		/* on_begin cancels it as soon as its id is known. */
		cv->state = CONV_OVER;
		cv->cancel_on_begin = true;
		return 0;
	}
	if (cv->state != CONV_TALKING && cv->state != CONV_AUTHENTICATED)
		return -EPROTO;
	cv->state = CONV_OVER;
	cv->wants_answer = false;
	cv->inflight++;
	int r = login_server_cancel_async(cv->cl->c, cv->attempt, on_cancel, cv);
	if (r < 0)
		cv->inflight--;
	return r;
}

void lgn_conv_free(lgn_conv *cv)
{
	if (!cv)
		return;
	if (cv->cl && (cv->state == CONV_TALKING || cv->state == CONV_AUTHENTICATED))
		login_server_cancel_async(cv->cl->c, cv->attempt, on_cancel_ignored, NULL);
	cv->dead = true;
	conv_release(cv);
}

uint64_t lgn_conv_attempt(const lgn_conv *cv) { return cv->attempt; }
uint64_t lgn_conv_session(const lgn_conv *cv) { return cv->session; }
bool lgn_conv_wants_answer(const lgn_conv *cv) { return cv->wants_answer; }

/* --- sessions ------------------------------------------------------------------- */
static char *join(const hv_vec_bytestring *v)
{
	size_t len = 1;
	for (size_t i = 0; i < v->count; i++)
		len += strlen(v->items[i]) + 1;
	char *s = malloc(len), *p = s;
	if (!s)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < v->count; i++)
		p += sprintf(p, "%s%s", i ? " " : "", v->items[i]);
	return s;
}

void lgn_sessions_free(lgn_session *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		free(s[i].user);
		free(s[i].runtime_dir);
		free(s[i].command);
	}
	free(s);
}

int lgn_list(lgn_client *cl, lgn_session **out, size_t *n)
{
	hv_vec_login_server_session v;
	int r = login_server_list_sessions(cl->c, &v);
	if (r < 0)
		return r;
	lgn_session *s = calloc(v.count ? v.count : 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < v.count; i++) {
		const login_server_session *w = &v.items[i];
		s[i] = (lgn_session){.id = w->id, .uid = w->uid, .pid = w->pid, .locked = w->locked,
				     .foreground = w->foreground, .started_ms = w->started_ms,
				     .user = strdup(w->user), .runtime_dir = strdup(w->runtime_dir),
				     .command = join(&w->command)};
		if (!s[i].user || !s[i].runtime_dir || !s[i].command) {
			lgn_sessions_free(s, i + 1);
			return -ENOMEM;
		}
	}
	*out = s;
	*n = v.count;
	return 0;
}

int lgn_lock(lgn_client *cl, uint64_t session) { return login_server_lock(cl->c, session); }
int lgn_unlock(lgn_client *cl, uint64_t session) { return login_server_unlock(cl->c, session); }
int lgn_switch(lgn_client *cl, uint64_t session) { return login_server_switch_to(cl->c, session); }
int lgn_terminate(lgn_client *cl, uint64_t session) { return login_server_terminate(cl->c, session); }

int lgn_watch(lgn_client *cl, const lgn_watch_ops *ops, void *userdata)
{
	cl->wops = ops;
	cl->wud = userdata;
	return login_server_watch(cl->c);
}
