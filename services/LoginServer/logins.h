/* logins.h — the front's record of one login: an attempt while PAM talks,
 * then the session it started (logins.c: the attempt side and the worker's
 * messages; sessions.c: what a session manager asks of sessions). */
#pragma once

#include <haven/loop.h>
#include <haven/util.h>

#include "LoginServer.h"

enum lgs_state {
	L_WAITING,	 /* backing off: the worker starts when the timer fires */
	L_TALKING,	 /* PAM is authenticating: prompts and answers */
	L_AUTHENTICATED, /* waiting for start_session */
	L_STARTING,	 /* F_START sent, start_session held */
	L_RUNNING,	 /* the session runs */
	L_FAILING,	 /* failed: the `failed` event waits for the delay */
};

struct lgs_login {
	uint64_t attempt, session;
	enum lgs_state state;
	struct lgs_peer *peer; /* who began it; NULL once that connection left */
	char *user;
	int fd; /* the worker's socket, -1 before it starts */
	hv_watch *watch;
	hv_timer *timer;
	uint64_t next_prompt, pending_prompt; /* pending: 0 when none waits */
	uint64_t last_ns;		       /* begin or the last answer */
	hv_call *start_call;		       /* held start_session */
	/* The session. */
	uid_t uid;
	pid_t pid;
	bool locked;
	uint64_t started_ms;
	char *runtime_dir;
	hv_strv argv;
	struct lgs_login *next;
};

extern struct lgs_login *lgs_logins;
extern uint64_t lgs_foreground; /* the session switched to last (0: none) */
extern hv_server *lgs_server;

/* Free it: the worker's socket closes (a worker still in PAM ends). */
void lgs_login_free(struct lgs_login *l);
/* The session as LoginServer.ipc's struct (strings borrowed from l). */
void lgs_session_view(const struct lgs_login *l, login_server_session *out);
/* Tell watchers (and its owner) that it changed. */
void lgs_notify_changed(const struct lgs_login *l);
void lgs_notify_ended(const struct lgs_login *l, int exit_code, int signo);
