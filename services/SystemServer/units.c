/* units.c — the manager object, units' birth and death, boot (sockets
 * first, then starts), reload (diff of definitions), and NOTIFY_SOCKET
 * (READY=1 / WATCHDOG=1 from services, READY=1 to our own parent).
 */
#include <errno.h>
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
#include <haven/sandbox.h>
#include <haven/util.h>

#include "internal.h"

/* --- NOTIFY_SOCKET --------------------------------------------------------- */

void ss_notify_parent(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof sa.sun_path)
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	_hv_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		hv_log_debug("cannot notify %s: %m", path);
}

static ss_instance *find_instance(ss_manager *m, pid_t pid)
{
	for (size_t i = 0; i < m->nunits; i++)
		for (ss_instance *in = m->units[i]->instances; in; in = in->next)
			if (in->pid == pid)
				return in;
	return NULL;
}

static void on_notify(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	ss_manager *m = userdata;
	for (int rounds = 0; rounds < 64; rounds++) {
		char buf[4097];
		union {
			char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {buf, sizeof buf - 1};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
		if (n < 0)
			return;
		struct ucred *cred = NULL;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
				cred = (struct ucred *)CMSG_DATA(c);
			else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				/* fd store is not supported: never leak what was sent */
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t j = 0; j < k; j++) {
					int x;
					memcpy(&x, CMSG_DATA(c) + j * sizeof(int), sizeof x);
					close(x);
				}
			}
		}
		if (!cred || (size_t)n >= sizeof buf)
			continue;
		buf[n] = '\0';
		/* The kernel vouches for the pid: only the service itself can
		 * speak for itself. */
		ss_instance *in = find_instance(m, cred->pid);
		if (!in) {
			hv_log_debug("notify from unknown pid %d ignored", (int)cred->pid);
			continue;
		}
		char *save = NULL;
		for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			if (strcmp(l, "READY=1") == 0 && !in->ready) {
				ss_instance_ready(in);
			} else if (strcmp(l, "WATCHDOG=1") == 0 && in->watchdog && !in->watchdog_fired) {
				hv_timer_arm(in->watchdog, in->unit->def->watchdog_usec * 1000, 0);
			}
		}
	}
}

static int open_notify(ss_manager *m)
{
	if (asprintf(&m->notify_path, "%s/notify", m->runtime_dir) < 0)
		return -ENOMEM;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(m->notify_path) >= sizeof sa.sun_path)
		return hv_log_errno(-ENAMETOOLONG, "Runtime dir too long for %s", m->notify_path);
	strcpy(sa.sun_path, m->notify_path);
	unlink(m->notify_path);
	m->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->notify_fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(m->notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
		return -errno;
	/* Any user may write (services run as many users); the sender is
	 * identified by the kernel, not by what it claims. */
	mode_t old = umask(m->user_mode ? 0077 : 0);
	int r = bind(m->notify_fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0)
		return hv_log_errno(-errno, "Failed to bind %s", m->notify_path);
	return hv_loop_add_fd(m->loop, m->notify_fd, HV_IO_READ, on_notify, m, &m->notify_watch);
}

/* --- units ------------------------------------------------------------------ */

bool ss_unit_in_mode(const ss_unit *u)
{
	const ss_svc_def *d = u->def;
	return !d->invalid && (d->modes.n == 0 || hv_strv_contains(&d->modes, u->m->mode));
}

static int unit_alloc_arrays(ss_unit *u)
{
	size_t n = u->def->sockets.n ? u->def->sockets.n : 1;
	free(u->listen_fds);
	free(u->listen_watches);
	free(u->fail_times);
	u->listen_fds = malloc(n * sizeof(int));
	u->listen_watches = calloc(n, sizeof(hv_watch *));
	u->fail_times = calloc(u->def->limit_burst, sizeof(uint64_t));
	if (!u->listen_fds || !u->listen_watches || !u->fail_times)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		u->listen_fds[i] = -1;
	u->fail_count = 0;
	return 0;
}

void ss_unit_replace_def(ss_unit *u, ss_svc_def *d)
{
	ss_svc_def_free(u->def);
	u->def = d;
	hv_strv_clear(&u->base_env);
	u->base_env_def = NULL;
	hv_sandbox_prepared_free(u->sandbox);
	u->sandbox = NULL;
	u->sandbox_def = NULL;
	if (unit_alloc_arrays(u) < 0)
		ss_unit_set_failed(u, "out of memory");
}

