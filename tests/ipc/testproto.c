/* tests/ipc/testproto.c — dispatch for the hand-written TestServer and
 * TestClient endpoints, and a forkable test server (see testproto.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>

#include "testproto.h"

struct test_client_state test_client_state;
const char *test_server_stderr;

static const char *const ts_names[] = {"echo",	   "add",   "fail",   "hold",	   "release",
				       "ping",	   "pass_fds", "get_pipe", "sleep", "crash",
				       "bitmap",   "make_buffer", "flood", "broadcast", "sink", "sunk"};
static const char *const tc_names[] = {"pong", "blob"};

static hv_call *held[256];
static const char *held_tag[256];
static uint64_t sunk_bytes;

uint64_t test_sunk_bytes(void) { return sunk_bytes; }
static unsigned nheld;

static int reply_empty(hv_call *call)
{
	hv_enc e;
	hv_call_reply_init(call, &e);
	return hv_call_respond(call, &e);
}

static int send_pong(hv_conn *c, void *userdata)
{
	hv_enc e;
	hv_enc_init(&e, &test_client_endpoint, TC_PONG, HV_MSG_ONEWAY);
	hv_enc_u64(&e, *(const uint64_t *)userdata);
	hv_conn_send(c, &e); /* a client that just left is no reason to stop */
	return 0;
}

