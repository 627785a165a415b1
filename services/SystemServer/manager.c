/* manager.c — the supervisor: sockets, activation, the scheduler that
 * starts units in dependency order, exits and respawn throttling,
 * readiness/watchdog over NOTIFY_SOCKET, reload and ordered shutdown.
 *
 * How a unit moves: it wants to be active (boot mode, svc start, or a
 * Requires of another) → waits until what it Requires/After is ready →
 * listens (Lazy) or is spawned → is ready (exec, socket or READY=1). On an
 * unrequested exit it is respawned after a back-off delay, unless it failed
 * StartLimitBurst times within StartLimitIntervalSec: then it is `failed`
 * and stays so until `svc start`. Spawning itself lives in spawn.c, log
 * capture in logs.c.
 */
#include "manager.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "internal.h"
#include "netsock.h"

/* --- helpers ---------------------------------------------------------- */

const char *ss_manager_portal_dir(const ss_manager *m) { return m->portal_dir; }
const char *ss_manager_runtime_dir(const ss_manager *m) { return m->runtime_dir; }
hv_loop *ss_manager_loop(const ss_manager *m) { return m->loop; }
bool ss_manager_user_mode(const ss_manager *m) { return m->user_mode; }
size_t ss_manager_unit_count(const ss_manager *m) { return m->nunits; }
ss_unit *ss_manager_unit_at(const ss_manager *m, size_t i) { return i < m->nunits ? m->units[i] : NULL; }

void ss_manager_on_log_line(ss_manager *m, ss_log_line_cb cb, void *userdata)
{
	m->log_cb = cb;
	m->log_ud = userdata;
}

ss_unit *ss_manager_find(const ss_manager *m, const char *name)
{
	for (size_t i = 0; i < m->nunits; i++)
		if (strcmp(m->units[i]->def->name, name) == 0 && !m->units[i]->removed)
			return m->units[i];
	return NULL;
}

const char *ss_unit_state(const ss_unit *u)
{
	if (u->failed)
		return "failed";
	if (u->instances && u->ninstances > u->nspares) { /* spares alone serve nobody */
		if (u->def->multi)
			return "running";
		return u->instances->ready ? "running" : "starting";
	}
	if (!u->want_active)
		return "stopped";
	if (u->def->lazy && ss_unit_listening(u))
		return "listening";
	return "starting";
}

pid_t ss_unit_main_pid(const ss_unit *u) { return u->instances ? u->instances->pid : 0; }

bool ss_unit_listening(const ss_unit *u)
{
	for (size_t i = 0; i < u->def->sockets.n; i++)
		if (u->listen_watches[i] && hv_watch_events(u->listen_watches[i]))
			return true;
	return false;
}

static bool unit_ready(const ss_unit *u)
{
	if (u->failed || !u->want_active)
		return false;
	if (u->def->lazy)
		return u->listen_fds[0] >= 0; /* the socket accepts: clients queue */
	return u->instances && u->instances->ready;
}

void ss_unit_set_failed(ss_unit *u, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *why = NULL;
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	hv_log_error("%s: failed: %s", u->def->name, why ? why : "?");
	free(u->fail_reason);
	u->fail_reason = why;
	u->failed = true;
	/* Clients of a failed service get ECONNREFUSED rather than wait in a
	 * backlog nobody will ever accept; svc start creates the sockets again. */
	ss_unit_close_sockets(u);
	ss_manager_schedule(u->m);
}

/* --- sockets ------------------------------------------------------------ */

