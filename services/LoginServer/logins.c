/* logins.c — attempts: begin (after any back-off) hands a fresh worker
 * socket to the launcher; the worker's messages become LoginClient events;
 * answers, cancel and start_session go back to it. A failure is reported
 * no sooner than fail_delay_ms after the attempt's last answer (or its
 * begin), whatever failed, so a greeter cannot tell an unknown user from a
 * wrong password by the time it took. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>

#include "logins.h"
#include "wire.h"

struct lgs_login *lgs_logins;
uint64_t lgs_foreground;
hv_server *lgs_server;
static uint64_t last_attempt_id, last_session_id;
static unsigned attempts_in_flight;

static bool in_flight(const struct lgs_login *l) { return l->state < L_RUNNING || l->state == L_FAILING; }

void lgs_login_free(struct lgs_login *l)
{
	for (struct lgs_login **p = &lgs_logins; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			break;
		}
	if (in_flight(l)) {
		attempts_in_flight--;
		if (l->peer)
			l->peer->attempts--;
	}
	if (l->start_call)
		hv_call_respond_error(l->start_call, LOGIN_SERVER_ERR_SESSION_FAILED,
				      "the session worker ended");
	hv_watch_free(l->watch);
	hv_timer_free(l->timer);
	if (l->fd >= 0)
		close(l->fd);
	free(l->user);
	free(l->runtime_dir);
	hv_strv_clear(&l->argv);
	free(l);
}

static struct lgs_login *find_attempt(hv_call *call, uint64_t attempt)
{
	struct lgs_peer *peer = hv_call_state(call);
	for (struct lgs_login *l = lgs_logins; l; l = l->next)
		if (l->attempt == attempt && l->peer == peer && l->state != L_RUNNING)
			return l;
	return NULL;
}

static int wsend_simple(struct lgs_login *l, uint8_t type, const char *s)
{
	struct lgs_wbuf *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	lgs_wput_u8(b, type);
	if (s)
		lgs_wput_str(b, s);
	int r = lgs_wsend(l->fd, b);
	free(b);
	return r;
}

/* --- failure: padded, then reported ---------------------------------------- */
static void on_fail_timer(hv_loop *loop, hv_timer *t, void *ud)
{
	struct lgs_login *l = ud;
	if (l->peer)
		login_client_failed(l->peer->conn, l->attempt, LOGIN_SERVER_ERR_AUTH_FAILED,
				    login_server_error_message(LOGIN_SERVER_ERR_AUTH_FAILED));
	lgs_login_free(l);
}

static void attempt_failed(struct lgs_login *l, const char *why)
{
	uint64_t now = hv_now_ns();
	hv_log_info("attempt %llu for '%s' failed: %s", (unsigned long long)l->attempt, l->user, why);
	lgs_backoff_failed(l->user, now);
	l->state = L_FAILING;
	l->pending_prompt = 0;
	hv_watch_free(l->watch);
	l->watch = NULL;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	uint64_t at = l->last_ns + (uint64_t)lgs_opts.fail_delay_ms * 1000000u;
	hv_timer_free(l->timer);
	l->timer = NULL;
	if (hv_loop_add_timer(hv_server_loop(lgs_server), at > now ? at - now : 1, 0, on_fail_timer, l,
			      &l->timer) < 0)
		on_fail_timer(NULL, NULL, l);
}

/* --- what the worker says ----------------------------------------------------- */
static bool worker_prompt(struct lgs_login *l, struct lgs_wmsg *m)
{
	uint8_t kind;
	const char *text;
	if (!lgs_wget_u8(m, &kind) || kind > LOGIN_SERVER_PROMPT_KIND_ERROR || !lgs_wget_str(m, &text) ||
	    l->state != L_TALKING || l->pending_prompt)
		return false;
	uint64_t id = ++l->next_prompt;
	if (kind == LOGIN_SERVER_PROMPT_KIND_VISIBLE || kind == LOGIN_SERVER_PROMPT_KIND_SECRET)
		l->pending_prompt = id;
	if (l->peer)
		login_client_prompt(l->peer->conn, l->attempt, id, kind, text);
	return true;
}

