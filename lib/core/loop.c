/* loop.c — the epoll event loop (see haven/loop.h).
 *
 * Every source is a struct hv_source registered in epoll with data.ptr
 * pointing at it. A source freed while a batch of epoll events is being
 * dispatched may still be named by a later event of the same batch, so
 * freeing only marks it dead and moves it to the loop's graveyard, which
 * is emptied once the batch is done.
 *
 * Timers are timerfds, children pidfds, signals share one signalfd, and
 * cross-thread posts wake the loop through an eventfd.
 */
#include <haven/loop.h>
#include <haven/log.h>
#include <haven/util.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum source_type { SRC_FD, SRC_TIMER, SRC_SIGNALFD, SRC_CHILD, SRC_WAKE };

struct hv_source {
	enum source_type type;
	bool dead;
	hv_loop *loop;
	struct hv_source *prev, *next; /* live sources, freed with the loop */
	struct hv_source *next_dead;
};

struct hv_watch {
	struct hv_source src;
	int fd;
	uint32_t events;
	hv_io_cb cb;
	void *userdata;
};

struct hv_timer {
	struct hv_source src;
	int tfd;
	bool armed;
	uint64_t interval_ns;
	hv_timer_cb cb;
	void *userdata;
};

struct hv_signal {
	int signo;
	hv_signal_cb cb;
	void *userdata;
	hv_loop *loop;
};

struct hv_child {
	struct hv_source src;
	pid_t pid;
	int pidfd;
	bool exited;
	hv_child_cb cb;
	void *userdata;
};

struct deferred {
	hv_call_cb cb;
	void *userdata;
};

struct post {
	struct post *next;
	hv_call_cb cb;
	void *userdata;
};

struct hv_loop {
	int epfd;
	bool quit;
	int exit_code;

	struct hv_source *live;
	struct hv_source *graveyard;

	struct deferred *deferred;
	size_t n_deferred, cap_deferred;

	/* Signals: one signalfd for all; handlers indexed by number. */
	struct hv_source sigsrc;
	int sigfd;
	sigset_t sigmask;
	hv_signal *signals[_NSIG];

	/* Cross-thread posts. */
	struct hv_source wakesrc;
	int wakefd;
	pthread_mutex_t post_lock;
	struct post *posts, **posts_tail;
};

static int run_deferred(hv_loop *loop);

uint64_t hv_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t to_epoll(uint32_t events)
{
	uint32_t e = 0;
	if (events & HV_IO_READ)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & HV_IO_WRITE)
		e |= EPOLLOUT;
	if (events & HV_IO_EDGE)
		e |= EPOLLET;
	return e;
}

static uint32_t from_epoll(uint32_t e)
{
	uint32_t events = 0;
	/* A hang-up or error is also "readable": read() then reports it. */
	if (e & (EPOLLIN | EPOLLRDHUP | EPOLLPRI | EPOLLHUP | EPOLLERR))
		events |= HV_IO_READ;
	if (e & EPOLLOUT)
		events |= HV_IO_WRITE;
	if (e & (EPOLLERR | EPOLLHUP))
		events |= HV_IO_ERROR;
	return events;
}

