/* test-protocol.c — LoginServer's typed errors, through the generated
 * client, against a running LoginServer (test-login.sh starts it with
 * pam_matrix: alice's password is "secret"):
 *   test-login-protocol SOCKET
 * Bad user names, answers to prompts that were not asked (never sent,
 * already answered, another attempt's or another connection's), a session
 * before authentication, unknown sessions, too many attempts, and a peer
 * that leaves mid-attempt: each a typed error or a clean end, and the
 * server keeps serving. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <haven/ipc.h>

#include "LoginClient.ipc.h"
#include "LoginServer.ipc.h"
#include "check.h"

static const char *sock;

/* What the events said, per connection (one test connection at a time
 * listens). */
static struct {
	uint64_t attempt, prompt;
	int kind;
	bool authenticated, failed;
	int failed_code;
} ev;

static int on_prompt(hv_call *call, const login_client_prompt_req *req)
{
	ev.attempt = req->attempt;
	ev.prompt = req->prompt;
	ev.kind = req->kind;
	return 0;
}

static int on_authenticated(hv_call *call, const login_client_authenticated_req *req)
{
	ev.authenticated = true;
	return 0;
}

static int on_failed(hv_call *call, const login_client_failed_req *req)
{
	ev.failed = true;
	ev.failed_code = req->code;
	return 0;
}

static const login_client_handlers handlers = LOGIN_CLIENT_HANDLERS(on_prompt, on_authenticated,
								    on_failed, NULL, NULL);

static hv_conn *connect_server(void)
{
	hv_conn *c = NULL;
	REQUIRE(hv_conn_connect(NULL, sock, &c) == 0);
	hv_conn_set_timeout(c, 20000);
	REQUIRE(hv_conn_serve(c, &login_client_endpoint, &handlers) == 0);
	return c;
}

