/* sessions.c — what a session manager asks of running sessions: list
 * them, lock, unlock, switch to one, terminate it; and the events that
 * tell watchers (and a session's own greeter) about them. Anyone may list;
 * only the session's user (or root) may act on it. Lock and switch are
 * state LoginServer keeps and announces — a locker or compositor acts on
 * the event (docs/loginserver.md). */
#include <errno.h>
#include <string.h>

#include "logins.h"
#include "wire.h"

void lgs_session_view(const struct lgs_login *l, login_server_session *out)
{
	*out = (login_server_session){
		.id = l->session,
		.uid = (uint32_t)l->uid,
		.user = l->user,
		.pid = l->pid,
		.locked = l->locked,
		.foreground = l->session == lgs_foreground,
		.started_ms = l->started_ms,
		.runtime_dir = l->runtime_dir ? l->runtime_dir : "",
		.command = {.items = (const char **)l->argv.v, .count = l->argv.n},
	};
}

struct event {
	const struct lgs_login *l;
	bool ended;
	int exit_code, signo;
};

static int send_event(hv_conn *c, void *ud)
{
	const struct event *e = ud;
	struct lgs_peer *peer = hv_conn_userdata(c);
	if (!peer || (!peer->watching && !(e->ended && e->l->peer == peer)))
		return 0;
	if (e->ended) {
		login_client_session_ended(c, e->l->session, e->exit_code, e->signo);
	} else {
		login_server_session s;
		lgs_session_view(e->l, &s);
		login_client_session_changed(c, s);
	}
	return 0;
}

void lgs_notify_changed(const struct lgs_login *l)
{
	struct event e = {.l = l};
	hv_server_foreach(lgs_server, send_event, &e);
}

void lgs_notify_ended(const struct lgs_login *l, int exit_code, int signo)
{
	struct event e = {.l = l, .ended = true, .exit_code = exit_code, .signo = signo};
	hv_server_foreach(lgs_server, send_event, &e);
}

int lgs_list(hv_call *call, login_server_list_sessions_rep *rep)
{
	size_t n = 0;
	for (struct lgs_login *l = lgs_logins; l; l = l->next)
		n += l->state == L_RUNNING;
	login_server_session *v = hv_call_calloc(call, n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t i = n;
	/* The list is newest first: fill from the end, oldest session first. */
	for (struct lgs_login *l = lgs_logins; l; l = l->next)
		if (l->state == L_RUNNING)
			lgs_session_view(l, &v[--i]);
	rep->sessions = (hv_vec_login_server_session){.items = v, .count = n};
	return 0;
}

int lgs_session_op(hv_call *call, uint64_t session, int op)
{
	struct lgs_login *l = lgs_logins;
	while (l && !(l->state == L_RUNNING && l->session == session))
		l = l->next;
	if (!l)
		return LOGIN_SERVER_ERR_NO_SUCH_SESSION;
	const struct ucred *peer = hv_call_peer(call);
	if (!peer || (peer->uid != 0 && peer->uid != l->uid))
		return LOGIN_SERVER_ERR_NOT_PERMITTED;
	switch (op) {
	case LGS_OP_LOCK: l->locked = true; break;
	case LGS_OP_UNLOCK: l->locked = false; break;
	case LGS_OP_SWITCH: lgs_foreground = l->session; break;
	case LGS_OP_TERMINATE: {
		struct lgs_wbuf b = {0};
		lgs_wput_u8(&b, F_TERMINATE);
		int r = lgs_wsend(l->fd, &b);
		return r < 0 ? hv_call_fail(call, r, "the session's worker is gone") : 0;
	}
	}
	lgs_notify_changed(l);
	return 0;
}
