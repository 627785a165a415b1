/* test-loop.c — the event loop with real fds, timers, signals, children
 * and threads. No timing assertions: only order and counts. */
#include <haven/log.h>
#include <haven/loop.h>
#include <haven/util.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int reads;
static void on_read(hv_loop *loop, int fd, uint32_t ev, void *ud)
{
	char buf[16];
	REQUIRE(ev & HV_IO_READ);
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n == 0) {
		hv_watch_free(*(hv_watch **)ud);
		hv_loop_quit(loop, 7);
		return;
	}
	reads++;
}

static void test_fd_watch(void)
{
	hv_loop *loop;
	hv_watch *w;
	int p[2];

	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(pipe(p), 0);
	REQUIRE_EQ(hv_loop_add_fd(loop, p[0], HV_IO_READ, on_read, &w, &w), 0);
	REQUIRE_EQ(hv_loop_add_fd(loop, p[0], HV_IO_READ, on_read, &w, NULL), -EEXIST);
	REQUIRE_EQ(write(p[1], "a", 1), 1);
	REQUIRE_EQ(hv_loop_run_once(loop, 1000), 1);
	REQUIRE_EQ(reads, 1);
	/* paused: nothing dispatched even though data waits */
	REQUIRE_EQ(hv_watch_set_events(w, 0), 0);
	REQUIRE_EQ(write(p[1], "b", 1), 1);
	REQUIRE_EQ(hv_loop_run_once(loop, 0), 0);
	REQUIRE_EQ(hv_watch_set_events(w, HV_IO_READ), 0);
	close(p[1]);
	REQUIRE_EQ(hv_loop_run(loop), 7); /* reads "b", then EOF frees the watch in its callback */
	REQUIRE_EQ(reads, 2);
	close(p[0]);
	hv_loop_free(loop);
}

/* HV_IO_EDGE: reported once per new readiness, however much is left. */
static int edges;
static void on_edge(hv_loop *loop, int fd, uint32_t ev, void *ud)
{
	REQUIRE(ev & HV_IO_READ);
	edges++; /* reads nothing on purpose */
}

static void test_edge_watch(void)
{
	hv_loop *loop;
	hv_watch *w;
	int p[2];

	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(pipe(p), 0);
	REQUIRE_EQ(hv_loop_add_fd(loop, p[0], HV_IO_READ | HV_IO_EDGE, on_edge, NULL, &w), 0);
	REQUIRE_EQ(write(p[1], "a", 1), 1);
	REQUIRE_EQ(hv_loop_run_once(loop, 1000), 1);
	REQUIRE_EQ(edges, 1);
	/* Data still waits, but no new edge: nothing (level-triggered would spin). */
	REQUIRE_EQ(hv_loop_run_once(loop, 0), 0);
	REQUIRE_EQ(edges, 1);
	REQUIRE_EQ(write(p[1], "b", 1), 1);
	REQUIRE_EQ(hv_loop_run_once(loop, 1000), 1);
	REQUIRE_EQ(edges, 2);
	/* Re-arming (as a paused-then-resumed watch does) reports what is there. */
	REQUIRE_EQ(hv_watch_set_events(w, HV_IO_READ | HV_IO_EDGE), 0);
	REQUIRE_EQ(hv_loop_run_once(loop, 0), 0); /* same events: no epoll_ctl, no edge */
	REQUIRE_EQ(hv_watch_set_events(w, 0), 0);
	REQUIRE_EQ(hv_watch_set_events(w, HV_IO_READ | HV_IO_EDGE), 0);
	REQUIRE_EQ(hv_loop_run_once(loop, 1000), 1);
	REQUIRE_EQ(edges, 3);
	hv_watch_free(w);
	close(p[0]);
	close(p[1]);
	hv_loop_free(loop);
}