static void unit_free(ss_unit *u)
{
	if (!u)
		return;
	while (u->instances) {
		ss_instance *i = u->instances;
		u->instances = i->next;
		/* Only at exit after a failed shutdown: do not leave orphans. */
		hv_child_kill(i->child, SIGKILL);
		waitpid(i->pid, NULL, 0);
		ss_instance_free(i);
	}
	if (u->listen_fds)
		ss_unit_close_sockets(u);
	hv_timer_free(u->restart_timer);
	hv_timer_free(u->spare_timer);
	ss_unit_logs_close(u);
	free(u->listen_fds);
	free(u->listen_watches);
	free(u->fail_times);
	free(u->fail_reason);
	ss_svc_def_free(u->replacement);
	ss_svc_def_free(u->def);
	hv_strv_clear(&u->base_env);
	hv_sandbox_prepared_free(u->sandbox);
	free(u);
}

static ss_unit *unit_new(ss_manager *m, ss_svc_def *d)
{
	ss_unit *u = calloc(1, sizeof *u);
	if (!u)
		return NULL;
	u->m = m;
	u->def = d;
	u->log_rfd = u->log_wfd = u->log_file = -1;
	ss_unit **v = realloc(m->units, (m->nunits + 1) * sizeof *v);
	if (!v || unit_alloc_arrays(u) < 0) {
		if (v)
			m->units = v;
		u->def = NULL;
		unit_free(u);
		return NULL;
	}
	m->units = v;
	v[m->nunits++] = u;
	u->want_active = ss_unit_in_mode(u);
	return u;
}

/* Units dropped by a reload are freed once their last process is gone. */
static void reap_removed(ss_manager *m)
{
	size_t w = 0;
	for (size_t i = 0; i < m->nunits; i++) {
		ss_unit *u = m->units[i];
		if (u->removed && !u->instances)
			unit_free(u);
		else
			m->units[w++] = u;
	}
	m->nunits = w;
}

static ss_def_env def_env(const ss_manager *m)
{
	return (ss_def_env){
		.user_mode = m->user_mode,
		.root = m->root,
		.portal_dir = m->portal_dir,
		.runtime_dir = m->runtime_dir,
		.service_path = m->service_path,
	};
}

int ss_manager_boot(ss_manager *m)
{
	ss_def_env env = def_env(m);
	ss_def_set set;
	int r = ss_defs_load(m->config, &env, &set);
	if (r < 0)
		return r; /* the config path itself is unreadable: nothing to run */
	for (size_t i = 0; i < set.n; i++) {
		ss_unit *u = unit_new(m, set.defs[i]);
		if (!u) {
			for (size_t j = i; j < set.n; j++)
				ss_svc_def_free(set.defs[j]);
			free(set.defs);
			return -ENOMEM;
		}
	}
	free(set.defs);
	hv_log_info("%zu service(s) defined in %s, %u problem(s)", m->nunits, m->config, set.errors);
	/* Phase one: every socket exists before anything starts, so services
	 * may connect to each other in any order and simply wait. */
	for (size_t i = 0; i < m->nunits; i++)
		if (m->units[i]->want_active)
			ss_unit_open_sockets(m->units[i]);
	/* Phase two: the scheduler starts units as their dependencies allow. */
	ss_manager_schedule(m);
	return 0;
}

static bool same_def(const ss_svc_def *a, const ss_svc_def *b)
{
	return a->invalid == b->invalid && strcmp(a->fingerprint, b->fingerprint) == 0 &&
	       strcmp(a->executable, b->executable) == 0;
}

