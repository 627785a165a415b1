/* test-conn-state.c — per-connection state (hv_server_set_conn_state):
 * zeroed memory per client, init before the connect hook and able to refuse
 * the client (then neither fini nor the disconnect hook runs), fini once
 * after the disconnect hook however the client leaves, and hv_call_state()
 * reaching it from a handler. Served in-process on the EchoServer endpoint;
 * the clients are raw sockets and a loop-less generated client. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/ipc.h>

#include "EchoServer.ipc.h"
#include "check.h"

struct client_state {
	uint64_t magic; /* set by init: the state is set up before anything else sees it */
	uint64_t calls;
	int serial;
};

static int inits, finis, connects, disconnects, refuse_serial = -1, serial;
static hv_loop *loop;
static hv_server *srv;

static int st_init(hv_conn *c, void *p)
{
	struct client_state *st = p;
	CHECK_EQ(st->magic, 0u); /* zeroed */
	CHECK_EQ(st->calls, 0u);
	st->serial = serial++;
	if (st->serial == refuse_serial)
		return -EPERM;
	st->magic = 0x5eed;
	inits++;
	return 0;
}

static void st_fini(hv_conn *c, void *p)
{
	struct client_state *st = p;
	CHECK_EQ(st->magic, 0x5eedu);
	CHECK(hv_conn_userdata(c) == p);
	st->magic = 0;
	finis++;
}

static int on_connect(hv_server *s, hv_conn *c, void *ud)
{
	const struct client_state *st = hv_conn_userdata(c);
	CHECK(st && st->magic == 0x5eed); /* init ran first */
	connects++;
	return 0;
}

static void on_disconnect(hv_server *s, hv_conn *c, void *ud)
{
	const struct client_state *st = hv_conn_userdata(c);
	CHECK(st && st->magic == 0x5eed); /* fini runs after */
	disconnects++;
}

/* Echo answers with the state's call count, so the client sees whose
 * state the handler reached. */
static int on_echo(hv_call *call, const echo_server_echo_req *req, echo_server_echo_rep *rep)
{
	struct client_state *st = hv_call_state(call);
	st->calls++;
	rep->text = hv_call_printf(call, "%d:%llu", st->serial, (unsigned long long)st->calls);
	return rep->text ? 0 : -ENOMEM;
}

static const echo_server_handlers handlers = {.echo = on_echo};

static char path[108];

static int raw_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	REQUIRE_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Turn the loop until cond holds (bounded: 5 s of idle turns). */
#define SPIN_UNTIL(cond)                                                                           \
	do {                                                                                       \
		for (int i_ = 0; i_ < 500 && !(cond); i_++)                                        \
			hv_loop_run_once(loop, 10);                                                \
		CHECK(cond);                                                                       \
	} while (0)

static bool closed_by_peer(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b;
	return poll(&p, 1, 0) == 1 && recv(fd, &b, 1, MSG_DONTWAIT) == 0;
}

static void test_lifecycle(void)
{
	int a = raw_connect(), b = raw_connect();
	SPIN_UNTIL(connects == 2);
	CHECK_EQ(inits, 2);
	CHECK_EQ(hv_server_connection_count(srv), 2u);
	/* Refused by init: ended, no connect/disconnect hook, no fini. */
	refuse_serial = serial;
	int c = raw_connect();
	SPIN_UNTIL(closed_by_peer(c));
	CHECK_EQ(inits, 2);
	CHECK_EQ(connects, 2);
	CHECK_EQ(hv_server_connection_count(srv), 2u);
	close(c);
	/* Leaving by close, and by a malformed frame: fini once each. */
	close(a);
	SPIN_UNTIL(finis == 1);
	(void)!write(b, "garbage that is no frame header", 31);
	SPIN_UNTIL(finis == 2);
	CHECK_EQ(disconnects, 2);
	close(b);
	for (int i = 0; i < 20; i++)
		hv_loop_run_once(loop, 1);
	CHECK_EQ(finis, 2);
	CHECK_EQ(disconnects, 2);
}

/* Two clients in a child process; the server counts per client. */
static void test_handlers(void)
{
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		hv_conn *x, *y;
		const char *t;
		if (hv_conn_connect(NULL, path, &x) < 0 || hv_conn_connect(NULL, path, &y) < 0)
			_exit(10);
		int bad = 0;
		for (int i = 1; i <= 3; i++)
			bad += echo_server_echo(x, "x", &t) < 0 || atoi(strchr(t, ':') + 1) != i;
		bad += echo_server_echo(y, "y", &t) < 0 || atoi(strchr(t, ':') + 1) != 1;
		hv_conn_close(x);
		hv_conn_close(y);
		_exit(bad ? 11 : 0);
	}
	int status = -1;
	for (int i = 0; i < 1000 && waitpid(pid, &status, WNOHANG) == 0; i++)
		hv_loop_run_once(loop, 10);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	SPIN_UNTIL(hv_server_connection_count(srv) == 0);
	CHECK_EQ(inits, finis);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	char dir[] = "/tmp/hv-state-XXXXXX";
	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_server_new(loop, &echo_server_endpoint, &handlers, &srv), 0);
	hv_server_set_conn_state(srv, sizeof(struct client_state), st_init, st_fini);
	hv_server_on_connect(srv, on_connect, NULL);
	hv_server_on_disconnect(srv, on_disconnect, NULL);
	REQUIRE_EQ(hv_server_listen(srv, path), 0);
	test_lifecycle();
	test_handlers();
	/* Freeing the server ends the clients it still has: fini for each. */
	int fd = raw_connect();
	SPIN_UNTIL(hv_server_connection_count(srv) == 1);
	hv_server_free(srv);
	CHECK_EQ(inits, finis);
	close(fd);
	hv_loop_free(loop);
	rmdir(dir);
	return check_result();
}