static int ticks, oneshots;
static hv_timer *victim;
static void on_tick(hv_loop *loop, hv_timer *t, void *ud)
{
	if (++ticks == 3) {
		hv_timer_free(t);
		hv_loop_quit(loop, 0);
	}
}
static void on_oneshot(hv_loop *loop, hv_timer *t, void *ud)
{
	oneshots++;
	REQUIRE(!hv_timer_armed(t));
	/* Freeing another source from a callback must be safe even if its event
	 * is in the same batch. */
	hv_timer_free(victim);
	victim = NULL;
}
static void on_never(hv_loop *loop, hv_timer *t, void *ud) { REQUIRE(!"disarmed timer fired"); }

static void test_timers(void)
{
	hv_loop *loop;
	hv_timer *once, *never;

	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_loop_add_timer(loop, 1000000, 0, on_oneshot, NULL, &once), 0);
	REQUIRE_EQ(hv_loop_add_timer(loop, 1000000, 0, on_never, NULL, &victim), 0);
	REQUIRE_EQ(hv_loop_add_timer(loop, 2000000, 2000000, on_tick, NULL, NULL), 0);
	REQUIRE_EQ(hv_loop_add_timer(loop, 1000000, 0, on_never, NULL, &never), 0);
	hv_timer_disarm(never);
	REQUIRE(!hv_timer_armed(never));
	/* the victim may fire before the one-shot frees it; make it harmless */
	hv_timer_free(victim);
	REQUIRE_EQ(hv_loop_add_timer(loop, 50000000, 0, on_never, NULL, &victim), 0);
	REQUIRE_EQ(hv_loop_run(loop), 0);
	REQUIRE_EQ(ticks, 3);
	REQUIRE_EQ(oneshots, 1);
	REQUIRE(victim == NULL);
	/* re-arm a one-shot */
	REQUIRE_EQ(hv_timer_arm(once, 1000, 0), 0);
	while (oneshots < 2)
		REQUIRE(hv_loop_run_once(loop, 1000) >= 0);
	hv_timer_free(once);
	hv_loop_free(loop); /* frees `never` too (leak-checked under ASan) */
}

static int got_signal;
static void on_signal(hv_loop *loop, int signo, void *ud)
{
	got_signal = signo;
	hv_loop_quit(loop, 0);
}

static void test_signal(void)
{
	hv_loop *loop;
	hv_signal *s;

	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_loop_add_signal(loop, SIGUSR1, on_signal, NULL, &s), 0);
	REQUIRE_EQ(hv_loop_add_signal(loop, SIGUSR1, on_signal, NULL, NULL), -EEXIST);
	REQUIRE_EQ(kill(getpid(), SIGUSR1), 0);
	REQUIRE_EQ(hv_loop_run(loop), 0);
	REQUIRE_EQ(got_signal, SIGUSR1);
	hv_signal_free(s);
	/* the service shutdown helper: SIGTERM makes run() return 0 */
	REQUIRE_EQ(hv_loop_quit_on_signals(loop), 0);
	REQUIRE_EQ(kill(getpid(), SIGTERM), 0);
	REQUIRE_EQ(hv_loop_run(loop), 0);
	hv_loop_free(loop);
	/* the loop is gone: restore default dispositions for what follows */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
}

struct child_result {
	pid_t pid;
	int status;
	int count;
};
static void on_child(hv_loop *loop, pid_t pid, int status, void *ud)
{
	struct child_result *r = ud;
	r->pid = pid;
	r->status = status;
	if (++r->count == 1)
		hv_loop_quit(loop, 0);
}

