/* test-echo-server.c — EchoServer over a real socket, through the generated
 * client: every message, socket activation, many clients at once, clients
 * that die mid-call and clients that send garbage (each dropped alone).
 *
 * Usage: test-echo-server PATH-TO-EchoServer
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/loop.h>

#include "check.h"
#include "EchoClient.ipc.h"
#include "EchoServer.ipc.h"
#include "fixture.h"

static const char *server_path;

/* --- every message ------------------------------------------------------ */

static uint64_t pongs_seen, last_pong;
static int on_pong(hv_call *call, const echo_client_pong_req *req)
{
	REQUIRE_EQ(req->seq, last_pong + 1); /* in order, none lost */
	last_pong = req->seq;
	pongs_seen++;
	return 0;
}
static const echo_client_handlers client_handlers = {.pong = on_pong};

static void check_echo(hv_conn *c)
{
	const char *back = NULL;
	REQUIRE_EQ(echo_server_echo(c, "hello", &back), 0);
	REQUIRE(!strcmp(back, "hello"));
	REQUIRE_EQ(echo_server_echo(c, "", &back), 0);
	REQUIRE(!strcmp(back, ""));
	REQUIRE_EQ(echo_server_echo(c, "caf\xc3\xa9 \xe2\x9c\x93", &back), 0);
	REQUIRE(!strcmp(back, "caf\xc3\xa9 \xe2\x9c\x93"));
	/* Invalid UTF-8 is refused by the sender's encoder, before the wire. */
	REQUIRE(echo_server_echo(c, "bad \xff", &back) < 0);
	/* ...and the connection is still usable. */
	REQUIRE_EQ(echo_server_echo(c, "still here", &back), 0);
	REQUIRE(!strcmp(back, "still here"));
}

static void check_echo_bytes(hv_conn *c)
{
	static const size_t sizes[] = {0, 1, 64, 4096, 1u << 20};
	for (size_t i = 0; i < HV_ARRAY_SIZE(sizes); i++) {
		uint8_t *data = malloc(sizes[i] + 1);
		REQUIRE(data);
		for (size_t k = 0; k < sizes[i]; k++)
			data[k] = (uint8_t)(k * 7 + i); /* includes zeros */
		hv_bytes back = {0};
		REQUIRE_EQ(echo_server_echo_bytes(c, (hv_bytes){data, sizes[i]}, &back), 0);
		REQUIRE_EQ(back.len, sizes[i]);
		REQUIRE(sizes[i] == 0 || !memcmp(back.data, data, sizes[i]));
		free(data);
	}
}

static void check_ping_pong(hv_conn *c)
{
	REQUIRE_EQ(hv_conn_serve(c, &echo_client_endpoint, &client_handlers), 0);
	pongs_seen = last_pong = 0;
	for (uint64_t seq = 1; seq <= 100; seq++)
		REQUIRE_EQ(echo_server_ping(c, seq), 0);
	REQUIRE_EQ(hv_conn_flush(c), 0);
	while (pongs_seen < 100)
		REQUIRE(hv_conn_dispatch(c, 30000) > 0);
	REQUIRE_EQ(last_pong, 100);
}

static void check_echo_buffer(hv_conn *c)
{
	hv_buffer b = HV_BUFFER_EMPTY, back = HV_BUFFER_EMPTY;
	REQUIRE_EQ(hv_buffer_create(1u << 20, &b), 0);
	memset(b.data, 0x5a, b.size);
	REQUIRE_EQ(echo_server_echo_buffer(c, b, &back), 0);
	REQUIRE_EQ(back.size, b.size);
	REQUIRE(back.fd >= 0 && back.fd != b.fd);
	/* The same memory came back, not a copy: same memfd inode, and a write
	 * through one mapping shows in the other. */
	struct stat s1, s2;
	REQUIRE_EQ(fstat(b.fd, &s1), 0);
	REQUIRE_EQ(fstat(back.fd, &s2), 0);
	REQUIRE(s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev);
	REQUIRE(!memcmp(back.data, b.data, b.size));
	((uint8_t *)b.data)[12345] = 0xa5;
	REQUIRE_EQ(((const uint8_t *)back.data)[12345], 0xa5);
	hv_buffer_release(&back);

	/* A sealed (read-only) buffer comes back read-only. Sealing waits
	 * for every writable mapping to go: the server unmaps its own just
	 * after sending the reply, so -EBUSY for a moment is expected. */
	int sr;
	for (int tries = 0; (sr = hv_buffer_seal(&b)) == -EBUSY && tries < 5000; tries++)
		usleep(1000);
	REQUIRE_EQ(sr, 0);
	REQUIRE_EQ(echo_server_echo_buffer(c, b, &back), 0);
	REQUIRE(back.readonly);
	REQUIRE_EQ(((const uint8_t *)back.data)[12345], 0xa5);
	hv_buffer_release(&back);
	hv_buffer_release(&b);
}

