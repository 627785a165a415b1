/* haven/loop.h — the event loop every Haven process runs.
 *
 * One loop per thread, built on epoll. Sources are fd watches, monotonic
 * timers, signals (signalfd), child processes (pidfd), deferred calls and
 * posts from other threads (eventfd). Callbacks run on the loop's thread,
 * one at a time; a callback may add or remove any source, including its own.
 *
 * Every function that can fail returns a negative errno.
 * Handles returned through `out` pointers belong to the caller until it
 * calls the matching *_free(); freeing the loop frees every handle still
 * attached to it (so handles must not be used after hv_loop_free()).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <haven/util.h>

typedef struct hv_loop hv_loop;
typedef struct hv_watch hv_watch;
typedef struct hv_timer hv_timer;
typedef struct hv_signal hv_signal;
typedef struct hv_child hv_child;

enum {
	HV_IO_READ = 1u << 0,  /* readable (or peer hung up: read returns 0) */
	HV_IO_WRITE = 1u << 1, /* writable */
	HV_IO_ERROR = 1u << 2, /* reported only: EPOLLERR or EPOLLHUP */
	/* Edge-triggered (EPOLLET): reported once per new readiness, so the
	 * callback must consume until EAGAIN (or know it did); saves the
	 * kernel re-polling the fd on every wait after an event. */
	HV_IO_EDGE = 1u << 3,
};

/* Create a loop. Blocks nothing: signals are blocked only when a signal
 * source is added (see hv_loop_add_signal). */
int hv_loop_new(hv_loop **out);
void hv_loop_free(hv_loop *loop);
HV_DEFINE_CLEANUP(hv_loop *, hv_loop_free)

/* Run until hv_loop_quit(); returns the code passed to it. */
int hv_loop_run(hv_loop *loop);
/* Wait at most timeout_ms (-1: forever, 0: poll) and dispatch what is ready,
 * including expired timers and deferred calls. Returns the number of
 * callbacks run, or a negative errno. */
int hv_loop_run_once(hv_loop *loop, int timeout_ms);
void hv_loop_quit(hv_loop *loop, int code);
bool hv_loop_quitting(const hv_loop *loop);

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
uint64_t hv_now_ns(void);

/* --- fd watches (level-triggered unless HV_IO_EDGE) -------------------- */
typedef void (*hv_io_cb)(hv_loop *loop, int fd, uint32_t events, void *userdata);
/* Watch fd for `events` (HV_IO_READ | HV_IO_WRITE; 0 = paused). The loop does
 * not own fd and never closes it. -EEXIST if fd is already watched. */
int hv_loop_add_fd(hv_loop *loop, int fd, uint32_t events, hv_io_cb cb, void *userdata,
		   hv_watch **out);
int hv_watch_set_events(hv_watch *w, uint32_t events);
uint32_t hv_watch_events(const hv_watch *w);
void hv_watch_free(hv_watch *w); /* NULL-safe */

/* --- timers (CLOCK_MONOTONIC) ------------------------------------------ */
typedef void (*hv_timer_cb)(hv_loop *loop, hv_timer *t, void *userdata);
/* Fire first after `after_ns`, then every `interval_ns` (0 = one-shot; a
 * one-shot timer stays allocated, disarmed, until freed or re-armed). */
int hv_loop_add_timer(hv_loop *loop, uint64_t after_ns, uint64_t interval_ns, hv_timer_cb cb,
		      void *userdata, hv_timer **out);
int hv_timer_arm(hv_timer *t, uint64_t after_ns, uint64_t interval_ns);
void hv_timer_disarm(hv_timer *t);
bool hv_timer_armed(const hv_timer *t);
void hv_timer_free(hv_timer *t); /* NULL-safe */

/* --- signals (signalfd) ------------------------------------------------ */
typedef void (*hv_signal_cb)(hv_loop *loop, int signo, void *userdata);
/* Blocks signo for the calling thread and delivers it through the loop.
 * One source per signal number per loop (-EEXIST otherwise). */
int hv_loop_add_signal(hv_loop *loop, int signo, hv_signal_cb cb, void *userdata,
		       hv_signal **out);
void hv_signal_free(hv_signal *s); /* NULL-safe; unblocks the signal */
/* The usual service shutdown: SIGTERM and SIGINT make hv_loop_run() return
 * 0 — SIGINT unless the process started with it ignored (SIG_IGN is
 * inherited through exec: a background job, nohup, a private instance whose
 * client handles Ctrl-C). Logs and returns a negative errno on failure. */
int hv_loop_quit_on_signals(hv_loop *loop);

/* --- child processes (pidfd) ------------------------------------------- */
/* `status` is as from waitpid(): use WIFEXITED/WEXITSTATUS/WIFSIGNALED. The
 * child has been reaped when the callback runs (no zombies). */
typedef void (*hv_child_cb)(hv_loop *loop, pid_t pid, int status, void *userdata);
/* Watch a child of this process; it is reaped by the loop. */
int hv_loop_add_child(hv_loop *loop, pid_t pid, hv_child_cb cb, void *userdata, hv_child **out);
/* Same with a pidfd the caller already holds (e.g. from clone3 CLONE_PIDFD);
 * the loop takes ownership of pidfd. */
int hv_loop_add_child_pidfd(hv_loop *loop, pid_t pid, int pidfd, hv_child_cb cb, void *userdata,
			    hv_child **out);
int hv_child_pidfd(const hv_child *c);
/* Send a signal through the pidfd (safe against pid reuse). */
int hv_child_kill(hv_child *c, int signo);
/* Stop watching. The process is not killed; if it has not exited, it is
 * reaped later by nobody: kill it first or keep the handle. */
void hv_child_free(hv_child *c); /* NULL-safe */

/* --- deferred calls and cross-thread posts ----------------------------- */
typedef void (*hv_call_cb)(hv_loop *loop, void *userdata);
/* Run cb on the next iteration, after the current callback returns. Calls run
 * in the order they were deferred. Loop thread only. */
int hv_loop_defer(hv_loop *loop, hv_call_cb cb, void *userdata);
/* Thread-safe: queue cb to run on the loop's thread and wake the loop. */
int hv_loop_post(hv_loop *loop, hv_call_cb cb, void *userdata);
