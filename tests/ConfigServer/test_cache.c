/* test_cache.c — the client library's read cache against a real
 * ConfigServer: a repeated read is answered without the server (proved by
 * stopping it: a cached read still answers, an uncached one times out), a
 * change event or the connection's own write sends the next read to the
 * server, a writer in another process never leaves a read older than the
 * events already processed, the bound evicts, and a connection whose
 * server died serves nothing it kept.
 *
 *   test-config-cache CONFIGSERVER
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "check.h"
#include "config-client.h"
#include "service.h"

#define STOPPED_MS 300 /* a call to a stopped server times out after this */

static svc_fixture fx;

static hv_conn *client(void)
{
	hv_conn *c = NULL;
	REQUIRE_EQ(conf_connect(NULL, fx.sock, &c), 0);
	return c;
}

static char *read_str(hv_conn *c, const char *d, const char *g, const char *k, int *r)
{
	char *v = NULL;
	*r = conf_read_string(c, d, g, k, &v);
	return v;
}

/* Wait until something has arrived on c's socket (an event). */
static void wait_readable(hv_conn *c)
{
	struct pollfd p = {.fd = hv_conn_fd(c), .events = POLLIN};
	REQUIRE_EQ(poll(&p, 1, 10000), 1);
}

static void count_event(const conf_event *e, void *ud) { ++*(int *)ud; }

/* Dispatch c's events until the counting watcher has seen n. */
static void wait_events(hv_conn *c, const int *count, int n)
{
	while (*count < n)
		REQUIRE(hv_conn_dispatch(c, 10000) > 0);
}

/* A read answered while ConfigServer is stopped came from the cache. */
static void test_repeated_read_stays_in_process(void)
{
	_hv_cleanup_(hv_conn_closep) hv_conn *w = client(), *r = client(), *u = client();
	REQUIRE_EQ(conf_write_string(w, "Cache", "G", "k", "one"), 0);
	REQUIRE_EQ(conf_write_i32(w, "Cache", "G", "n", -7), 0);
	int rc;
	char *v = read_str(r, "Cache", "G", "k", &rc);
	CHECK_EQ(rc, 1);
	CHECK_STR(v, "one");
	free(v);
	int32_t n = 0;
	CHECK_EQ(conf_read_i32(r, "Cache", "G", "n", &n), 1);
	CHECK_EQ(n, -7);
	CHECK_EQ(conf_read_string(r, "Cache", "G", "absent", &v), 0);
	REQUIRE_EQ(conf_set_cache(u, false), 0);
	CHECK_EQ(conf_read_i32(u, "Cache", "G", "n", &n), 1);

	REQUIRE_EQ(kill(fx.pid, SIGSTOP), 0);
	hv_conn_set_timeout(r, STOPPED_MS);
	hv_conn_set_timeout(u, STOPPED_MS);
	v = read_str(r, "Cache", "G", "k", &rc);
	CHECK_EQ(rc, 1);
	CHECK_STR(v, "one");
	free(v);
	n = 0;
	CHECK_EQ(conf_read_i32(r, "Cache", "G", "n", &n), 1);
	CHECK_EQ(n, -7);
	CHECK_EQ(conf_read_string(r, "Cache", "G", "absent", &v), 0); /* absence is kept too */
	/* Kept per type: the same key read as a string is still a question. */
	CHECK_EQ(conf_read_string(r, "Cache", "G", "n", &v), -ETIMEDOUT);
	/* Opted out: every read asks. */
	CHECK_EQ(conf_read_i32(u, "Cache", "G", "n", &n), -ETIMEDOUT);
	REQUIRE_EQ(kill(fx.pid, SIGCONT), 0);
}

/* Changed by another client: once its event has arrived, the next read
 * is the server's (stopped: it times out), then the new value. */
static void test_event_sends_read_to_server(void)
{
	_hv_cleanup_(hv_conn_closep) hv_conn *w = client(), *r = client();
	REQUIRE_EQ(conf_write_string(w, "Cache2", "G", "k", "old"), 0);
	REQUIRE_EQ(conf_write_string(w, "Cache2", "G", "other", "x"), 0);
	int rc;
	free(read_str(r, "Cache2", "G", "k", &rc));
	free(read_str(r, "Cache2", "G", "other", &rc));
	REQUIRE_EQ(conf_write_string(w, "Cache2", "G", "k", "new"), 0);
	wait_readable(r);
	REQUIRE_EQ(kill(fx.pid, SIGSTOP), 0);
	hv_conn_set_timeout(r, STOPPED_MS);
	char *v = read_str(r, "Cache2", "G", "other", &rc); /* untouched: still kept */
	CHECK_STR(v, "x");
	free(v);
	CHECK_EQ(conf_read_string(r, "Cache2", "G", "k", &v), -ETIMEDOUT);
	REQUIRE_EQ(kill(fx.pid, SIGCONT), 0);
	hv_conn_set_timeout(r, 10000);
	v = read_str(r, "Cache2", "G", "k", &rc);
	CHECK_STR(v, "new");
	free(v);

	/* A removed group: every key of it goes. */
	int events = 0;
	conf_watcher counter = {count_event, &events};
	REQUIRE_EQ(conf_monitor(r, "Cache2", &counter), 0);
	REQUIRE_EQ(conf_remove_group(w, "Cache2", "G"), 0);
	wait_events(r, &events, 1);
	CHECK_EQ(conf_read_string(r, "Cache2", "G", "other", &v), 0);
	CHECK_EQ(conf_read_string(r, "Cache2", "G", "k", &v), 0);
}

