/* login-client.h — the LoginServer client library: log a user in through
 * LoginServer's conversation (greetd's shape) and manage sessions.
 *
 * Prefix lgn_: ipcc's generated code is login_server_ / login_client_,
 * LoginServer's own code lgs_. Installed as <haven/login-client.h>,
 * pkg-config haven-login-client; docs/loginserver.md, "Client library".
 *
 * A conversation runs on the caller's hv_loop and never blocks it:
 *
 *	lgn_client *cl; lgn_client_connect(loop, NULL, &cl);
 *	lgn_conv *cv; lgn_begin(cl, "alice", &ops, me, &cv);
 *	  ops.prompt(cv, LGN_PROMPT_SECRET, "Password: ", me)
 *	      -> lgn_answer(cv, "secret")          (Visible / Secret only)
 *	  ops.authenticated(cv, me)
 *	      -> lgn_start_session(cv, argv, env, stdio, n) (argv NULL: SystemServer --user)
 *	  ops.session_started(cv, 0, session_id, me)
 *	  ops.session_ended(cv, session_id, exit_code, signal, me)
 *	  or, at any point before the session: ops.failed(cv, code, text, me)
 *	lgn_conv_free(cv)                          (cancels what still runs)
 *
 * Every callback is optional (NULL: ignored), runs on the loop, and may
 * call lgn_answer / lgn_start_session / lgn_cancel; none may free the
 * conversation except `failed` and `session_ended` (the conversation is
 * over then). Strings passed to callbacks live until the callback returns.
 *
 * Errors are negative errno values or LoginServer.ipc's named errors
 * (LOGIN_SERVER_ERR_*: lgn_strerror names them).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <haven/ipc.h>

#include "LoginClient.ipc.h"
#include "LoginServer.ipc.h"

/* The portal SystemServer serves LoginServer on (etc/services/LoginServer.ini). */
#define LGN_PORTAL "login"
/* Call timeout of the sync calls (list, lock, ...). */
#define LGN_TIMEOUT_MS 25000

typedef enum lgn_prompt_kind {
	LGN_PROMPT_VISIBLE = LOGIN_SERVER_PROMPT_KIND_VISIBLE, /* answer it, echoed */
	LGN_PROMPT_SECRET = LOGIN_SERVER_PROMPT_KIND_SECRET,   /* answer it, not echoed */
	LGN_PROMPT_INFO = LOGIN_SERVER_PROMPT_KIND_INFO,	       /* show it */
	LGN_PROMPT_ERROR = LOGIN_SERVER_PROMPT_KIND_ERROR,     /* show it */
} lgn_prompt_kind;

typedef struct lgn_client lgn_client;
typedef struct lgn_conv lgn_conv;

typedef struct lgn_conv_ops {
	void (*prompt)(lgn_conv *cv, lgn_prompt_kind kind, const char *text, void *userdata);
	void (*authenticated)(lgn_conv *cv, void *userdata);
	/* code: LOGIN_SERVER_ERR_AUTH_FAILED, _INVALID_USER, _BUSY, or a
	 * negative errno (the connection to LoginServer was lost). */
	void (*failed)(lgn_conv *cv, int code, const char *message, void *userdata);
	/* The answer to lgn_start_session: status 0 and the session id, or
	 * an error (LOGIN_SERVER_ERR_SESSION_FAILED, ...) and message. */
	void (*session_started)(lgn_conv *cv, int status, uint64_t session, const char *message,
				void *userdata);
	/* The session's leader exited (signal 0) or was killed by signal;
	 * exit_code -1 and signal 0 when the connection was lost. */
	void (*session_ended)(lgn_conv *cv, uint64_t session, int exit_code, int signal,
			      void *userdata);
} lgn_conv_ops;

/* Connect to socket_path, or (NULL) the LGN_PORTAL portal. loop must not
 * be NULL (conversations run on it). */
int lgn_client_connect(hv_loop *loop, const char *socket_path, lgn_client **out);
void lgn_client_free(lgn_client *cl); /* NULL-safe; frees its conversations */
hv_conn *lgn_client_conn(const lgn_client *cl);

/* Begin a login as user; ops (kept by pointer: it must outlive cv) get
 * its progress. Returns at once; 0 or a negative errno (nothing sent). */
int lgn_begin(lgn_client *cl, const char *user, const lgn_conv_ops *ops, void *userdata,
	      lgn_conv **out);
/* Answer the last Visible/Secret prompt. -EPROTO when none is waiting. */
int lgn_answer(lgn_conv *cv, const char *text);
/* After `authenticated`: start the session. argv NULL or empty: the
 * default (SystemServer --user); env: NULL-terminated "NAME=value"s or
 * NULL; stdio: nstdio (0-3) fds the session gets as stdin, stdout, stderr
 * (duplicated; /dev/null for the rest; a terminal as stdin becomes its
 * controlling terminal when it has none). */
int lgn_start_session(lgn_conv *cv, const char *const *argv, const char *const *env,
		      const int *stdio, size_t nstdio);
/* Give the attempt up (no more callbacks for it). */
int lgn_cancel(lgn_conv *cv);
void lgn_conv_free(lgn_conv *cv); /* NULL-safe; cancels a running attempt */
/* The attempt's id (0 until LoginServer answered begin), the session's
 * id (0 until started). */
uint64_t lgn_conv_attempt(const lgn_conv *cv);
uint64_t lgn_conv_session(const lgn_conv *cv);
/* True when it waits for lgn_answer (a Visible/Secret prompt pending). */
bool lgn_conv_wants_answer(const lgn_conv *cv);

/* --- sessions (sync calls, LGN_TIMEOUT_MS) ------------------------------- */
typedef struct lgn_session {
	uint64_t id;
	uid_t uid;
	char *user;
	pid_t pid;
	bool locked, foreground;
	uint64_t started_ms;
	char *runtime_dir;
	char *command; /* argv joined by spaces */
} lgn_session;

/* *out is a malloc'd array of *n sessions: lgn_sessions_free(*out, *n). */
int lgn_list(lgn_client *cl, lgn_session **out, size_t *n);
void lgn_sessions_free(lgn_session *s, size_t n);
int lgn_lock(lgn_client *cl, uint64_t session);
int lgn_unlock(lgn_client *cl, uint64_t session);
int lgn_switch(lgn_client *cl, uint64_t session);
int lgn_terminate(lgn_client *cl, uint64_t session);

/* Watchers: every session's changes and ends (the Session struct's
 * strings live until the callback returns). */
typedef struct lgn_watch_ops {
	void (*changed)(const login_server_session *s, void *userdata);
	void (*ended)(uint64_t session, int exit_code, int signal, void *userdata);
} lgn_watch_ops;
int lgn_watch(lgn_client *cl, const lgn_watch_ops *ops, void *userdata);

/* The text of r: a named LoginServer error, the server's message of the
 * last failed call on cl, or strerror. */
const char *lgn_strerror(const lgn_client *cl, int r);