static int ep_add(hv_loop *loop, int fd, uint32_t events, struct hv_source *src)
{
	struct epoll_event ev = {.events = events, .data.ptr = src};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

/* Track a handle source so hv_loop_free() can release it. */
static void link_live(hv_loop *loop, struct hv_source *src)
{
	src->prev = NULL;
	src->next = loop->live;
	if (loop->live)
		loop->live->prev = src;
	loop->live = src;
}

static void bury(hv_loop *loop, struct hv_source *src)
{
	if (src->prev)
		src->prev->next = src->next;
	else
		loop->live = src->next;
	if (src->next)
		src->next->prev = src->prev;
	src->dead = true;
	src->next_dead = loop->graveyard;
	loop->graveyard = src;
}

static void empty_graveyard(hv_loop *loop)
{
	while (loop->graveyard) {
		struct hv_source *s = loop->graveyard;
		loop->graveyard = s->next_dead;
		free(s);
	}
}

int hv_loop_new(hv_loop **out)
{
	/* Freed by hv_loop_free() if a step fails: it copes with a loop made
	 * only in part. */
	_hv_cleanup_(hv_loop_freep) hv_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return -ENOMEM;
	loop->sigfd = -1;
	loop->wakefd = -1;
	loop->posts_tail = &loop->posts;
	sigemptyset(&loop->sigmask);
	pthread_mutex_init(&loop->post_lock, NULL);

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->wakefd < 0)
		return -errno;
	loop->wakesrc.type = SRC_WAKE;
	loop->wakesrc.loop = loop;
	int r = ep_add(loop, loop->wakefd, EPOLLIN, &loop->wakesrc);
	if (r < 0)
		return r;
	*out = HV_TAKE_PTR(loop);
	return 0;
}

void hv_loop_free(hv_loop *loop)
{
	if (!loop)
		return;
	/* Deferred calls may release what they hold (a connection's pending
	 * flush keeps it alive): run them, as hv_loop_run() does on quit. */
	while (loop->n_deferred > 0)
		run_deferred(loop);
	while (loop->live) {
		struct hv_source *s = loop->live;
		switch (s->type) {
		case SRC_FD:
			hv_watch_free((hv_watch *)s);
			break;
		case SRC_TIMER:
			hv_timer_free((hv_timer *)s);
			break;
		case SRC_CHILD:
			hv_child_free((hv_child *)s);
			break;
		default:
			bury(loop, s);
			break;
		}
	}
	empty_graveyard(loop);
	for (int i = 0; i < _NSIG; i++) {
		if (loop->signals[i]) {
			sigset_t one;
			sigemptyset(&one);
			sigaddset(&one, i);
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
			free(loop->signals[i]);
		}
	}
	hv_close(&loop->sigfd);
	hv_close(&loop->wakefd);
	hv_close(&loop->epfd);
	while (loop->posts) {
		struct post *p = loop->posts;
		loop->posts = p->next;
		free(p);
	}
	pthread_mutex_destroy(&loop->post_lock);
	free(loop->deferred);
	free(loop);
}

void hv_loop_quit(hv_loop *loop, int code)
{
	loop->quit = true;
	loop->exit_code = code;
}

bool hv_loop_quitting(const hv_loop *loop) { return loop->quit; }

/* --- deferred ----------------------------------------------------------- */
int hv_loop_defer(hv_loop *loop, hv_call_cb cb, void *userdata)
{
	if (loop->n_deferred == loop->cap_deferred) {
		size_t cap = loop->cap_deferred ? loop->cap_deferred * 2 : 16;
		struct deferred *d = reallocarray(loop->deferred, cap, sizeof(*d));
		if (!d)
			return -ENOMEM;
		loop->deferred = d;
		loop->cap_deferred = cap;
	}
	loop->deferred[loop->n_deferred++] = (struct deferred){cb, userdata};
	return 0;
}

/* Run the calls deferred before this point; those they defer run on the
 * next pass (so a callback that re-defers itself cannot starve the loop). */
static int run_deferred(hv_loop *loop)
{
	size_t n = loop->n_deferred;
	int ran = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct deferred d = loop->deferred[i];
		d.cb(loop, d.userdata);
		ran++;
	}
	memmove(loop->deferred, loop->deferred + n, (loop->n_deferred - n) * sizeof(*loop->deferred));
	loop->n_deferred -= n;
	return ran;
}