static int ts_dispatch(hv_call *call, hv_msg *msg, const void *handlers)
{
	hv_dec d;
	hv_enc e;
	hv_dec_init(&d, msg);
	hv_conn *c = hv_call_conn(call);
	switch (hv_msg_id(msg)) {
	case TS_ECHO: {
		const char *text;
		hv_dec_string(&d, &text);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		hv_call_reply_init(call, &e);
		hv_enc_string(&e, text);
		return hv_call_respond(call, &e) < 0 ? 0 : 0;
	}
	case TS_ADD: {
		int32_t a, b;
		hv_dec_i32(&d, &a);
		hv_dec_i32(&d, &b);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		hv_call_reply_init(call, &e);
		hv_enc_i32(&e, a + b);
		hv_call_respond(call, &e);
		return 0;
	}
	case TS_FAIL: {
		int32_t code;
		const char *m;
		hv_dec_i32(&d, &code);
		hv_dec_string(&d, &m);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		int r = hv_call_fail(call, code, "%s", m);
		hv_call_respond_error(call, r, NULL);
		return 0;
	}
	case TS_HOLD: {
		const char *tag;
		hv_dec_string(&d, &tag);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		if (nheld == HV_ARRAY_SIZE(held))
			return hv_call_respond_error(call, -ENOSPC, "too many held"), 0;
		/* The tag view is used at release time: a held request stays alive. */
		held[nheld] = hv_call_hold(call);
		held_tag[nheld++] = tag;
		return HV_IPC_DEFERRED;
	}
	case TS_RELEASE:
		if (hv_dec_finish(&d) < 0)
			return d.err;
		while (nheld) {
			nheld--;
			hv_enc e2;
			hv_call_reply_init(held[nheld], &e2);
			hv_enc_string(&e2, held_tag[nheld]);
			hv_call_respond(held[nheld], &e2);
		}
		return 0;
	case TS_PING: {
		uint64_t seq;
		hv_dec_u64(&d, &seq);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		/* A one-way message cannot be held (nothing would release it):
		 * if it could, no Pong goes back and the ping tests fail. */
		if (hv_call_hold(call) != NULL)
			return 0;
		hv_enc_init(&e, &test_client_endpoint, TC_PONG, HV_MSG_ONEWAY);
		hv_enc_u64(&e, seq);
		hv_conn_send(c, &e);
		return 0;
	}
	case TS_PASS_FDS: {
		int fd;
		hv_buffer b;
		hv_dec_fd(&d, &fd);
		hv_dec_buffer(&d, &b);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		char buf[256];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0)
			n = 0;
		buf[n] = 0;
		uint64_t sum = 0;
		for (size_t i = 0; i < b.size; i++)
			sum += ((const uint8_t *)b.data)[i];
		hv_call_reply_init(call, &e);
		hv_enc_string(&e, buf);
		hv_enc_u64(&e, sum);
		hv_call_respond(call, &e);
		return 0;
	}
	case TS_GET_PIPE: {
		const char *text;
		hv_dec_string(&d, &text);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return hv_call_respond_error(call, -errno, NULL), 0;
		hv_write_full(p[1], text, strlen(text));
		close(p[1]);
		hv_call_reply_init(call, &e);
		hv_enc_fd(&e, p[0]);
		hv_call_respond(call, &e);
		close(p[0]); /* sending never takes our fds */
		return 0;
	}
	case TS_SLEEP: {
		uint32_t ms;
		hv_dec_u32(&d, &ms);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return reply_empty(call);
	}
	case TS_CRASH:
		_exit(3);
	case TS_BITMAP: {
		hv_bitmap bm;
		hv_dec_bitmap(&d, &bm);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		uint64_t sum = 0;
		for (uint32_t y = 0; y < bm.height; y++)
			for (uint32_t x = 0; x < bm.width * 4; x++)
				sum += ((const uint8_t *)bm.buffer.data)[(size_t)y * bm.stride + x];
		hv_call_reply_init(call, &e);
		hv_enc_u64(&e, sum);
		hv_call_respond(call, &e);
		return 0;
	}
	case TS_MAKE_BUFFER: {
		uint32_t size;
		hv_dec_u32(&d, &size);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		hv_buffer b;
		int r = hv_buffer_create(size, &b);
		if (r < 0)
			return hv_call_respond_error(call, r, NULL), 0;
		for (uint32_t i = 0; i < size; i++)
			((uint8_t *)b.data)[i] = (uint8_t)(i * 7);
		r = hv_buffer_seal(&b);
		if (r < 0) {
			hv_buffer_release(&b);
			return hv_call_respond_error(call, r, "seal"), 0;
		}
		hv_call_reply_init(call, &e);
		hv_enc_buffer(&e, &b);
		hv_call_respond(call, &e);
		hv_buffer_release(&b);
		return 0;
	}
	case TS_BROADCAST: {
		uint64_t seq;
		hv_dec_u64(&d, &seq);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		hv_server_foreach(hv_conn_server(c), send_pong, &seq);
		return 0;
	}
	case TS_SINK: {
		hv_bytes b;
		hv_dec_bytes(&d, &b);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		sunk_bytes += b.len;
		return 0;
	}
	case TS_SUNK:
		if (hv_dec_finish(&d) < 0)
			return d.err;
		hv_call_reply_init(call, &e);
		hv_enc_u64(&e, sunk_bytes);
		hv_call_respond(call, &e);
		return 0;
	case TS_FLOOD: {
		uint32_t count, size;
		bool with_fd;
		hv_dec_u32(&d, &count);
		hv_dec_u32(&d, &size);
		hv_dec_bool(&d, &with_fd);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		uint8_t *data = calloc(1, size ? size : 1);
		for (uint32_t i = 0; i < count && hv_conn_is_open(c); i++) {
			hv_enc_init(&e, &test_client_endpoint, TC_BLOB, HV_MSG_ONEWAY);
			hv_enc_bytes(&e, data, size);
			hv_enc_present(&e, with_fd);
			if (with_fd)
				hv_enc_fd(&e, 0);
			hv_conn_send(c, &e);
		}
		free(data);
		return 0;
	}
	}
	return -EBADMSG;
}

static int tc_dispatch(hv_call *call, hv_msg *msg, const void *handlers)
{
	hv_dec d;
	hv_dec_init(&d, msg);
	switch (hv_msg_id(msg)) {
	case TC_PONG: {
		uint64_t seq;
		hv_dec_u64(&d, &seq);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		if (test_client_state.npongs < HV_ARRAY_SIZE(test_client_state.pongs))
			test_client_state.pongs[test_client_state.npongs++] = seq;
		return 0;
	}
	case TC_BLOB: {
		hv_bytes b;
		bool present;
		int fd = -1;
		hv_dec_bytes(&d, &b);
		if (hv_dec_present(&d, &present) && present)
			hv_dec_fd(&d, &fd);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		test_client_state.nblobs++;
		test_client_state.blob_bytes += b.len;
		return 0;
	}
	}
	return -EBADMSG;
}