/* Dispatch events until cond holds (bounded against hangs only). */
#define WAIT_FOR(c, cond)                                                                          \
	do {                                                                                       \
		for (int i_ = 0; i_ < 400 && !(cond); i_++)                                        \
			hv_conn_dispatch(c, 50);                                                   \
		CHECK_MSG(cond, "timed out waiting for %s", #cond);                                \
	} while (0)

static void bad_names(hv_conn *c)
{
	uint64_t a;
	char *huge = malloc(10001);
	REQUIRE(huge);
	memset(huge, 'a', 10000);
	huge[10000] = '\0';
	const char *names[] = {"", "al\x01ice", "al\nice", "a/b", "a:b", "a b", "-rf", "..", huge, "al\x7fice"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK_MSG(login_server_begin(c, names[i], &a) == LOGIN_SERVER_ERR_INVALID_USER,
			  "name %zu is refused as InvalidUser", i);
	free(huge);
}

static void unasked_answers(hv_conn *c, hv_conn *other)
{
	uint64_t a = 0, session = 0;
	memset(&ev, 0, sizeof(ev));
	REQUIRE(login_server_begin(c, "alice", &a) == 0);
	/* pam_matrix asks one question: prompt 2 is never asked. */
	CHECK_EQ(login_server_answer(c, a, 2, "secret"), LOGIN_SERVER_ERR_NOT_ASKED);
	WAIT_FOR(c, ev.prompt != 0);
	CHECK_EQ(ev.attempt, a);
	CHECK_EQ(ev.kind, LOGIN_SERVER_PROMPT_KIND_SECRET);
	CHECK_EQ(login_server_answer(c, a, ev.prompt + 1, "secret"), LOGIN_SERVER_ERR_NOT_ASKED);
	CHECK_EQ(login_server_answer(c, a, 0, "secret"), LOGIN_SERVER_ERR_NOT_ASKED);
	CHECK_EQ(login_server_answer(c, a + 1000, ev.prompt, "secret"), LOGIN_SERVER_ERR_NO_SUCH_ATTEMPT);
	/* Another connection cannot answer (or see) this attempt. */
	CHECK_EQ(login_server_answer(other, a, ev.prompt, "secret"), LOGIN_SERVER_ERR_NO_SUCH_ATTEMPT);
	CHECK_EQ(login_server_cancel(other, a), LOGIN_SERVER_ERR_NO_SUCH_ATTEMPT);
	hv_vec_bytestring none = {0};
	hv_vec_file nofds = {0};
	CHECK_EQ(login_server_start_session(c, a, none, none, nofds, &session),
		 LOGIN_SERVER_ERR_NOT_AUTHENTICATED);
	CHECK_EQ(login_server_answer(c, a, ev.prompt, "secret"), 0);
	/* Answered once: the same prompt is not waiting any more. */
	CHECK_EQ(login_server_answer(c, a, ev.prompt, "secret"), LOGIN_SERVER_ERR_NOT_ASKED);
	WAIT_FOR(c, ev.authenticated);
	CHECK_EQ(login_server_cancel(c, a), 0);
	/* A session whose command cannot run: SessionFailed, with the step. */
	memset(&ev, 0, sizeof(ev));
	REQUIRE(login_server_begin(c, "alice", &a) == 0);
	WAIT_FOR(c, ev.prompt != 0);
	CHECK_EQ(login_server_answer(c, a, ev.prompt, "secret"), 0);
	WAIT_FOR(c, ev.authenticated);
	const char *missing[] = {"/nonexistent/login-test-command"};
	hv_vec_bytestring cmd = {.items = missing, .count = 1};
	CHECK_EQ(login_server_start_session(c, a, cmd, none, nofds, &session),
		 LOGIN_SERVER_ERR_SESSION_FAILED);
	const hv_ipc_error *e = hv_conn_last_error(c);
	CHECK_MSG(e && strstr(e->message, "exec /nonexistent/login-test-command"),
		  "SessionFailed names the step: %s", e ? e->message : "(none)");
	CHECK_EQ(login_server_cancel(c, a), LOGIN_SERVER_ERR_NO_SUCH_ATTEMPT);
	CHECK_EQ(login_server_cancel(c, a), LOGIN_SERVER_ERR_NO_SUCH_ATTEMPT);
	CHECK_EQ(login_server_start_session(c, a, none, none, nofds, &session),
		 LOGIN_SERVER_ERR_NO_SUCH_ATTEMPT);
}

static void wrong_password(hv_conn *c)
{
	uint64_t a = 0;
	memset(&ev, 0, sizeof(ev));
	REQUIRE(login_server_begin(c, "alice", &a) == 0);
	WAIT_FOR(c, ev.prompt != 0);
	CHECK_EQ(login_server_answer(c, a, ev.prompt, "wrong"), 0);
	WAIT_FOR(c, ev.failed);
	CHECK_EQ(ev.failed_code, LOGIN_SERVER_ERR_AUTH_FAILED);
	CHECK(!ev.authenticated);
	/* The failed attempt is gone. */
	CHECK_EQ(login_server_cancel(c, a), LOGIN_SERVER_ERR_NO_SUCH_ATTEMPT);
}

static void sessions_and_limits(hv_conn *c)
{
	CHECK_EQ(login_server_lock(c, 999), LOGIN_SERVER_ERR_NO_SUCH_SESSION);
	CHECK_EQ(login_server_unlock(c, 999), LOGIN_SERVER_ERR_NO_SUCH_SESSION);
	CHECK_EQ(login_server_switch_to(c, 999), LOGIN_SERVER_ERR_NO_SUCH_SESSION);
	CHECK_EQ(login_server_terminate(c, 999), LOGIN_SERVER_ERR_NO_SUCH_SESSION);
	hv_vec_login_server_session v;
	CHECK_EQ(login_server_list_sessions(c, &v), 0);
	CHECK_EQ(v.count, 0);
	/* Eight attempts in flight per connection; the ninth is Busy. */
	uint64_t a;
	for (int i = 0; i < 8; i++)
		CHECK_EQ(login_server_begin(c, "alice", &a), 0);
	CHECK_EQ(login_server_begin(c, "alice", &a), LOGIN_SERVER_ERR_BUSY);
	CHECK_EQ(login_server_cancel(c, a), 0);
	CHECK_EQ(login_server_begin(c, "alice", &a), 0);
}

/* Run against a server started with --backoff-ms 60000: after three
 * failures in a row, a fourth attempt for the same name gets no prompt
 * (within a second: far below the back-off, so no timing is asserted),
 * while another name is served at once. Names that do not exist back off
 * like names that do. */
static int backoff(void)
{
	hv_conn *c = connect_server();
	uint64_t a;
	for (int i = 0; i < 3; i++) {
		memset(&ev, 0, sizeof(ev));
		REQUIRE(login_server_begin(c, "carol", &a) == 0);
		WAIT_FOR(c, ev.prompt != 0);
		CHECK_EQ(login_server_answer(c, a, ev.prompt, "wrong"), 0);
		WAIT_FOR(c, ev.failed);
	}
	memset(&ev, 0, sizeof(ev));
	CHECK_EQ(login_server_begin(c, "carol", &a), 0);
	for (int i = 0; i < 20; i++)
		hv_conn_dispatch(c, 50);
	CHECK_MSG(ev.prompt == 0, "carol is prompted again at once after 3 failures (no back-off)");
	CHECK_EQ(login_server_cancel(c, a), 0);
	memset(&ev, 0, sizeof(ev));
	CHECK_EQ(login_server_begin(c, "alice", &a), 0);
	WAIT_FOR(c, ev.prompt != 0);
	hv_conn_close(c);
	return check_result();
}

int main(int argc, char **argv)
{
	REQUIRE(argc >= 2);
	sock = argv[1];
	if (argc == 3 && strcmp(argv[2], "--backoff") == 0)
		return backoff();
	hv_conn *c = connect_server(), *other = connect_server();
	bad_names(c);
	unasked_answers(c, other);
	wrong_password(c);
	/* A peer that leaves mid-attempt (its worker waiting on a prompt). */
	uint64_t a;
	CHECK_EQ(login_server_begin(other, "alice", &a), 0);
	hv_conn_close(other);
	sessions_and_limits(c);
	hv_conn_close(c);
	/* The server still serves a new client. */
	c = connect_server();
	hv_vec_login_server_session v;
	CHECK_EQ(login_server_list_sessions(c, &v), 0);
	bad_names(c);
	hv_conn_close(c);
	return check_result();
}
