/* LoginServer.c — the handlers of LoginServer.ipc, one per message; the
 * work is in logins.c (attempts) and sessions.c (sessions). */
#include <errno.h>

#include "logins.h"

static int on_begin(hv_call *call, const login_server_begin_req *req, login_server_begin_rep *rep)
{
	return lgs_begin(call, req->user, &rep->attempt);
}

static int on_answer(hv_call *call, const login_server_answer_req *req, login_server_answer_rep *rep)
{
	return lgs_answer(call, req->attempt, req->prompt, req->text);
}

static int on_cancel(hv_call *call, const login_server_cancel_req *req, login_server_cancel_rep *rep)
{
	return lgs_cancel(call, req->attempt);
}

static int on_start_session(hv_call *call, const login_server_start_session_req *req,
			    login_server_start_session_rep *rep)
{
	return lgs_start_session(call, req);
}

static int on_list_sessions(hv_call *call, const login_server_list_sessions_req *req,
			    login_server_list_sessions_rep *rep)
{
	return lgs_list(call, rep);
}

static int on_lock(hv_call *call, const login_server_lock_req *req, login_server_lock_rep *rep)
{
	return lgs_session_op(call, req->session, LGS_OP_LOCK);
}

static int on_unlock(hv_call *call, const login_server_unlock_req *req, login_server_unlock_rep *rep)
{
	return lgs_session_op(call, req->session, LGS_OP_UNLOCK);
}

static int on_switch_to(hv_call *call, const login_server_switch_to_req *req,
			login_server_switch_to_rep *rep)
{
	return lgs_session_op(call, req->session, LGS_OP_SWITCH);
}

static int on_terminate(hv_call *call, const login_server_terminate_req *req,
			login_server_terminate_rep *rep)
{
	return lgs_session_op(call, req->session, LGS_OP_TERMINATE);
}

static int on_watch(hv_call *call, const login_server_watch_req *req, login_server_watch_rep *rep)
{
	struct lgs_peer *peer = hv_call_state(call);
	peer->watching = true;
	return 0;
}

const login_server_handlers lgs_handlers = LOGIN_SERVER_HANDLERS(
	on_begin, on_answer, on_cancel, on_start_session, on_list_sessions, on_lock, on_unlock,
	on_switch_to, on_terminate, on_watch);

int lgs_conn_init(hv_conn *c, void *state)
{
	struct lgs_peer *peer = state;
	peer->conn = c;
	return 0;
}

void lgs_conn_fini(hv_conn *c, void *state) { lgs_peer_gone(state); }