static bool worker_session_ok(struct lgs_login *l, struct lgs_wmsg *m)
{
	int32_t pid, uid;
	const char *dir;
	if (l->state != L_STARTING || !lgs_wget_i32(m, &pid) || !lgs_wget_i32(m, &uid) || pid <= 0 ||
	    !lgs_wget_str(m, &dir) || !(l->runtime_dir = strdup(dir)))
		return false;
	l->state = L_RUNNING;
	attempts_in_flight--;
	if (l->peer)
		l->peer->attempts--;
	l->pid = pid;
	l->uid = (uid_t)uid;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	l->started_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	if (!lgs_foreground)
		lgs_foreground = l->session;
	hv_log_info("session %llu: '%s' (uid %u), pid %d", (unsigned long long)l->session, l->user,
		    (unsigned)l->uid, (int)pid);
	login_server_start_session_rep rep = {.session = l->session};
	login_server_start_session_respond(l->start_call, &rep);
	l->start_call = NULL;
	lgs_notify_changed(l);
	return true;
}

static void worker_ended(struct lgs_login *l, int exit_code, int signo)
{
	/* The user's last session: none other runs or is starting (a starting
	 * one may already use the directory; its uid is not known yet). */
	bool last = true;
	for (struct lgs_login *o = lgs_logins; o; o = o->next)
		if (o != l && ((o->state == L_RUNNING && o->uid == l->uid) ||
			       (o->state == L_STARTING && strcmp(o->user, l->user) == 0)))
			last = false;
	struct lgs_wbuf b = {0};
	lgs_wput_u8(&b, F_FINISH);
	lgs_wput_u8(&b, last);
	lgs_wsend(l->fd, &b);
	hv_log_info("session %llu of '%s' ended: exit %d, signal %d", (unsigned long long)l->session,
		    l->user, exit_code, signo);
	if (lgs_foreground == l->session)
		lgs_foreground = 0;
	lgs_notify_ended(l, exit_code, signo);
	lgs_login_free(l);
}

enum { W_CONTINUE, W_STOP, W_BROKEN };

/* One message: W_STOP when the login is freed or failing (do not touch
 * it), W_BROKEN when the worker said something out of turn. */
static int worker_message(struct lgs_login *l, struct lgs_wmsg *m)
{
	uint8_t type;
	const char *s;
	int32_t a, b;
	if (!lgs_wget_u8(m, &type))
		return W_BROKEN;
	switch (type) {
	case W_PROMPT: return worker_prompt(l, m) ? W_CONTINUE : W_BROKEN;
	case W_AUTH_OK:
		if (l->state != L_TALKING || !lgs_wget_str(m, &s) || lgs_user_invalid(s))
			return W_BROKEN;
		lgs_backoff_succeeded(l->user);
		if (strcmp(s, l->user) != 0) { /* PAM mapped the name */
			char *mapped = strdup(s);
			if (!mapped)
				return W_BROKEN;
			free(l->user);
			l->user = mapped;
		}
		l->state = L_AUTHENTICATED;
		l->pending_prompt = 0;
		if (l->peer)
			login_client_authenticated(l->peer->conn, l->attempt);
		return W_CONTINUE;
	case W_AUTH_FAIL:
		if (l->state != L_TALKING)
			return W_BROKEN;
		attempt_failed(l, lgs_wget_str(m, &s) ? s : "?");
		return W_STOP;
	case W_SESSION_OK: return worker_session_ok(l, m) ? W_CONTINUE : W_BROKEN;
	case W_SESSION_FAIL:
		if (l->state != L_STARTING)
			return W_BROKEN;
		/* A held call: answered here, not by a handler's return. */
		hv_call_respond_error(l->start_call, LOGIN_SERVER_ERR_SESSION_FAILED,
				      lgs_wget_str(m, &s) ? s : "?");
		l->start_call = NULL;
		lgs_login_free(l);
		return W_STOP;
	case W_ENDED:
		if (l->state != L_RUNNING || !lgs_wget_i32(m, &a) || !lgs_wget_i32(m, &b))
			return W_BROKEN;
		worker_ended(l, a, b);
		return W_STOP;
	default: return W_BROKEN;
	}
}