int hv_loop_post(hv_loop *loop, hv_call_cb cb, void *userdata)
{
	struct post *p = malloc(sizeof(*p));
	uint64_t one = 1;

	if (!p)
		return -ENOMEM;
	*p = (struct post){NULL, cb, userdata};
	pthread_mutex_lock(&loop->post_lock);
	*loop->posts_tail = p;
	loop->posts_tail = &p->next;
	pthread_mutex_unlock(&loop->post_lock);
	/* EAGAIN only when the counter is saturated: already awake. */
	if (write(loop->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static int run_posts(hv_loop *loop)
{
	uint64_t v;
	struct post *list;
	int ran = 0;

	while (read(loop->wakefd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&loop->post_lock);
	list = loop->posts;
	loop->posts = NULL;
	loop->posts_tail = &loop->posts;
	pthread_mutex_unlock(&loop->post_lock);
	while (list) {
		struct post *p = list;
		list = p->next;
		p->cb(loop, p->userdata);
		free(p);
		ran++;
	}
	return ran;
}

/* --- fd watches --------------------------------------------------------- */
int hv_loop_add_fd(hv_loop *loop, int fd, uint32_t events, hv_io_cb cb, void *userdata,
		   hv_watch **out)
{
	hv_watch *w;
	int r;

	if (fd < 0 || !cb)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (hv_watch){.src = {.type = SRC_FD, .loop = loop},
			.fd = fd,
			.events = events,
			.cb = cb,
			.userdata = userdata};
	r = ep_add(loop, fd, to_epoll(events), &w->src);
	if (r < 0) {
		free(w);
		return r;
	}
	link_live(loop, &w->src);
	if (out)
		*out = w;
	return 0;
}

int hv_watch_set_events(hv_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = &w->src};

	if (w->events == events)
		return 0;
	if (epoll_ctl(w->src.loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -errno;
	w->events = events;
	return 0;
}

uint32_t hv_watch_events(const hv_watch *w) { return w->events; }

void hv_watch_free(hv_watch *w)
{
	if (!w)
		return;
	/* The fd may already be closed by its owner: ignore EBADF/ENOENT. */
	epoll_ctl(w->src.loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	bury(w->src.loop, &w->src);
}

/* --- timers ------------------------------------------------------------- */
static struct timespec ns_to_ts(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000ull),
				 .tv_nsec = (long)(ns % 1000000000ull)};
}

int hv_timer_arm(hv_timer *t, uint64_t after_ns, uint64_t interval_ns)
{
	struct itimerspec its = {.it_value = ns_to_ts(after_ns ? after_ns : 1),
				 .it_interval = ns_to_ts(interval_ns)};

	if (timerfd_settime(t->tfd, 0, &its, NULL) < 0)
		return -errno;
	t->armed = true;
	t->interval_ns = interval_ns;
	return 0;
}

void hv_timer_disarm(hv_timer *t)
{
	struct itimerspec its = {0};
	uint64_t v;

	timerfd_settime(t->tfd, 0, &its, NULL);
	/* Drop an expiry that is already pending so it does not fire. */
	while (read(t->tfd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	t->armed = false;
}

bool hv_timer_armed(const hv_timer *t) { return t->armed; }

int hv_loop_add_timer(hv_loop *loop, uint64_t after_ns, uint64_t interval_ns, hv_timer_cb cb,
		      void *userdata, hv_timer **out)
{
	hv_timer *t;
	int r;

	if (!cb)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = (hv_timer){.src = {.type = SRC_TIMER, .loop = loop}, .cb = cb, .userdata = userdata};
	t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->tfd < 0) {
		r = -errno;
		free(t);
		return r;
	}
	r = ep_add(loop, t->tfd, EPOLLIN, &t->src);
	if (r == 0)
		r = hv_timer_arm(t, after_ns, interval_ns);
	if (r < 0) {
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, t->tfd, NULL);
		close(t->tfd);
		free(t);
		return r;
	}
	link_live(loop, &t->src);
	if (out)
		*out = t;
	return 0;
}

void hv_timer_free(hv_timer *t)
{
	if (!t)
		return;
	epoll_ctl(t->src.loop->epfd, EPOLL_CTL_DEL, t->tfd, NULL);
	hv_close(&t->tfd);
	bury(t->src.loop, &t->src);
}

static void dispatch_timer(hv_timer *t)
{
	uint64_t expirations;

	if (read(t->tfd, &expirations, sizeof(expirations)) < 0)
		return; /* EAGAIN: disarmed or re-armed meanwhile */
	if (t->interval_ns == 0)
		t->armed = false;
	t->cb(t->src.loop, t, t->userdata);
}

/* --- signals ------------------------------------------------------------ */
static int update_sigfd(hv_loop *loop)
{
	int fd = signalfd(loop->sigfd, &loop->sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
	int r;

	if (fd < 0)
		return -errno;
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		loop->sigsrc.type = SRC_SIGNALFD;
		loop->sigsrc.loop = loop;
		r = ep_add(loop, fd, EPOLLIN, &loop->sigsrc);
		if (r < 0) {
			hv_close(&loop->sigfd);
			return r;
		}
	}
	return 0;
}

int hv_loop_add_signal(hv_loop *loop, int signo, hv_signal_cb cb, void *userdata,
		       hv_signal **out)
{
	sigset_t one;
	hv_signal *s;
	int r;

	if (signo <= 0 || signo >= _NSIG || !cb)
		return -EINVAL;
	if (loop->signals[signo])
		return -EEXIST;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (hv_signal){signo, cb, userdata, loop};
	sigemptyset(&one);
	sigaddset(&one, signo);
	r = -pthread_sigmask(SIG_BLOCK, &one, NULL);
	if (r < 0) {
		free(s);
		return r;
	}
	sigaddset(&loop->sigmask, signo);
	r = update_sigfd(loop);
	if (r < 0) {
		sigdelset(&loop->sigmask, signo);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		free(s);
		return r;
	}
	loop->signals[signo] = s;
	if (out)
		*out = s;
	return 0;
}

void hv_signal_free(hv_signal *s)
{
	sigset_t one;
	hv_loop *loop;

	if (!s)
		return;
	loop = s->loop;
	loop->signals[s->signo] = NULL;
	sigdelset(&loop->sigmask, s->signo);
	update_sigfd(loop);
	sigemptyset(&one);
	sigaddset(&one, s->signo);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	free(s); /* never referenced by epoll data: safe to free now */
}

static void quit_on_signal(hv_loop *loop, int signo, void *userdata) { hv_loop_quit(loop, 0); }

int hv_loop_quit_on_signals(hv_loop *loop)
{
	int r;

	if ((r = hv_loop_add_signal(loop, SIGTERM, quit_on_signal, NULL, NULL)) < 0)
		return hv_log_errno(r, "Failed to watch SIGTERM");
	/* A SIGINT its parent set to be ignored stays ignored, as the shell's
	 * background jobs and nohup expect: e.g. a private instance whose
	 * client handles Ctrl-C for the terminal's whole process group (the
	 * client cancels; the service must not quit under it). */
	struct sigaction old;
	if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
		return 0;
	if ((r = hv_loop_add_signal(loop, SIGINT, quit_on_signal, NULL, NULL)) < 0)
		return hv_log_errno(r, "Failed to watch SIGINT");
	return 0;
}

static int dispatch_signals(hv_loop *loop)
{
	struct signalfd_siginfo si;
	int ran = 0;

	while (read(loop->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		hv_signal *s = si.ssi_signo < _NSIG ? loop->signals[si.ssi_signo] : NULL;
		if (s) {
			s->cb(loop, (int)si.ssi_signo, s->userdata);
			ran++;
		}
	}
	return ran;
}

/* --- children ----------------------------------------------------------- */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int hv_loop_add_child_pidfd(hv_loop *loop, pid_t pid, int pidfd, hv_child_cb cb, void *userdata,
			    hv_child **out)
{
	hv_child *c;
	int r;

	if (pidfd < 0 || !cb)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(pidfd);
		return -ENOMEM;
	}
	*c = (hv_child){.src = {.type = SRC_CHILD, .loop = loop},
			.pid = pid,
			.pidfd = pidfd,
			.cb = cb,
			.userdata = userdata};
	r = ep_add(loop, pidfd, EPOLLIN, &c->src);
	if (r < 0) {
		close(pidfd);
		free(c);
		return r;
	}
	link_live(loop, &c->src);
	if (out)
		*out = c;
	return 0;
}

int hv_loop_add_child(hv_loop *loop, pid_t pid, hv_child_cb cb, void *userdata, hv_child **out)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0)
		return -errno;
	if (fcntl(pidfd, F_SETFD, FD_CLOEXEC) < 0) { /* pidfds are CLOEXEC already; belt */
		int r = -errno;
		close(pidfd);
		return r;
	}
	return hv_loop_add_child_pidfd(loop, pid, pidfd, cb, userdata, out);
}

int hv_child_pidfd(const hv_child *c) { return c->pidfd; }

int hv_child_kill(hv_child *c, int signo)
{
	if (c->exited)
		return -ESRCH;
	if (syscall(SYS_pidfd_send_signal, c->pidfd, signo, NULL, 0) < 0)
		return -errno;
	return 0;
}

void hv_child_free(hv_child *c)
{
	if (!c)
		return;
	if (!c->exited)
		epoll_ctl(c->src.loop->epfd, EPOLL_CTL_DEL, c->pidfd, NULL);
	hv_close(&c->pidfd);
	bury(c->src.loop, &c->src);
}

static void dispatch_child(hv_child *c)
{
	siginfo_t si = {0};
	int status;

	if (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG) < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		/* ECHILD: reaped by someone else; report what we can. */
		hv_log_warn("child %d: cannot reap: %m", (int)c->pid);
		status = 0xff << 8;
	} else if (si.si_pid == 0) {
		return; /* spurious: not exited yet */
	} else if (si.si_code == CLD_EXITED) {
		status = (si.si_status & 0xff) << 8;
	} else {
		status = si.si_status & 0x7f;
		if (si.si_code == CLD_DUMPED)
			status |= 0x80;
	}
	c->exited = true;
	epoll_ctl(c->src.loop->epfd, EPOLL_CTL_DEL, c->pidfd, NULL);
	c->cb(c->src.loop, c->pid, status, c->userdata);
}

/* --- running ------------------------------------------------------------ */
int hv_loop_run_once(hv_loop *loop, int timeout_ms)
{
	struct epoll_event evs[64];
	int n, ran;

	ran = run_deferred(loop);
	/* Work was done or is waiting: only poll, so the caller sees it. */
	if (ran > 0 || loop->n_deferred > 0 || loop->quit)
		timeout_ms = 0;
	n = epoll_wait(loop->epfd, evs, (int)HV_ARRAY_SIZE(evs), timeout_ms);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		struct hv_source *src = evs[i].data.ptr;

		if (src->dead)
			continue;
		switch (src->type) {
		case SRC_FD: {
			hv_watch *w = (hv_watch *)src;
			uint32_t e = from_epoll(evs[i].events);
			/* Report only what was asked for, plus errors. */
			e &= w->events | HV_IO_ERROR;
			if (e) {
				w->cb(loop, w->fd, e, w->userdata);
				ran++;
			}
			break;
		}
		case SRC_TIMER:
			dispatch_timer((hv_timer *)src);
			ran++;
			break;
		case SRC_SIGNALFD:
			ran += dispatch_signals(loop);
			break;
		case SRC_CHILD:
			dispatch_child((hv_child *)src);
			ran++;
			break;
		case SRC_WAKE:
			ran += run_posts(loop);
			break;
		}
	}
	ran += run_deferred(loop);
	empty_graveyard(loop);
	return ran;
}

int hv_loop_run(hv_loop *loop)
{
	while (!loop->quit) {
		int r = hv_loop_run_once(loop, -1);
		if (r < 0)
			return hv_log_errno(r, "event loop failed");
	}
	/* Calls deferred by the last callbacks (e.g. flushes) still run. */
	while (loop->n_deferred > 0)
		run_deferred(loop);
	empty_graveyard(loop);
	loop->quit = false; /* the loop may be run again */
	return loop->exit_code;
}