/* The connection's own writes are not announced to it. */
static void test_own_writes(void)
{
	_hv_cleanup_(hv_conn_closep) hv_conn *r = client();
	REQUIRE_EQ(conf_write_u32(r, "Cache3", "G", "u", 1), 0);
	uint32_t u = 0;
	CHECK_EQ(conf_read_u32(r, "Cache3", "G", "u", &u), 1);
	REQUIRE_EQ(conf_write_u32(r, "Cache3", "G", "u", 2), 0);
	CHECK_EQ(conf_read_u32(r, "Cache3", "G", "u", &u), 1);
	CHECK_EQ(u, 2);
	bool b = false;
	REQUIRE_EQ(conf_write_bool(r, "Cache3", "G", "b", true), 0);
	CHECK_EQ(conf_read_bool(r, "Cache3", "G", "b", &b), 1);
	CHECK(b);
	REQUIRE_EQ(conf_remove_key(r, "Cache3", "G", "b"), 0);
	CHECK_EQ(conf_read_bool(r, "Cache3", "G", "b", &b), 0);
	conf_op ops[] = {{CONF_OP_SET, "G", "u", "3"}, {CONF_OP_SET, "H", "s", "t"}};
	int rc;
	free(read_str(r, "Cache3", "H", "s", &rc));
	REQUIRE_EQ(conf_write_batch(r, "Cache3", ops, 2), 0);
	CHECK_EQ(conf_read_u32(r, "Cache3", "G", "u", &u), 1);
	CHECK_EQ(u, 3);
	char *v = read_str(r, "Cache3", "H", "s", &rc);
	CHECK_STR(v, "t");
	free(v);
	REQUIRE_EQ(conf_remove_group(r, "Cache3", "G"), 0);
	CHECK_EQ(conf_read_u32(r, "Cache3", "G", "u", &u), 0);
}

/* A watcher's callback reads the key its event names: the new value (the
 * cache let go of it before the callback ran). The watcher hears only the
 * domain it asked for, not those the cache monitors. */
struct seen {
	hv_conn *c;
	int events, other_domain;
	char *read_in_event;
};

static void on_event(const conf_event *e, void *ud)
{
	struct seen *s = ud;
	if (strcmp(e->domain, "Cache4")) {
		s->other_domain++;
		return;
	}
	s->events++;
	int rc;
	free(s->read_in_event);
	s->read_in_event = read_str(s->c, e->domain, e->group, e->key, &rc);
}

static void test_watcher(void)
{
	_hv_cleanup_(hv_conn_closep) hv_conn *w = client(), *r = client();
	struct seen s = {.c = r};
	conf_watcher watcher = {on_event, &s};
	REQUIRE_EQ(conf_write_string(w, "Cache4", "G", "k", "a"), 0);
	REQUIRE_EQ(conf_monitor(r, "Cache4", &watcher), 0);
	int rc;
	free(read_str(r, "Cache4", "G", "k", &rc));
	free(read_str(r, "Cache5", "G", "k", &rc)); /* the cache monitors Cache5 */
	REQUIRE_EQ(conf_write_string(w, "Cache5", "G", "k", "z"), 0);
	REQUIRE_EQ(conf_write_string(w, "Cache4", "G", "k", "b"), 0);
	while (s.events == 0)
		REQUIRE(hv_conn_dispatch(r, 10000) > 0);
	CHECK_STR(s.read_in_event, "b");
	CHECK_EQ(s.other_domain, 0);
	char *v = read_str(r, "Cache5", "G", "k", &rc); /* its event did reach the cache */
	CHECK_STR(v, "z");
	free(v);
	free(s.read_in_event);
}

/* Another process writes 1..N while this one reads in a loop: a read never
 * returns a value older than the last event processed (the watcher's,
 * including those the read itself processed), and never goes back. */
#define WRITES 100

static void writer(int k, int report_fd, void *ud)
{
	hv_conn *w = NULL;
	if (conf_connect(NULL, fx.sock, &w) < 0)
		_exit(1);
	for (int32_t i = 1; i <= WRITES; i++)
		if (conf_write_i32(w, "Race", "G", "n", i) < 0)
			_exit(1);
	hv_conn_close(w);
	_exit(0);
}