static void test_children(void)
{
	hv_loop *loop;
	hv_child *c1, *c2;
	struct child_result r1 = {0}, r2 = {0};
	pid_t p1, p2;

	REQUIRE_EQ(hv_loop_new(&loop), 0);
	p1 = fork();
	if (p1 == 0)
		_exit(42);
	p2 = fork();
	if (p2 == 0) {
		pause();
		_exit(0);
	}
	int r = hv_loop_add_child(loop, p1, on_child, &r1, &c1);
	if (r == -ENOSYS) {
		/* valgrind 3.19 does not know pidfd_open; the kernel here does. */
		printf("test-loop: children skipped: pidfd_open unavailable\n");
		kill(p2, SIGKILL);
		waitpid(p1, NULL, 0);
		waitpid(p2, NULL, 0);
		hv_loop_free(loop);
		return;
	}
	REQUIRE_EQ(r, 0);
	REQUIRE_EQ(hv_loop_add_child(loop, p2, on_child, &r2, &c2), 0);
	REQUIRE_EQ(hv_loop_run(loop), 0);
	REQUIRE_EQ(r1.pid, p1);
	REQUIRE(WIFEXITED(r1.status));
	REQUIRE_EQ(WEXITSTATUS(r1.status), 42);
	REQUIRE_EQ(hv_child_kill(c2, SIGKILL), 0);
	REQUIRE_EQ(hv_loop_run(loop), 0);
	REQUIRE_EQ(r2.pid, p2);
	REQUIRE(WIFSIGNALED(r2.status));
	REQUIRE_EQ(WTERMSIG(r2.status), SIGKILL);
	REQUIRE_EQ(hv_child_kill(c2, SIGKILL), -ESRCH);
	/* reaped by the loop: no zombie left */
	REQUIRE_EQ(waitpid(-1, NULL, WNOHANG), -1);
	REQUIRE_EQ(errno, ECHILD);
	hv_child_free(c1);
	hv_child_free(c2);
	hv_loop_free(loop);
}

static int order[8], norder;
static void deferred_b(hv_loop *loop, void *ud) { order[norder++] = 2; hv_loop_quit(loop, 0); }
static void deferred_a(hv_loop *loop, void *ud)
{
	order[norder++] = 1;
	REQUIRE_EQ(hv_loop_defer(loop, deferred_b, NULL), 0);
}

static int counted;
static void deferred_count(hv_loop *loop, void *ud) { counted++; }

static void test_defer(void)
{
	hv_loop *loop;

	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_loop_defer(loop, deferred_a, NULL), 0);
	REQUIRE_EQ(hv_loop_run(loop), 0);
	REQUIRE_EQ(norder, 2);
	REQUIRE_EQ(order[0], 1);
	REQUIRE_EQ(order[1], 2);
	/* run_once returns at once after running deferred work, even with a
	 * long timeout (the test would hang otherwise) */
	REQUIRE_EQ(hv_loop_defer(loop, deferred_count, NULL), 0);
	REQUIRE(hv_loop_run_once(loop, -1) >= 1);
	REQUIRE_EQ(counted, 1);
	/* calls still deferred run when the loop is freed */
	REQUIRE_EQ(hv_loop_defer(loop, deferred_count, NULL), 0);
	hv_loop_free(loop);
	REQUIRE_EQ(counted, 2);
}

#define POSTERS 4
#define POSTS 1000
static int posted;
static pthread_t loop_thread;
static void on_post(hv_loop *loop, void *ud)
{
	REQUIRE(pthread_equal(pthread_self(), loop_thread));
	if (++posted == POSTERS * POSTS)
		hv_loop_quit(loop, 0);
}
static void *poster(void *ud)
{
	for (int i = 0; i < POSTS; i++)
		REQUIRE_EQ(hv_loop_post(ud, on_post, NULL), 0);
	return NULL;
}

static void test_post(void)
{
	hv_loop *loop;
	pthread_t t[POSTERS];

	loop_thread = pthread_self();
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	for (int i = 0; i < POSTERS; i++)
		REQUIRE_EQ(pthread_create(&t[i], NULL, poster, loop), 0);
	REQUIRE_EQ(hv_loop_run(loop), 0);
	for (int i = 0; i < POSTERS; i++)
		pthread_join(t[i], NULL);
	REQUIRE_EQ(posted, POSTERS * POSTS);
	hv_loop_free(loop);
}

int main(void)
{
	test_edge_watch();
	test_fd_watch();
	test_timers();
	test_signal();
	test_children();
	test_defer();
	test_post();
	printf("test-loop: ok\n");
	return 0;
}
