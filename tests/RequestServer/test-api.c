/* test-api.c — what the CLI does not use of RequestServer.ipc, through the
 * client library: progress events, stop_request (of a transfer paused by
 * a client that does not read), an unknown id, and requests refused at the
 * start (a bad method, a bad header name, a value with a line break, an
 * unknown scheme). Run by test-request.sh against its service and nginx:
 *   test-request-api SOCKET URL SIZE BIG_URL
 * (URL: a body of SIZE bytes, read slowly; BIG_URL: one larger than a
 * pipe and the socket buffers hold, never read, then stopped) */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <haven/loop.h>

#include "check.h"
#include "request-client.h"

struct run {
	hv_loop *loop;
	unsigned progress;
	uint64_t last_done;
	bool finished;
	rqc_outcome o;
	char message[256];
};

static void on_progress(rqc_request *q, uint64_t done, uint64_t total, void *ud)
{
	(void)q, (void)total;
	struct run *run = ud;
	CHECK(done >= run->last_done);
	run->last_done = done;
	run->progress++;
}

static void on_finished(rqc_request *q, const rqc_outcome *o, void *ud)
{
	(void)q;
	struct run *run = ud;
	run->o = *o;
	snprintf(run->message, sizeof(run->message), "%s", o->message ? o->message : "");
	run->o.message = run->message;
	run->finished = true;
	hv_loop_quit(run->loop, 0);
}

static const rqc_callbacks cbs = {.progress = on_progress, .finished = on_finished};

/* Start p with its body into fd and run until finished (or after ms when
 * stop_after_ms > 0: stop it then). */
static void run_one(hv_loop *loop, rqc_session *s, rqc_params *p, int fd, struct run *run, int drain_fd,
		    int stop_after_ms)
{
	*run = (struct run){.loop = loop};
	rqc_request *q;
	int r = rqc_start(s, p, fd, &cbs, run, &q);
	if (r < 0) {
		/* Not even sent (the encoder refused it): as a refusal. */
		run->o.call_error = r;
		snprintf(run->message, sizeof(run->message), "not sent: %s", strerror(-r));
		return;
	}
	uint64_t t0 = hv_now_ns();
	bool stopped = false;
	while (!run->finished) {
		hv_loop_run_once(loop, 1);
		if (drain_fd >= 0) {
			char buf[16384]; /* a slow reader */
			if (read(drain_fd, buf, sizeof(buf)) == 0)
				drain_fd = -1;
		}
		if (stop_after_ms > 0 && !stopped && hv_now_ns() - t0 > (uint64_t)stop_after_ms * 1000000u &&
		    rqc_request_id(q)) {
			REQUIRE(rqc_stop(q) == 0);
			stopped = true;
		}
	}
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 5);
	const char *sock = argv[1], *url = argv[2], *big = argv[4];
	uint64_t size = strtoull(argv[3], NULL, 10);
	hv_loop *loop;
	rqc_session *s;
	REQUIRE(hv_loop_new(&loop) == 0);
	REQUIRE(rqc_connect(loop, sock, &s) == 0);
	struct run run;
	int p[2];

	/* Progress events, growing, then the whole body. */
	REQUIRE(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	rqc_params prm = {.url = url, .options = {.progress = true}};
	run_one(loop, s, &prm, p[1], &run, p[0], 0);
	close(p[1]);
	CHECK_MSG(run.o.kind == REQUEST_SERVER_ERROR_KIND_NONE, "download: %s", run.o.message);
	CHECK_EQ(run.o.bytes, size);
	CHECK_MSG(run.progress > 0, "no progress event in a slow %llu-byte download", (unsigned long long)size);
	close(p[0]);

	/* stop_request of a transfer its client does not read (paused). */
	REQUIRE(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	prm = (rqc_params){.url = big};
	run_one(loop, s, &prm, p[1], &run, -1, 300);
	close(p[1]);
	CHECK_MSG(run.o.kind == REQUEST_SERVER_ERROR_KIND_CANCELLED, "stop: kind %d (%s)", run.o.kind, run.o.message);
	CHECK_MSG(strstr(run.message, "stopped by the client"), "stop: %s", run.message);
	CHECK(run.o.bytes < (8u << 20));
	char c;
	while (read(p[0], &c, 1) > 0) {
	}
	CHECK_MSG(read(p[0], &c, 1) == 0, "the body fd of a stopped request is closed (EOF)");
	close(p[0]);

	/* An id that is not in flight. */
	bool stopped = true;
	hv_conn_set_timeout(rqc_conn(s), 10000);
	CHECK_EQ(request_server_stop_request(rqc_conn(s), 999999, &stopped), 0);
	CHECK(!stopped);

	/* Refused at the start, the connection stays. */
	struct {
		rqc_params p;
		int code;
	} bad[] = {
		{{.url = url, .method = "GE T"}, -EINVAL},
		{{.url = url, .headers = (request_server_header[]){{"Bad Name", "x"}}, .nheaders = 1}, -EINVAL},
		{{.url = url, .headers = (request_server_header[]){{"X-Split", "a\r\nInjected: 1"}}, .nheaders = 1}, -EINVAL},
		{{.url = "gopher://127.0.0.1/"}, REQUEST_SERVER_ERR_INVALID_URL},
		{{.url = "not a url"}, REQUEST_SERVER_ERR_INVALID_URL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		run_one(loop, s, &bad[i].p, fd, &run, -1, 0);
		close(fd);
		CHECK_MSG(run.o.call_error == bad[i].code, "bad request %zu: %d (%s), expected %d", i,
			  run.o.call_error, run.message, bad[i].code);
	}
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	prm = (rqc_params){.url = url, .method = "HEAD"};
	run_one(loop, s, &prm, fd, &run, -1, 0);
	close(fd);
	CHECK_MSG(run.o.kind == REQUEST_SERVER_ERROR_KIND_NONE && run.o.status == 200,
		  "after the refusals the connection serves: %s", run.message);

	rqc_close(s);
	hv_loop_free(loop);
	return check_result();
}