static void on_race_event(const conf_event *e, void *ud)
{
	int32_t *last = ud;
	if (e->kind == CONF_CHANGED && e->type == CONF_I32)
		*last = (int32_t)strtol(e->value, NULL, 10);
}

static void test_concurrent_writer(void)
{
	_hv_cleanup_(hv_conn_closep) hv_conn *w = client(), *r = client();
	REQUIRE_EQ(conf_write_i32(w, "Race", "G", "n", 0), 0);
	int32_t last_event = 0, prev = 0, v = -1;
	conf_watcher watcher = {on_race_event, &last_event};
	REQUIRE_EQ(conf_monitor(r, "Race", &watcher), 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0)
		writer(0, -1, NULL);
	long reads = 0, stale = 0, backwards = 0, after_writer = 0;
	int st;
	bool reaped = false;
	/* Until the last value is read, or a few reads after the writer is
	 * done (its events have all been sent by then: none lost). */
	while (v != WRITES && after_writer < 100) {
		REQUIRE_EQ(conf_read_i32(r, "Race", "G", "n", &v), 1);
		reads++;
		stale += v < last_event;
		backwards += v < prev;
		prev = v;
		if (reaped) {
			after_writer++;
			usleep(1000);
		} else if (reads % 1024 == 0) {
			reaped = waitpid(pid, &st, WNOHANG) == pid;
		}
	}
	if (!reaped)
		REQUIRE_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(v, WRITES);
	CHECK_MSG(stale == 0, "%ld of %ld reads older than the last event processed", stale, reads);
	CHECK_EQ(backwards, 0);
}

/* More keys than the cache keeps: the oldest went (asked again), the
 * newest are answered while the server is stopped. */
static void test_bound(void)
{
	enum { N = CONF_CACHE_MAX_ENTRIES + 16 };
	_hv_cleanup_(hv_conn_closep) hv_conn *w = client(), *r = client();
	static conf_op ops[N];
	static char names[N][16];
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "k%d", i);
		ops[i] = (conf_op){CONF_OP_SET, "G", names[i], names[i]};
	}
	REQUIRE_EQ(conf_write_batch(w, "Bound", ops, N), 0);
	int rc;
	for (int i = 0; i < N; i++)
		free(read_str(r, "Bound", "G", names[i], &rc));
	REQUIRE_EQ(kill(fx.pid, SIGSTOP), 0);
	hv_conn_set_timeout(r, STOPPED_MS);
	char *v = read_str(r, "Bound", "G", names[N - 1], &rc);
	CHECK_EQ(rc, 1);
	CHECK_STR(v, names[N - 1]);
	free(v);
	CHECK_EQ(conf_read_string(r, "Bound", "G", names[0], &v), -ETIMEDOUT);
	REQUIRE_EQ(kill(fx.pid, SIGCONT), 0);
}

/* ConfigServer killed and started again with the file changed meanwhile:
 * the old connection answers nothing from its cache, a new one reads the
 * file's value. */
static void test_respawn_drops_cache(void)
{
	_hv_cleanup_(hv_conn_closep) hv_conn *w = client();
	hv_conn *r = client();
	REQUIRE_EQ(conf_write_string(w, "Respawn", "G", "k", "before"), 0);
	int rc;
	free(read_str(r, "Respawn", "G", "k", &rc));
	svc_kill(&fx, SIGKILL);
	char path[256];
	snprintf(path, sizeof path, "%s/config/haven/Respawn.ini", fx.dir);
	svc_write_file(path, "[G]\nk = after\n");
	svc_respawn(&fx);
	char *v = NULL;
	rc = conf_read_string(r, "Respawn", "G", "k", &v);
	CHECK_MSG(rc < 0, "a read on a connection to a dead server returned %d (%s)", rc,
		  rc == 1 ? v : "");
	free(v);
	hv_conn_close(r);
	r = client();
	v = read_str(r, "Respawn", "G", "k", &rc);
	CHECK_STR(v, "after");
	free(v);
	hv_conn_close(r);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CONFIGSERVER\n", argv[0]);
		return 2;
	}
	hv_log_set_level(HV_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	if (!getenv("HAVEN_LOG"))
		setenv("HAVEN_LOG", "error", 1);
	static const char *const args[] = {"--defaults", "/nonexistent/haven-defaults", NULL};
	svc_start(&fx, argv[1], "config", args);

	test_repeated_read_stays_in_process();
	test_event_sends_read_to_server();
	test_own_writes();
	test_watcher();
	test_concurrent_writer();
	test_bound();
	test_respawn_drops_cache();

	svc_stop(&fx);
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}