/* The worker's socket: EOF or nonsense before the end is a failure of
 * the attempt, or the end of a running session (exit -1). */
static void on_worker(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	struct lgs_login *l = ud;
	static struct lgs_wmsg m;
	for (;;) {
		ssize_t n = lgs_wrecv(fd, &m);
		if (n == -EAGAIN)
			return;
		int r = n > 0 ? worker_message(l, &m) : W_BROKEN;
		if (r == W_STOP)
			return;
		if (r == W_BROKEN)
			break;
	}
	if (l->state == L_RUNNING)
		worker_ended(l, -1, 0);
	else if (l->state == L_STARTING)
		lgs_login_free(l);
	else
		attempt_failed(l, "the worker ended");
}

/* --- the greeter's requests ------------------------------------------------------ */
static int launch_worker(struct lgs_login *l)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	int r = lgs_launcher_spawn(sv[1]);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	l->fd = sv[0];
	struct lgs_wbuf *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	lgs_wput_u8(b, F_BEGIN);
	lgs_wput_str(b, l->user);
	lgs_wput_u8(b, lgs_opts.autologin && strcmp(lgs_opts.autologin, l->user) == 0);
	r = lgs_wsend(l->fd, b);
	free(b);
	if (r < 0)
		return r;
	if (fcntl(l->fd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	r = hv_loop_add_fd(hv_server_loop(lgs_server), l->fd, EPOLLIN, on_worker, l, &l->watch);
	if (r < 0)
		return r;
	l->state = L_TALKING;
	l->last_ns = hv_now_ns();
	return 0;
}

static void on_backoff_over(hv_loop *loop, hv_timer *t, void *ud)
{
	struct lgs_login *l = ud;
	int r = launch_worker(l);
	if (r < 0)
		attempt_failed(l, strerror(-r));
}

int lgs_begin(hv_call *call, const char *user, uint64_t *attempt)
{
	struct lgs_peer *peer = hv_call_state(call);
	const char *why = lgs_user_invalid(user);
	if (why)
		return login_server_error(call, LOGIN_SERVER_ERR_INVALID_USER, "%s", why);
	if (peer->attempts >= LGS_ATTEMPTS_PER_CONN || attempts_in_flight >= LGS_ATTEMPTS_MAX)
		return LOGIN_SERVER_ERR_BUSY;
	struct lgs_login *l = calloc(1, sizeof(*l));
	if (!l || !(l->user = strdup(user))) {
		free(l);
		return -ENOMEM;
	}
	l->fd = -1;
	l->peer = peer;
	l->attempt = ++last_attempt_id;
	l->state = L_WAITING;
	l->next = lgs_logins;
	lgs_logins = l;
	peer->attempts++;
	attempts_in_flight++;
	/* The reply goes out before the worker's first prompt can arrive:
	 * both are sent from this loop, the reply first. */
	uint64_t now = hv_now_ns(), wait = lgs_backoff_wait_ns(user, now);
	int r = wait ? hv_loop_add_timer(hv_server_loop(lgs_server), wait, 0, on_backoff_over, l, &l->timer)
		     : launch_worker(l);
	if (r < 0) {
		lgs_login_free(l);
		return hv_call_fail(call, r, "cannot start a login worker: %s", strerror(-r));
	}
	*attempt = l->attempt;
	return 0;
}

int lgs_answer(hv_call *call, uint64_t attempt, uint64_t prompt, const char *text)
{
	struct lgs_login *l = find_attempt(call, attempt);
	if (!l)
		return LOGIN_SERVER_ERR_NO_SUCH_ATTEMPT;
	if (l->state != L_TALKING || prompt == 0 || prompt != l->pending_prompt)
		return LOGIN_SERVER_ERR_NOT_ASKED;
	if (strlen(text) > LGS_ANSWER_MAX)
		return hv_call_fail(call, -EMSGSIZE, "an answer is at most %d bytes", LGS_ANSWER_MAX);
	l->pending_prompt = 0;
	l->last_ns = hv_now_ns();
	int r = wsend_simple(l, F_ANSWER, text);
	if (r < 0)
		return hv_call_fail(call, r, "the login worker is gone");
	return 0;
}

int lgs_cancel(hv_call *call, uint64_t attempt)
{
	struct lgs_login *l = find_attempt(call, attempt);
	if (!l || l->state == L_STARTING)
		return LOGIN_SERVER_ERR_NO_SUCH_ATTEMPT;
	lgs_login_free(l);
	return 0;
}

/* The command: the greeter's, or --default-command split on spaces. */
static int session_argv(const hv_vec_bytestring *cmd, hv_strv *out)
{
	for (size_t i = 0; i < cmd->count; i++)
		if (hv_strv_push(out, cmd->items[i]) < 0)
			return -ENOMEM;
	if (cmd->count)
		return 0;
	_hv_cleanup_(hv_freep) char *copy = strdup(lgs_opts.default_cmd);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (hv_strv_push(out, w) < 0)
			return -ENOMEM;
	return out->n ? 0 : -EINVAL;
}

int lgs_start_session(hv_call *call, const login_server_start_session_req *req)
{
	struct lgs_login *l = find_attempt(call, req->attempt);
	if (!l)
		return LOGIN_SERVER_ERR_NO_SUCH_ATTEMPT;
	if (l->state != L_AUTHENTICATED)
		return LOGIN_SERVER_ERR_NOT_AUTHENTICATED;
	for (size_t i = 0; i < req->command.count; i++)
		if (!req->command.items[i][0] && i == 0)
			return hv_call_fail(call, -EINVAL, "the command's name is empty");
	int r = session_argv(&req->command, &l->argv);
	if (r < 0)
		return hv_call_fail(call, r, "no command to run");
	l->session = ++last_session_id;
	char idvar[64];
	snprintf(idvar, sizeof(idvar), "HAVEN_SESSION_ID=%llu", (unsigned long long)l->session);
	_hv_cleanup_(hv_strv_clear) hv_strv env = {0};
	for (size_t i = 0; i < req->env.count; i++)
		hv_strv_push(&env, req->env.items[i]);
	hv_strv_push(&env, idvar);
	struct lgs_wbuf *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	lgs_wput_u8(b, F_START);
	lgs_wput_strv(b, (const char *const *)l->argv.v, l->argv.n);
	lgs_wput_strv(b, (const char *const *)env.v, env.n);
	r = lgs_wsend_fds(l->fd, b, req->stdio.items, req->stdio.count);
	free(b);
	if (r < 0)
		return hv_call_fail(call, r, r == -EMSGSIZE ? "the command and environment are too large"
							    : "the login worker is gone");
	l->state = L_STARTING;
	l->start_call = hv_call_hold(call);
	return HV_IPC_DEFERRED;
}

/* A connection left: its attempts end, its sessions go on without it. */
void lgs_peer_gone(struct lgs_peer *peer)
{
	struct lgs_login *next;
	for (struct lgs_login *l = lgs_logins; l; l = next) {
		next = l->next;
		if (l->peer != peer)
			continue;
		if (l->state == L_RUNNING || l->state == L_STARTING) {
			if (l->state == L_STARTING)
				peer->attempts--; /* in attempts_in_flight until it runs */
			l->peer = NULL;
		} else {
			lgs_login_free(l);
		}
	}
}

void lgs_logins_free(void)
{
	while (lgs_logins)
		lgs_login_free(lgs_logins);
}