static void check_echo_file(hv_conn *c, const char *dir)
{
	char path[256];
	snprintf(path, sizeof path, "%s/file", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE_EQ(write(fd, "contents", 8), 8);
	int back = -1;
	REQUIRE_EQ(echo_server_echo_file(c, fd, &back), 0);
	REQUIRE(back >= 0 && back != fd);
	struct stat s1, s2;
	REQUIRE_EQ(fstat(fd, &s1), 0);
	REQUIRE_EQ(fstat(back, &s2), 0);
	REQUIRE(s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev);
	char buf[16] = {0};
	REQUIRE_EQ(pread(back, buf, sizeof buf, 0), 8);
	REQUIRE(!memcmp(buf, "contents", 8));
	close(back);
	close(fd);
	REQUIRE_EQ(unlink(path), 0);
}

static void check_fail(hv_conn *c)
{
	REQUIRE_EQ(echo_server_fail(c, -42), -42);
	const hv_ipc_error *e = hv_conn_last_error(c);
	REQUIRE(e->remote);
	REQUIRE_EQ(e->code, -42);
	REQUIRE(strstr(e->message, "-42"));
	REQUIRE_EQ(echo_server_fail(c, -ENOENT), -ENOENT);
	/* A non-negative code is itself a bad request. */
	REQUIRE_EQ(echo_server_fail(c, 3), -EINVAL);
	REQUIRE(hv_conn_last_error(c)->remote);
	/* 0 too: an "error" with code 0 would read as success (mutation
	 * echo-fail-accepts-zero). */
	REQUIRE_EQ(echo_server_fail(c, 0), -EINVAL);
	REQUIRE(strstr(hv_conn_last_error(c)->message, "negative"));
	/* A failed call leaves the connection working. */
	const char *back;
	REQUIRE_EQ(echo_server_echo(c, "after", &back), 0);
}

static void check_stats(hv_conn *c, const echo_fixture *f)
{
	uint64_t pings, discards, bytes;
	REQUIRE_EQ(echo_server_stats(c, &pings, &discards, &bytes), 0);
	REQUIRE_EQ(discards, 0);
	uint8_t data[64] = {1};
	for (int i = 0; i < 1000; i++)
		REQUIRE_EQ(echo_server_discard(c, (hv_bytes){data, sizeof data}), 0);
	uint64_t pings2;
	/* The sync call is ordered after the one-way messages on the socket. */
	REQUIRE_EQ(echo_server_stats(c, &pings2, &discards, &bytes), 0);
	REQUIRE_EQ(pings2, pings);
	REQUIRE_EQ(discards, 1000);
	REQUIRE_EQ(bytes, 64000);
	/* Counters are per connection. */
	hv_conn *other = echo_fixture_connect(f);
	REQUIRE_EQ(echo_server_stats(other, &pings2, &discards, &bytes), 0);
	REQUIRE_EQ(pings2, 0);
	REQUIRE_EQ(discards, 0);
	hv_conn_close(other);
}

static void test_messages(bool listen_fds)
{
	echo_fixture f;
	echo_fixture_start(&f, server_path, listen_fds);
	hv_conn *c = echo_fixture_connect(&f);
	/* Once serving, the server has pledged itself: seccomp filter mode (2)
	 * and no_new_privs, whoever started it. */
	const char *back;
	REQUIRE_EQ(echo_server_echo(c, "sandboxed?", &back), 0);
	REQUIRE_EQ(proc_status_field(f.pid, "Seccomp"), 2);
	REQUIRE_EQ(proc_status_field(f.pid, "NoNewPrivs"), 1);
	check_echo(c);
	check_echo_bytes(c);
	check_ping_pong(c);
	check_echo_buffer(c);
	check_echo_file(c, f.dir);
	check_fail(c);
	check_stats(c, &f);
	hv_conn_close(c);
	echo_fixture_stop(&f);
}

/* --- many clients at once ------------------------------------------------ */

/* Each child process: its own connection, its own texts, many calls. */
static void client_child(const echo_fixture *f, int id)
{
	hv_conn *c = echo_fixture_connect(f);
	for (int i = 0; i < 300; i++) {
		char text[64];
		const char *back;
		snprintf(text, sizeof text, "client %d call %d", id, i);
		if (echo_server_echo(c, text, &back) < 0 || strcmp(back, text))
			_exit(1);
	}
	hv_conn_close(c);
	_exit(0);
}

struct async_state {
	unsigned done;
	unsigned bad;
};
static struct async_state async_st;
static char async_texts[200][32];

static void on_async_echo(hv_conn *c, int status, const echo_server_echo_rep *rep, void *ud)
{
	const char *want = ud;
	if (status < 0 || strcmp(rep->text, want))
		async_st.bad++;
	if (++async_st.done == HV_ARRAY_SIZE(async_texts))
		hv_loop_quit(hv_conn_loop(c), 0);
}

static void test_concurrent_clients(void)
{
	echo_fixture f;
	echo_fixture_start(&f, server_path, false);

	enum { CHILDREN = 6 };
	pid_t kids[CHILDREN];
	for (int i = 0; i < CHILDREN; i++) {
		kids[i] = fork();
		REQUIRE(kids[i] >= 0);
		if (kids[i] == 0)
			client_child(&f, i);
	}

	/* Meanwhile, this process keeps 200 async calls in flight on one
	 * connection: each reply must reach the callback of its own request. */
	hv_loop *loop;
	hv_conn *c;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_conn_connect(loop, f.sock, &c), 0);
	for (size_t i = 0; i < HV_ARRAY_SIZE(async_texts); i++) {
		snprintf(async_texts[i], sizeof async_texts[i], "async %zu", i);
		REQUIRE_EQ(echo_server_echo_async(c, async_texts[i], on_async_echo, async_texts[i]), 0);
	}
	REQUIRE_EQ(hv_loop_run(loop), 0);
	REQUIRE_EQ(async_st.done, HV_ARRAY_SIZE(async_texts));
	REQUIRE_EQ(async_st.bad, 0);
	hv_conn_close(c);
	hv_loop_free(loop);

	for (int i = 0; i < CHILDREN; i++) {
		int status;
		REQUIRE_EQ(waitpid(kids[i], &status, 0), kids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fprintf(stderr, "client %d ended with status %#x\n", i, status);
		REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	echo_fixture_stop(&f);
}

/* --- peers that die or misbehave ----------------------------------------- */

static void write_all_or_die(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		REQUIRE(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* A frame header as docs/ipc-wire-format.md specifies it. */
static size_t make_header(uint8_t *h, uint32_t payload_len, uint32_t magic, uint16_t id,
			  uint8_t kind, uint8_t nfds, uint32_t request_id)
{
	memcpy(h, &payload_len, 4);
	memcpy(h + 4, &magic, 4);
	memcpy(h + 8, &id, 2);
	h[10] = kind;
	h[11] = nfds;
	memcpy(h + 12, &request_id, 4);
	return HV_IPC_HEADER_SIZE;
}

/* The server must close a misbehaving peer's connection: read sees EOF (or
 * a reset) rather than a reply. */
static void expect_dropped(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	REQUIRE_EQ(poll(&p, 1, 60000), 1); /* a hang bound, not a timing check */
	uint8_t buf[256];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		; /* an error reply before the close would be fine too */
	REQUIRE(n == 0 || (n < 0 && errno == ECONNRESET));
	close(fd);
}

static void check_serving(echo_fixture *f, hv_conn *keep)
{
	const char *back;
	REQUIRE(echo_fixture_alive(f));
	REQUIRE_EQ(echo_server_echo(keep, "old client fine", &back), 0);
	REQUIRE(!strcmp(back, "old client fine"));
	hv_conn *fresh = echo_fixture_connect(f);
	REQUIRE_EQ(echo_server_echo(fresh, "new client fine", &back), 0);
	hv_conn_close(fresh);
}

static void never_called(hv_conn *c, int status, const echo_server_echo_bytes_rep *rep, void *ud)
{
	_exit(3);
}

static void test_client_dies_mid_call(void)
{
	echo_fixture f;
	echo_fixture_start(&f, server_path, false);
	hv_conn *keep = echo_fixture_connect(&f);

	/* 1. A big request, then death before reading the big reply. */
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		hv_conn *c = echo_fixture_connect(&f);
		size_t n = 8u << 20;
		uint8_t *data = calloc(1, n);
		if (!data || echo_server_echo_bytes_async(c, (hv_bytes){data, n}, never_called, NULL) < 0 ||
		    hv_conn_flush(c) < 0)
			_exit(1);
		free(data); /* sending took a copy: the request is on its way */
		raise(SIGKILL);
	}
	int status;
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	REQUIRE(WIFSIGNALED(status));
	check_serving(&f, keep);

	/* 2. Half a header, then gone. */
	uint8_t h[HV_IPC_HEADER_SIZE];
	make_header(h, 8, echo_server_endpoint.magic, ECHO_SERVER_MSG_ECHO, HV_MSG_REQUEST, 0, 1);
	int fd = echo_fixture_raw_socket(&f);
	write_all_or_die(fd, h, 7);
	close(fd);
	check_serving(&f, keep);

	/* 3. A header announcing 1 MiB, 100 bytes of it, then gone. */
	make_header(h, 1u << 20, echo_server_endpoint.magic, ECHO_SERVER_MSG_ECHO_BYTES,
		    HV_MSG_REQUEST, 0, 1);
	fd = echo_fixture_raw_socket(&f);
	write_all_or_die(fd, h, sizeof h);
	uint8_t junk[100] = {0};
	write_all_or_die(fd, junk, sizeof junk);
	close(fd);
	check_serving(&f, keep);

	hv_conn_close(keep);
	echo_fixture_stop(&f);
}

static void test_garbage(void)
{
	echo_fixture f;
	echo_fixture_start(&f, server_path, false);
	hv_conn *keep = echo_fixture_connect(&f);
	uint8_t msg[256];
	uint32_t magic = echo_server_endpoint.magic;

	/* Noise: wrong magic, nonsense lengths. */
	int fd = echo_fixture_raw_socket(&f);
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i * 131 + 17);
	write_all_or_die(fd, msg, sizeof msg);
	expect_dropped(fd);
	check_serving(&f, keep);

	/* Unknown message id. */
	fd = echo_fixture_raw_socket(&f);
	write_all_or_die(fd, msg, make_header(msg, 0, magic, 999, HV_MSG_REQUEST, 0, 1));
	expect_dropped(fd);
	check_serving(&f, keep);

	/* Echo whose String is not UTF-8. */
	fd = echo_fixture_raw_socket(&f);
	size_t n = make_header(msg, 4 + 3 + 1, magic, ECHO_SERVER_MSG_ECHO, HV_MSG_REQUEST, 0, 1);
	uint32_t len = 3;
	memcpy(msg + n, &len, 4);
	memcpy(msg + n + 4, "a\xff" "b", 4); /* with its NUL */
	write_all_or_die(fd, msg, n + 8);
	expect_dropped(fd);
	check_serving(&f, keep);

	/* A payload length over the limit. */
	fd = echo_fixture_raw_socket(&f);
	write_all_or_die(fd, msg,
			 make_header(msg, 0xffffffffu, magic, ECHO_SERVER_MSG_ECHO, HV_MSG_REQUEST, 0, 1));
	expect_dropped(fd);
	check_serving(&f, keep);

	/* Trailing bytes after a valid Ping. */
	fd = echo_fixture_raw_socket(&f);
	n = make_header(msg, 8 + 5, magic, ECHO_SERVER_MSG_PING, HV_MSG_ONEWAY, 0, 0);
	memset(msg + n, 0, 13);
	write_all_or_die(fd, msg, n + 13);
	expect_dropped(fd);
	check_serving(&f, keep);

	hv_conn_close(keep);
	echo_fixture_stop(&f);
}

/* --- the command line ---------------------------------------------------- */

static void test_command_line(void)
{
	char out[4096];
	char *help[] = {(char *)server_path, "--help", NULL};
	REQUIRE_EQ(run_capture(help, NULL, out, sizeof out), 0);
	REQUIRE(strstr(out, "Usage: EchoServer"));

	char *bad[] = {(char *)server_path, "--frobnicate", NULL};
	REQUIRE_EQ(run_capture(bad, NULL, out, sizeof out), 2);
	REQUIRE(strstr(out, "Usage: EchoServer"));

	char *missing[] = {(char *)server_path, "--socket", NULL};
	REQUIRE_EQ(run_capture(missing, NULL, out, sizeof out), 2);

	/* Neither --socket nor sockets from a manager: a clear error, exit 1. */
	char *none[] = {(char *)server_path, NULL};
	unsetenv("LISTEN_FDS");
	REQUIRE_EQ(run_capture(none, NULL, out, sizeof out), 1);
	REQUIRE(out[0] != '\0');
}

int main(int argc, char **argv)
{
	REQUIRE_EQ(argc, 2);
	server_path = argv[1];
	signal(SIGPIPE, SIG_IGN);
	test_command_line();
	test_messages(false);
	test_messages(true);
	test_concurrent_clients();
	test_client_dies_mid_call();
	test_garbage();
	printf("test-echo-server: ok\n");
	return 0;
}