int ss_manager_reload(ss_manager *m)
{
	if (m->shutting_down)
		return -ECANCELED;
	ss_def_env env = def_env(m);
	ss_def_set set;
	int r = ss_defs_load(m->config, &env, &set);
	if (r < 0)
		return r; /* keep running what we have */
	unsigned added = 0, removed = 0, changed = 0;
	for (size_t i = 0; i < m->nunits; i++) {
		ss_unit *u = m->units[i];
		if (u->removed)
			continue;
		ss_svc_def *nd = ss_defs_find(&set, u->def->name);
		if (!nd) {
			removed++;
			u->removed = true;
			u->want_active = false;
			ss_unit_close_sockets(u);
			for (ss_instance *in = u->instances; in; in = in->next)
				ss_instance_stop(in, SIGTERM);
			continue;
		}
		/* take nd out of the set */
		for (size_t j = 0; j < set.n; j++)
			if (set.defs[j] == nd)
				set.defs[j] = NULL;
		if (same_def(u->def, nd)) {
			ss_svc_def_free(nd);
			continue;
		}
		changed++;
		hv_log_info("%s: definition changed, restarting", nd->name);
		ss_unit_reset_failures(u);
		if (u->instances) {
			ss_svc_def_free(u->replacement);
			u->replacement = nd;
			ss_unit_listen_pause(u);
			for (ss_instance *in = u->instances; in; in = in->next)
				ss_instance_stop(in, SIGTERM);
		} else {
			ss_unit_close_sockets(u);
			ss_unit_replace_def(u, nd);
			u->want_active = ss_unit_in_mode(u);
			if (u->want_active)
				ss_unit_open_sockets(u);
		}
	}
	for (size_t j = 0; j < set.n; j++) {
		if (!set.defs[j])
			continue;
		ss_unit *u = unit_new(m, set.defs[j]);
		if (!u) {
			ss_svc_def_free(set.defs[j]);
			continue;
		}
		added++;
		if (u->want_active)
			ss_unit_open_sockets(u);
	}
	free(set.defs);
	reap_removed(m);
	hv_log_info("reloaded %s: %u added, %u removed, %u changed, %u problem(s)", m->config, added, removed,
		    changed, set.errors);
	ss_manager_schedule(m);
	return 0;
}

/* --- the manager ------------------------------------------------------------------ */

static int mkdir_mode(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int ss_manager_new(hv_loop *loop, const ss_manager_opts *o, ss_manager **out)
{
	_hv_cleanup_(ss_manager_freep) ss_manager *m = calloc(1, sizeof *m);
	if (!m)
		return -ENOMEM;
	m->loop = loop;
	m->notify_fd = -1;
	m->null_fd = -1;
	m->user_mode = o->user_mode;
	m->root = geteuid() == 0;
	m->config = strdup(o->config);
	m->mode = strdup(o->mode ? o->mode : "default");
	m->runtime_dir = strdup(o->runtime_dir);
	m->service_path = strdup(o->service_path ? o->service_path : "");
	if (!m->config || !m->mode || !m->runtime_dir || !m->service_path)
		return -ENOMEM;
	/* asprintf leaves its pointer undefined when it fails. */
	if (asprintf(&m->portal_dir, "%s/portal", m->runtime_dir) < 0)
		return m->portal_dir = NULL, -ENOMEM;
	if (asprintf(&m->log_dir, "%s/log", m->runtime_dir) < 0)
		return m->log_dir = NULL, -ENOMEM;
	/* User mode: only the user; system mode: portals reachable by all,
	 * each socket guarded by its own mode. */
	mode_t dm = m->user_mode ? 0700 : 0755;
	int r;
	if ((r = mkdir_mode(m->runtime_dir, dm)) < 0 || (r = mkdir_mode(m->portal_dir, dm)) < 0 ||
	    (r = mkdir_mode(m->log_dir, 0750)) < 0)
		return hv_log_errno(r, "Failed to create runtime dirs under %s", m->runtime_dir);
	r = open_notify(m);
	if (r < 0)
		return r;
	*out = HV_TAKE_PTR(m);
	return 0;
}

void ss_manager_free(ss_manager *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nunits; i++)
		unit_free(m->units[i]);
	free(m->units);
	hv_watch_free(m->notify_watch);
	hv_close(&m->notify_fd);
	hv_close(&m->null_fd);
	hv_strv_clear(&m->base_env);
	if (m->notify_path)
		unlink(m->notify_path);
	free(m->notify_path);
	free(m->config);
	free(m->mode);
	free(m->runtime_dir);
	free(m->portal_dir);
	free(m->log_dir);
	free(m->service_path);
	free(m);
}

void ss_manager_reap(ss_manager *m) { reap_removed(m); }