static int make_socket(const char *path, mode_t mode, const ss_svc_def *d, bool root)
{
	if (ss_netsock_is(path))
		return ss_netsock_open(path, d->backlog, d->reuse_port);
	_hv_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	struct stat dst;
	if (slash && slash != dir) {
		*slash = '\0';
		/* Usually the portal dir, which exists: one stat, not a mkdir per level. */
		int r = stat(dir, &dst) == 0 && S_ISDIR(dst.st_mode) ? 0 : hv_mkdir_p(dir, 0755);
		if (r < 0)
			return r;
	}
	/* The mode and owner are right before anyone can connect, and the
	 * file appears only once it listens (no ECONNREFUSED for a client
	 * that waited for it). */
	bool owned = root && (d->has_user || d->has_group);
	return hv_unix_listen(path, mode, owned && d->has_user ? d->uid : (uid_t)-1,
			      owned ? d->gid : (gid_t)-1, 0);
}

static void on_listen_ready(hv_loop *loop, int fd, uint32_t events, void *userdata);

int ss_unit_open_sockets(ss_unit *u)
{
	for (size_t i = 0; i < u->def->sockets.n; i++) {
		if (u->listen_fds[i] >= 0)
			continue;
		int fd = make_socket(u->def->sockets.v[i], u->def->socket_modes[i], u->def, u->m->root);
		if (fd < 0) {
			ss_unit_set_failed(u, "cannot create socket %s: %s", u->def->sockets.v[i],
					   strerror(-fd));
			return fd;
		}
		if (u->def->accept || u->def->per_user)
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); /* only we accept */
		u->listen_fds[i] = fd;
		int r = hv_loop_add_fd(u->m->loop, fd, 0, on_listen_ready, u, &u->listen_watches[i]);
		if (r < 0)
			return hv_log_errno(r, "Failed to watch socket %s", u->def->sockets.v[i]);
	}
	return 0;
}

void ss_unit_close_sockets(ss_unit *u)
{
	for (size_t i = 0; i < u->def->sockets.n; i++) {
		hv_watch_free(u->listen_watches[i]);
		u->listen_watches[i] = NULL;
		if (u->listen_fds[i] >= 0) {
			hv_close(&u->listen_fds[i]);
			if (!ss_netsock_is(u->def->sockets.v[i]))
				unlink(u->def->sockets.v[i]);
		}
	}
}

void ss_unit_listen_pause(ss_unit *u)
{
	for (size_t i = 0; i < u->def->sockets.n; i++)
		if (u->listen_watches[i])
			hv_watch_set_events(u->listen_watches[i], 0);
}

static void listen_resume(ss_unit *u)
{
	for (size_t i = 0; i < u->def->sockets.n; i++)
		if (u->listen_watches[i])
			hv_watch_set_events(u->listen_watches[i], HV_IO_READ);
}

/* MemoryBudget=: each instance is charged its LimitAS, what the kernel
 * lets it map. That is known before the instance exists and cannot be
 * outgrown; a measured RSS would be neither (a burst of fresh instances
 * is small until each decodes its image). */
static bool budget_admits(const ss_unit *u)
{
	const ss_svc_def *d = u->def;
	if (!d->memory_budget)
		return true;
	return (uint64_t)(u->ninstances + 1) * d->limits[SS_LIMIT_AS].soft <= d->memory_budget;
}

/* Whether one more per-connection instance may start now: within the
 * instance cap and MemoryBudget=. */
static bool unit_admits(const ss_unit *u)
{
	return u->ninstances < SS_UNIT_MAX_INSTANCES && budget_admits(u);
}

/* When unit_admits says no, a client waits in the listen backlog,
 * unaccepted, until an instance exits (ss_instance_exited resumes): it is
 * never refused. */
static void admit_wait(ss_unit *u)
{
	const ss_svc_def *d = u->def;
	ss_unit_listen_pause(u);
	u->admit_wait = true;
	if (u->ninstances >= SS_UNIT_MAX_INSTANCES)
		hv_log_info("%s: %u instances, the most at once: connections wait", d->name,
			    u->ninstances);
	else
		hv_log_info("%s: memory budget full (%u instances of LimitAS %llu within %llu "
			    "bytes): connections wait",
			    d->name, u->ninstances, (unsigned long long)d->limits[SS_LIMIT_AS].soft,
			    (unsigned long long)d->memory_budget);
}

