/* LoginServer.h — the parts of LoginServer and how they talk.
 *
 *   front (main.c, LoginServer.c, attempt.c, sessions.c, backoff.c): the
 *     IPC service, sandboxed (no files, no exec, no id changes). It keeps
 *     the attempts and sessions and relays PAM's prompts to greeters.
 *   launcher (launcher.c): forked in setup, before the sandbox, and never
 *     sandboxed — a user's session must not inherit LoginServer's seccomp
 *     filter and Landlock rules, which no process can shed. It does one
 *     thing: fork a worker for each socket the front hands it.
 *   worker (worker.c): one per attempt, root, talking to the front over
 *     its SOCK_SEQPACKET socket (wire.c): runs PAM, then forks the session
 *     (initgroups/setgid/setuid/setsid/exec) and stays to close the PAM
 *     session and remove the runtime directory when told to. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <haven/ipc.h>
#include <haven/options.h>

#include "LoginClient.ipc.h"
#include "LoginServer.ipc.h"

/* Limits (docs/loginserver.md). */
#define LGS_USER_MAX 256	     /* bytes of a user name */
#define LGS_ATTEMPTS_PER_CONN 8      /* attempts in flight per connection */
#define LGS_ATTEMPTS_MAX 128	     /* attempts in flight in all */
#define LGS_PROMPT_MAX 4096	     /* bytes of a prompt's text relayed */
#define LGS_ANSWER_MAX 4096	     /* bytes of an answer */
#define LGS_BACKOFF_USERS 1024	     /* names whose failures are remembered */
#define LGS_BACKOFF_FREE_FAILURES 3 /* failures in a row before backing off */
#define LGS_TERMINATE_KILL_MS 5000   /* SIGTERM, then SIGKILL this much later */

/* Options (process.c); the worker inherits them across fork. */
struct lgs_options {
	const char *pam_service;  /* --pam-service, "haven-login" */
	const char *runtime_root; /* --runtime-root, "/run/user" */
	const char *default_cmd;  /* --default-command, "SystemServer --user" */
	const char *autologin;	  /* --autologin USER: begin(USER) needs no answers */
	int64_t fail_delay_ms;	  /* --fail-delay-ms: floor of a failed attempt */
	int64_t backoff_ms;	  /* --backoff-ms: first back-off step */
	int64_t backoff_max_ms;	  /* --backoff-max-ms */
};
extern struct lgs_options lgs_opts;
extern const hv_option lgs_options_table[];
extern const login_server_handlers lgs_handlers;

int lgs_setup(hv_server *srv);
void lgs_teardown(int exit_code);
int lgs_conn_init(hv_conn *c, void *state);
void lgs_conn_fini(hv_conn *c, void *state);

/* Per connection: its attempts count and whether it watches. */
struct lgs_peer {
	hv_conn *conn;
	unsigned attempts;
	bool watching;
};

/* --- names.c ----------------------------------------------------------- */
/* NULL when user may be a user name, else why not. */
const char *lgs_user_invalid(const char *user);

/* --- backoff.c ----------------------------------------------------------- */
/* ns to wait before an attempt for user may run (0: none). */
uint64_t lgs_backoff_wait_ns(const char *user, uint64_t now_ns);
void lgs_backoff_failed(const char *user, uint64_t now_ns);
void lgs_backoff_succeeded(const char *user);
void lgs_backoff_clear(void);

/* --- launcher.c --------------------------------------------------------- */
int lgs_launcher_start(void);
/* Hand the launcher one end of a worker socket: it forks a worker on it. */
int lgs_launcher_spawn(int worker_fd);
void lgs_launcher_stop(void);

/* --- worker.c ---------------------------------------------------------------- */
/* The worker's life on fd; never returns. */
_Noreturn void lgs_worker_main(int fd);

/* --- attempt.c / sessions.c ------------------------------------------------- */
struct lgs_login;
int lgs_begin(hv_call *call, const char *user, uint64_t *attempt);
int lgs_answer(hv_call *call, uint64_t attempt, uint64_t prompt, const char *text);
int lgs_cancel(hv_call *call, uint64_t attempt);
int lgs_start_session(hv_call *call, const login_server_start_session_req *req);
void lgs_peer_gone(struct lgs_peer *peer);
int lgs_list(hv_call *call, login_server_list_sessions_rep *rep);
int lgs_session_op(hv_call *call, uint64_t session, int op);
enum { LGS_OP_LOCK, LGS_OP_UNLOCK, LGS_OP_SWITCH, LGS_OP_TERMINATE };
void lgs_logins_free(void);