const hv_endpoint test_server_endpoint = {
	.name = "TestServer",
	.magic = 0x752c1d32u, /* checked against hv_ipc_magic("TestServer") in test-ipc-wire */
	.message_count = TS_COUNT,
	.message_names = ts_names,
	.dispatch = ts_dispatch,
};
const hv_endpoint test_client_endpoint = {
	.name = "TestClient",
	.magic = 0x55ed797eu,
	.message_count = TC_COUNT,
	.message_names = tc_names,
	.dispatch = tc_dispatch,
};

int test_server_main(int argc, char **argv, void (*hook)(hv_server *s))
{
	hv_loop *loop;
	hv_server *s;
	signal(SIGPIPE, SIG_IGN);
	if (hv_loop_new(&loop) < 0 || hv_server_new(loop, &test_server_endpoint, NULL, &s) < 0)
		_exit(10);
	if (hook)
		hook(s);
	const char *path = NULL; /* --socket PATH or --socket=PATH, else the environment */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			path = argv[i + 1];
		else if (strncmp(argv[i], "--socket=", 9) == 0)
			path = argv[i] + 9;
	if (hv_server_start(s, path) < 0)
		_exit(11);
	/* Readiness: the parent waits for this byte (fd 200 if open). */
	if (fcntl(200, F_GETFD) >= 0) {
		(void)!write(200, "R", 1);
		close(200);
	}
	hv_loop_run(loop);
	hv_server_free(s);
	hv_loop_free(loop);
	_exit(0);
}

pid_t test_server_fork(const char *path, void (*hook)(hv_server *s))
{
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		/* A failed check in the parent must not leave servers behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		dup2(p[1], 200);
		if (test_server_stderr) {
			int fd = open(test_server_stderr, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
			if (fd >= 0)
				dup2(fd, 2);
		}
		char *argv[] = {"test-server", "--socket", (char *)path, NULL};
		test_server_main(3, argv, hook);
	}
	close(p[1]);
	char ch;
	REQUIRE(read(p[0], &ch, 1) == 1);
	close(p[0]);
	return pid;
}

void test_server_kill(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static char tmpdir[64];

const char *test_tmpdir(void)
{
	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/haven-ipc-test-XXXXXX");
		REQUIRE(mkdtemp(tmpdir));
	}
	return tmpdir;
}

void test_tmp_cleanup(void)
{
	if (!tmpdir[0])
		return;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
	tmpdir[0] = 0;
}

int ts_echo(hv_conn *c, const char *text, const char **out)
{
	hv_enc e;
	hv_msg *reply;
	hv_enc_init(&e, &test_server_endpoint, TS_ECHO, HV_MSG_REQUEST);
	hv_enc_string(&e, text);
	int r = hv_conn_call(c, &e, -1, &reply);
	if (r < 0)
		return r;
	hv_dec d;
	const char *s = NULL;
	hv_dec_init(&d, reply);
	hv_dec_string(&d, &s);
	r = hv_dec_finish(&d);
	if (r < 0)
		return r;
	if (out)
		*out = s;
	return 0;
}

int ts_add(hv_conn *c, int32_t a, int32_t b, int32_t *sum)
{
	hv_enc e;
	hv_msg *reply;
	hv_enc_init(&e, &test_server_endpoint, TS_ADD, HV_MSG_REQUEST);
	hv_enc_i32(&e, a);
	hv_enc_i32(&e, b);
	int r = hv_conn_call(c, &e, -1, &reply);
	if (r < 0)
		return r;
	hv_dec d;
	hv_dec_init(&d, reply);
	hv_dec_i32(&d, sum);
	return hv_dec_finish(&d);
}

int ts_sleep(hv_conn *c, uint32_t ms)
{
	hv_enc e;
	hv_msg *reply;
	hv_enc_init(&e, &test_server_endpoint, TS_SLEEP, HV_MSG_REQUEST);
	hv_enc_u32(&e, ms);
	return hv_conn_call(c, &e, -1, &reply);
}

int ts_oneway(hv_conn *c, uint16_t id, uint64_t v)
{
	hv_enc e;
	hv_enc_init(&e, &test_server_endpoint, id, HV_MSG_ONEWAY);
	if (id == TS_PING || id == TS_BROADCAST)
		hv_enc_u64(&e, v);
	return hv_conn_send(c, &e);
}