/* --- warm spares (SpareInstances=) ------------------------------------------ */

/* A spare was started without knowing its client: it runs as the
 * definition's account. Where a cold instance would run as the peer (a
 * root manager, no User=), only a root peer may have it. */
static bool spare_fits(const ss_unit *u, uid_t peer)
{
	return u->def->has_user || !u->m->root || peer == 0;
}

static void top_up_cb(hv_loop *loop, hv_timer *t, void *userdata)
{
	ss_unit *u = userdata;
	while (u->nspares < u->def->spares && u->want_active && !u->failed && !u->spares_off &&
	       u->listen_fds[0] >= 0 && unit_admits(u))
		if (ss_spawn_spare(u) < 0)
			break;
}

/* Start the missing spares after the loop's current work (a client that
 * just took one is served first). */
void ss_unit_top_up_spares(ss_unit *u)
{
	if (!u->def->spares)
		return;
	if (u->spare_timer) {
		if (!hv_timer_armed(u->spare_timer))
			hv_timer_arm(u->spare_timer, 1, 0);
	} else if (hv_loop_add_timer(u->m->loop, 1, 0, top_up_cb, u, &u->spare_timer) < 0) {
		top_up_cb(u->m->loop, NULL, u);
	}
}

/* Hand connection c to a waiting spare: 0, or -ENOENT (none fits). The
 * spare's hand-off socket is closed once its one connection is sent, so
 * it can never be given a second client. */
static int give_to_spare(ss_unit *u, int c, uid_t peer)
{
	if (!spare_fits(u, peer))
		return -ENOENT;
	for (ss_instance *i = u->instances; i; i = i->next) {
		if (!i->spare || i->stopping || i->handoff_fd < 0)
			continue;
		int r = ss_handoff_send(i->handoff_fd, c);
		hv_close(&i->handoff_fd);
		i->spare = false;
		u->nspares--;
		if (r < 0) { /* gone meanwhile: its exit is reaped as usual */
			hv_log_warn("%s[%d]: spare did not take its connection: %s", u->def->name, (int)i->pid,
				    strerror(-r));
			continue;
		}
		i->uid = peer;
		hv_log_debug("%s[%d]: a spare took the connection", u->def->name, (int)i->pid);
		ss_unit_top_up_spares(u);
		return 0;
	}
	return -ENOENT;
}

static void on_listen_ready(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	ss_unit *u = userdata;
	if (u->def->accept || u->def->per_user) {
		struct ucred cred;
		socklen_t len = sizeof cred;
		if (u->def->accept && !unit_admits(u)) {
			admit_wait(u);
			return;
		}
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				hv_log_warn("%s: accept failed: %m", u->def->name);
			return;
		}
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(c);
			return;
		}
		if (u->ninstances >= SS_UNIT_MAX_INSTANCES) {
			/* PerUser: a flood of connections must not become a fork
			 * bomb (its uid is only known once accepted). */
			hv_log_warn("%s: %u instances running, refusing a connection from uid %u", u->def->name,
				    u->ninstances, (unsigned)cred.uid);
			close(c);
			return;
		}
		if (u->def->per_user) {
			for (ss_instance *i = u->instances; i; i = i->next) {
				if (i->uid != cred.uid || i->stopping)
					continue;
				int r = ss_handoff_send(i->handoff_fd, c);
				close(c);
				if (r < 0)
					hv_log_warn("%s: could not pass connection to uid %u's instance: %s",
						    u->def->name, (unsigned)cred.uid, strerror(-r));
				return;
			}
		}
		if (u->def->accept && give_to_spare(u, c, cred.uid) == 0) {
			close(c);
			return;
		}
		ss_spawn_instance(u, c, cred.uid);
		close(c);
		ss_unit_top_up_spares(u);
		return;
	}
	/* Lazy single instance: the first connection starts it; it takes the
	 * socket and accepts this connection itself. */
	ss_unit_listen_pause(u);
	if (!u->instances)
		ss_spawn_instance(u, -1, (uid_t)-1);
}

