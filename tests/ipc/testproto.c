/* tests/ipc/testproto.c — the handlers of the TestServer and TestClient
 * endpoints (TestServer.ipc, TestClient.ipc; ipcc generates the rest) and
 * a forkable test server (see testproto.h). */
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

/* Held hold() calls and their tags (views into the held requests, which
 * stay alive until answered), answered by release() in reverse. */
static hv_call *held[256];
static const char *held_tag[256];
static unsigned nheld;
static uint64_t sunk_bytes;

uint64_t test_sunk_bytes(void) { return sunk_bytes; }

static int on_echo(hv_call *call, const test_server_echo_req *req, test_server_echo_rep *rep)
{
	rep->text = req->text;
	return 0;
}

static int on_add(hv_call *call, const test_server_add_req *req, test_server_add_rep *rep)
{
	rep->sum = req->a + req->b;
	return 0;
}

static int on_fail(hv_call *call, const test_server_fail_req *req, test_server_fail_rep *rep)
{
	return hv_call_fail(call, req->code, "%s", req->message);
}

static int on_hold(hv_call *call, const test_server_hold_req *req, test_server_hold_rep *rep)
{
	if (nheld == HV_ARRAY_SIZE(held))
		return hv_call_fail(call, -ENOSPC, "too many held");
	held[nheld] = hv_call_hold(call);
	held_tag[nheld++] = req->tag;
	return HV_IPC_DEFERRED;
}

static int on_release(hv_call *call, const test_server_release_req *req)
{
	while (nheld) {
		nheld--;
		test_server_hold_respond(held[nheld], &(test_server_hold_rep){.tag = held_tag[nheld]});
	}
	return 0;
}

static int on_ping(hv_call *call, const test_server_ping_req *req)
{
	/* A one-way message cannot be held (nothing would release it): if it
	 * could, no pong goes back and the ping tests fail. */
	if (hv_call_hold(call) != NULL)
		return 0;
	test_client_pong(hv_call_conn(call), req->seq);
	return 0;
}

static int on_pass_fds(hv_call *call, const test_server_pass_fds_req *req, test_server_pass_fds_rep *rep)
{
	char buf[256];
	ssize_t n = read(req->pipe, buf, sizeof(buf) - 1);
	if (n < 0)
		n = 0;
	buf[n] = 0;
	uint64_t sum = 0;
	for (size_t i = 0; i < req->buf.size; i++)
		sum += ((const uint8_t *)req->buf.data)[i];
	rep->text = hv_call_strdup(call, buf);
	rep->sum = sum;
	return rep->text ? 0 : -ENOMEM;
}

static int on_get_pipe(hv_call *call, const test_server_get_pipe_req *req, test_server_get_pipe_rep *rep)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	hv_write_full(p[1], req->text, strlen(req->text));
	close(p[1]);
	/* Sending never takes our fd: answer now, then close it. */
	hv_call_hold(call);
	test_server_get_pipe_respond(call, &(test_server_get_pipe_rep){.fd = p[0]});
	close(p[0]);
	return HV_IPC_DEFERRED;
}

static int on_sleep(hv_call *call, const test_server_sleep_req *req, test_server_sleep_rep *rep)
{
	struct timespec ts = {req->ms / 1000, (long)(req->ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

static int on_crash(hv_call *call, const test_server_crash_req *req, test_server_crash_rep *rep)
{
	_exit(3);
}

static int on_bitmap(hv_call *call, const test_server_bitmap_req *req, test_server_bitmap_rep *rep)
{
	const hv_bitmap *bm = &req->b;
	uint64_t sum = 0;
	for (uint32_t y = 0; y < bm->height; y++)
		for (uint32_t x = 0; x < bm->width * 4; x++)
			sum += ((const uint8_t *)bm->buffer.data)[(size_t)y * bm->stride + x];
	rep->sum = sum;
	return 0;
}

static int on_make_buffer(hv_call *call, const test_server_make_buffer_req *req,
			  test_server_make_buffer_rep *rep)
{
	hv_buffer b;
	int r = hv_buffer_create(req->size, &b);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < req->size; i++)
		((uint8_t *)b.data)[i] = (uint8_t)(i * 7);
	r = hv_buffer_seal(&b);
	if (r < 0) {
		hv_buffer_release(&b);
		return hv_call_fail(call, r, "seal");
	}
	/* Sending never takes our buffer: answer now, then release it. */
	hv_call_hold(call);
	test_server_make_buffer_respond(call, &(test_server_make_buffer_rep){.b = b});
	hv_buffer_release(&b);
	return HV_IPC_DEFERRED;
}

static int on_flood(hv_call *call, const test_server_flood_req *req)
{
	hv_conn *c = hv_call_conn(call);
	uint8_t *data = calloc(1, req->size ? req->size : 1);
	hv_bytes blob = {.data = data, .len = req->size};
	for (uint32_t i = 0; i < req->count && hv_conn_is_open(c); i++)
		test_client_blob(c, blob, (hv_opt_file){.present = req->with_fd, .value = 0});
	free(data);
	return 0;
}

static int send_pong(hv_conn *c, void *userdata)
{
	/* A client that just left is no reason to stop. */
	test_client_pong(c, *(const uint64_t *)userdata);
	return 0;
}

static int on_broadcast(hv_call *call, const test_server_broadcast_req *req)
{
	uint64_t seq = req->seq;
	hv_server_foreach(hv_conn_server(hv_call_conn(call)), send_pong, &seq);
	return 0;
}

static int on_sink(hv_call *call, const test_server_sink_req *req)
{
	sunk_bytes += req->data.len;
	return 0;
}

static int on_sunk(hv_call *call, const test_server_sunk_req *req, test_server_sunk_rep *rep)
{
	rep->total = sunk_bytes;
	return 0;
}

const test_server_handlers ts_handlers = {
	.echo = on_echo,
	.add = on_add,
	.fail = on_fail,
	.hold = on_hold,
	.release = on_release,
	.ping = on_ping,
	.pass_fds = on_pass_fds,
	.get_pipe = on_get_pipe,
	.sleep = on_sleep,
	.crash = on_crash,
	.bitmap = on_bitmap,
	.make_buffer = on_make_buffer,
	.flood = on_flood,
	.broadcast = on_broadcast,
	.sink = on_sink,
	.sunk = on_sunk,
};

static int on_pong(hv_call *call, const test_client_pong_req *req)
{
	if (test_client_state.npongs < HV_ARRAY_SIZE(test_client_state.pongs))
		test_client_state.pongs[test_client_state.npongs++] = req->seq;
	return 0;
}

static int on_blob(hv_call *call, const test_client_blob_req *req)
{
	test_client_state.nblobs++;
	test_client_state.blob_bytes += req->data.len;
	return 0;
}

const test_client_handlers tc_handlers = {.pong = on_pong, .blob = on_blob};

int test_server_main(int argc, char **argv, void (*hook)(hv_server *s))
{
	hv_loop *loop;
	hv_server *s;
	signal(SIGPIPE, SIG_IGN);
	if (hv_loop_new(&loop) < 0 || hv_server_new(loop, &test_server_endpoint, &ts_handlers, &s) < 0)
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