/* --- scheduling ------------------------------------------------------------ */

static void activate(ss_unit *u)
{
	if (ss_unit_open_sockets(u) < 0)
		return;
	u->spares_off = false;
	ss_unit_top_up_spares(u);
	if (u->def->lazy)
		listen_resume(u);
	else if (!u->instances)
		ss_spawn_instance(u, -1, (uid_t)-1);
}

/* A unit waits for what it Requires (pulling it in) and for what it comes
 * After if that is active too. */
static bool deps_satisfied(ss_unit *u)
{
	ss_manager *m = u->m;
	for (size_t k = 0; k < u->def->requires.n; k++) {
		ss_unit *d = ss_manager_find(m, u->def->requires.v[k]);
		if (!d || d->def->invalid) {
			ss_unit_set_failed(u, "required service %s is not available", u->def->requires.v[k]);
			return false;
		}
		if (d->failed) {
			ss_unit_set_failed(u, "required service %s failed", d->def->name);
			return false;
		}
		if (!d->want_active) {
			d->want_active = true; /* pulled in */
			ss_manager_schedule(m);
		}
		if (!unit_ready(d))
			return false;
	}
	for (size_t k = 0; k < u->def->after.n; k++) {
		ss_unit *d = ss_manager_find(m, u->def->after.v[k]);
		if (d && d->want_active && !d->failed && !unit_ready(d))
			return false;
	}
	return true;
}

static void run_schedule(hv_loop *loop, void *userdata)
{
	ss_manager *m = userdata;
	m->schedule_queued = false;
	ss_manager_reap(m);
	if (m->shutting_down) {
		ss_shutdown_step(m);
		return;
	}
	for (size_t i = 0; i < m->nunits; i++) {
		ss_unit *u = m->units[i];
		if (!u->want_active || u->failed || u->removed || u->def->invalid)
			continue;
		if (u->instances || ss_unit_listening(u) || (u->restart_timer && hv_timer_armed(u->restart_timer)) ||
		    u->restart_pending)
			continue;
		if (deps_satisfied(u))
			activate(u);
	}
	/* Boot is over when nothing is waiting any more: tell whoever started
	 * us (systemd's protocol; the benchmark and tests use it). */
	if (!m->boot_reported) {
		for (size_t i = 0; i < m->nunits; i++) {
			ss_unit *u = m->units[i];
			if (u->want_active && !u->failed && !unit_ready(u))
				return;
		}
		m->boot_reported = true;
		ss_notify_parent("READY=1");
		hv_log_info("all services started (%zu defined)", m->nunits);
	}
}

void ss_manager_schedule(ss_manager *m)
{
	if (m->schedule_queued)
		return;
	if (hv_loop_defer(m->loop, run_schedule, m) == 0)
		m->schedule_queued = true;
}

/* --- exits, respawn and throttling --------------------------------------- */

static void restart_timer_cb(hv_loop *loop, hv_timer *t, void *userdata)
{
	ss_unit *u = userdata;
	ss_manager_schedule(u->m);
}

/* Records a failure; true when the start limit is hit. */
static bool note_failure(ss_unit *u, uint64_t now)
{
	const ss_svc_def *d = u->def;
	u->fail_times[u->fail_count % d->limit_burst] = now;
	u->fail_count++;
	if (u->fail_count < d->limit_burst)
		return false;
	/* the oldest of the last `burst` failures */
	uint64_t oldest = u->fail_times[u->fail_count % d->limit_burst];
	return now - oldest <= d->limit_interval_ns;
}

/* The respawn delay of a failure at `now`, logged with why: RestartSec for
 * the first failure since an instance was ready or since StartLimitIntervalSec
 * of calm, doubled for each further one inside that window (capped by
 * RestartMaxDelaySec). The log line is the record the kill-storm test
 * checks the schedule against. */
static uint64_t restart_delay(ss_unit *u, uint64_t now)
{
	const ss_svc_def *d = u->def;
	uint64_t since = now - u->last_failure_ns;
	if (u->consecutive && since > d->limit_interval_ns)
		u->consecutive = 0; /* the last failure is outside the window */
	uint64_t cap = HV_MAX(d->restart_max_ns, d->restart_ns), delay = d->restart_ns;
	for (unsigned k = 0; k < u->consecutive && delay < cap; k++)
		delay *= 2;
	delay = HV_MIN(delay, cap);
	if (u->consecutive)
		hv_log_info(
			"%s: respawning in %.3f s (back-off step %u: previous failure %.3f s ago, "
			"within %.3f s, not ready since)",
			d->name, (double)delay / 1e9, u->consecutive, (double)since / 1e9,
			(double)d->limit_interval_ns / 1e9);
	else
		hv_log_info("%s: respawning in %.3f s (back-off step 0)", d->name,
			    (double)delay / 1e9);
	u->consecutive++;
	u->last_failure_ns = now;
	return delay;
}

void ss_instance_ready(ss_instance *inst)
{
	ss_unit *u = inst->unit;
	inst->ready = true;
	if (!u->boot_ready_ns)
		u->boot_ready_ns = hv_now_ns();
	u->consecutive = 0;
	hv_log_debug("%s[%d]: ready", u->def->name, (int)inst->pid);
	ss_manager_schedule(u->m);
}

void ss_unit_reset_failures(ss_unit *u)
{
	u->failed = false;
	free(u->fail_reason);
	u->fail_reason = NULL;
	u->fail_count = 0;
	u->consecutive = 0;
}

static void describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(buf, size, "killed by SIGSYS: sandbox violation (a syscall outside its Pledge)");
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "ended (status 0x%x)", status);
}

void ss_instance_free(ss_instance *i)
{
	hv_child_free(i->child);
	hv_timer_free(i->watchdog);
	hv_timer_free(i->start_timer);
	hv_timer_free(i->kill_timer);
	hv_close(&i->handoff_fd);
	hv_watch_free(i->listener_watch);
	hv_close(&i->listener);
	hv_timer_free(i->probe_timer);
	hv_close(&i->probe_fd);
	free(i->violation);
	free(i);
}

static void unlink_instance(ss_unit *u, ss_instance *inst)
{
	for (ss_instance **p = &u->instances; *p; p = &(*p)->next) {
		if (*p == inst) {
			*p = inst->next;
			u->ninstances--;
			u->nspares -= inst->spare;
			break;
		}
	}
}

void ss_instance_exited(ss_instance *inst, int status)
{
	ss_unit *u = inst->unit;
	ss_manager *m = u->m;
	const ss_svc_def *d = u->def;
	char what[512];
	describe_status(status, what, sizeof what);
	if (inst->violation && WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(what, sizeof what, "killed by SIGSYS (sandbox violation): %s", inst->violation);
	if (inst->start_timed_out)
		snprintf(what, sizeof what, "did not %s within %.1f s",
			 d->readiness == SS_READY_SOCKET ? "accept a connection on its socket" : "report READY=1",
			 (double)d->start_timeout_ns / 1e9);
	bool clean = !inst->start_timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	bool requested = inst->stopping;
	bool watchdog = inst->watchdog_fired;
	bool spare = inst->spare;
	uint64_t lived_ns = hv_now_ns() - inst->started_ns;
	pid_t pid = inst->pid;
	unlink_instance(u, inst);
	ss_instance_free(inst);
	u->last_exit_status = status;
	u->last_exit_status_valid = 1;

	if (requested || m->shutting_down) {
		hv_log_info("%s[%d]: stopped (%s)", d->name, (int)pid, what);
	}
	if (m->shutting_down) {
		ss_manager_schedule(m);
		return;
	}
	if (requested) {
		if (!u->instances)
			ss_unit_after_stop(u);
		ss_manager_schedule(m);
		return;
	}
	if (d->accept || d->per_user || (d->multi && u->instances)) {
		/* Per-connection / per-user instances end with their client; one
		 * of several MultiInstance processes ending changes nothing. */
		if (!clean)
			hv_log_warn("%s: instance %s", d->name, what);
		if (spare && lived_ns < SS_SPARE_MIN_LIFE_NS) {
			/* Dying before any client came: replacing it would loop. */
			hv_log_warn("%s: a spare exited after %.0f ms (%s): no spares until the service starts again",
				    d->name, (double)lived_ns / 1e6, what);
			u->spares_off = true;
		}
		ss_unit_top_up_spares(u);
		if (u->admit_wait && unit_admits(u) && u->want_active && !u->failed) {
			u->admit_wait = false;
			listen_resume(u);
		}
		return;
	}
	hv_log_info("%s: %s", d->name, what);
	if (!clean) {
		char line[600];
		snprintf(line, sizeof line, "SystemServer: process %d %s", (int)pid, what);
		ss_unit_log_add(u, line);
	}
	bool respawn = watchdog || d->lazy || d->keepalive == SS_KEEPALIVE_ALWAYS ||
		       (d->keepalive == SS_KEEPALIVE_ON_FAILURE && !clean);
	if (!respawn || !u->want_active) {
		if (!clean)
			ss_unit_set_failed(u, "%s", what);
		else
			u->want_active = false;
		ss_manager_schedule(m);
		return;
	}
	/* A lazy service that exits cleanly just goes back to listening. */
	if (d->lazy && clean && !watchdog) {
		ss_manager_schedule(m);
		return;
	}
	if (note_failure(u, hv_now_ns())) {
		ss_unit_set_failed(u, "start limit hit: %u failures within %.1f s (last: %s)", d->limit_burst,
				   (double)d->limit_interval_ns / 1e9, what);
		return;
	}
	uint64_t delay = restart_delay(u, hv_now_ns());
	u->restarts++;
	if (!u->restart_timer) {
		if (hv_loop_add_timer(m->loop, delay ? delay : 1, 0, restart_timer_cb, u, &u->restart_timer) < 0)
			hv_log_error("%s: cannot arm respawn timer", d->name);
	} else {
		hv_timer_arm(u->restart_timer, delay ? delay : 1, 0);
	}
}

/* --- stopping ---------------------------------------------------------------- */

static void kill_timer_cb(hv_loop *loop, hv_timer *t, void *userdata)
{
	ss_instance *i = userdata;
	hv_log_warn("%s[%d]: did not stop in time, sending SIGKILL", i->unit->def->name, (int)i->pid);
	hv_child_kill(i->child, SIGKILL);
}

void ss_instance_stop(ss_instance *i, int signo)
{
	if (i->stopping && signo == SIGTERM)
		return;
	i->stopping = true;
	hv_child_kill(i->child, signo);
	uint64_t t = i->unit->def->stop_timeout_ns;
	if (!i->kill_timer)
		hv_loop_add_timer(i->unit->m->loop, t ? t : 1, 0, kill_timer_cb, i, &i->kill_timer);
	else if (!hv_timer_armed(i->kill_timer))
		hv_timer_arm(i->kill_timer, t ? t : 1, 0);
}

static void unit_stop_processes(ss_unit *u)
{
	if (u->restart_timer)
		hv_timer_disarm(u->restart_timer);
	for (ss_instance *i = u->instances; i; i = i->next)
		ss_instance_stop(i, SIGTERM);
}

/* Once a stopped unit has no process left: restart it, swap in its new
 * definition (reload), or forget it. */
void ss_unit_after_stop(ss_unit *u)
{
	ss_manager *m = u->m;
	if (u->replacement) {
		ss_unit_close_sockets(u);
		ss_unit_replace_def(u, u->replacement);
		u->replacement = NULL;
		u->want_active = ss_unit_in_mode(u);
	}
	if (u->removed) {
		ss_unit_close_sockets(u);
		ss_manager_schedule(m); /* whose first step frees it */
		return;
	}
	if (u->restart_pending) {
		u->restart_pending = false;
		u->want_active = true;
	}
	ss_manager_schedule(m);
}

int ss_manager_stop(ss_manager *m, const char *name)
{
	ss_unit *u = ss_manager_find(m, name);
	if (!u)
		return -ENOENT;
	u->want_active = false;
	u->restart_pending = false;
	ss_unit_close_sockets(u); /* connecting clients get ECONNREFUSED, never hang */
	unit_stop_processes(u);
	ss_manager_schedule(m);
	return 0;
}

/* What start and restart act on, its failures forgotten: -ENOENT if there
 * is no such unit, -ENOEXEC if its definition is invalid. */
static int unit_to_start(ss_manager *m, const char *name, ss_unit **out)
{
	ss_unit *u = ss_manager_find(m, name);
	if (!u)
		return -ENOENT;
	if (u->def->invalid)
		return -ENOEXEC;
	ss_unit_reset_failures(u);
	*out = u;
	return 0;
}

int ss_manager_start(ss_manager *m, const char *name)
{
	ss_unit *u;
	int r = unit_to_start(m, name, &u);
	if (r < 0)
		return r;
	if (u->instances && u->def->multi && !u->def->accept && !u->def->per_user && u->want_active) {
		ss_spawn_instance(u, -1, (uid_t)-1); /* MultiInstance: one more */
		return 0;
	}
	u->want_active = true;
	ss_manager_schedule(m);
	return 0;
}

int ss_manager_restart(ss_manager *m, const char *name)
{
	ss_unit *u;
	int r = unit_to_start(m, name, &u);
	if (r < 0)
		return r;
	if (!u->instances) {
		u->want_active = true;
		ss_manager_schedule(m);
		return 0;
	}
	u->restart_pending = true;
	ss_unit_listen_pause(u);
	unit_stop_processes(u);
	return 0;
}

/* --- shutdown -------------------------------------------------------------- */

/* Does any unit with processes depend on u (Requires or After)? */
static bool has_running_dependents(ss_manager *m, ss_unit *u)
{
	for (size_t i = 0; i < m->nunits; i++) {
		ss_unit *o = m->units[i];
		if (o == u || !o->instances)
			continue;
		if (hv_strv_contains(&o->def->requires, u->def->name) ||
		    hv_strv_contains(&o->def->after, u->def->name))
			return true;
	}
	return false;
}

void ss_shutdown_step(ss_manager *m)
{
	bool any = false;
	for (size_t i = 0; i < m->nunits; i++) {
		ss_unit *u = m->units[i];
		if (!u->instances)
			continue;
		any = true;
		if (u->stop_signalled || has_running_dependents(m, u))
			continue;
		u->stop_signalled = true;
		hv_log_info("%s: stopping", u->def->name);
		unit_stop_processes(u);
	}
	if (any)
		return;
	for (size_t i = 0; i < m->nunits; i++)
		ss_unit_close_sockets(m->units[i]);
	hv_log_info("shutdown complete");
	hv_loop_quit(m->loop, 0);
}

void ss_manager_shutdown(ss_manager *m)
{
	if (m->shutting_down)
		return;
	hv_log_info("shutting down");
	m->shutting_down = true;
	for (size_t i = 0; i < m->nunits; i++) {
		ss_unit *u = m->units[i];
		ss_unit_listen_pause(u);
		if (u->restart_timer)
			hv_timer_disarm(u->restart_timer);
	}
	ss_manager_schedule(m);
}
