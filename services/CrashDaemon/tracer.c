/* tracer.c — the ptrace helper (tracer.h). Its wire to the parent is
 * private: a request struct, and back [i32 status][u32 lengths x3][i32
 * signo][i64 time] then the signature, the executable and the report. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "tracer.h"

#define MAX_THREADS 4096

struct rep_hdr {
	int32_t status;
	uint32_t sig_len, exe_len, report_len;
	int32_t signo;
	int64_t time;
};

void tracer_rep_clear(struct tracer_rep *rep)
{
	free(rep->report);
	free(rep->signature);
	free(rep->exe);
	memset(rep, 0, sizeof(*rep));
}

void tracer_release(const pid_t *tids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ptrace(PTRACE_DETACH, tids[i], 0, 0);
}

static bool have_tid(const pid_t *tids, size_t n, pid_t t)
{
	for (size_t i = 0; i < n; i++)
		if (tids[i] == t)
			return true;
	return false;
}

int tracer_seize_all(pid_t pid, pid_t *tids, size_t max, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	*n = 0;
	/* Again until a pass finds no new thread: one may be starting. */
	for (int pass = 0; pass < 8; pass++) {
		DIR *d = opendir(path);
		if (!d) {
			tracer_release(tids, *n);
			return errno == ENOENT ? -ESRCH : -errno;
		}
		bool found = false;
		struct dirent *de;
		while ((de = readdir(d)) && *n < max) {
			pid_t t = (pid_t)atoi(de->d_name);
			if (t <= 0 || have_tid(tids, *n, t))
				continue;
			found = true;
			if (ptrace(PTRACE_SEIZE, t, 0, 0) < 0)
				continue; /* exited meanwhile */
			int st;
			if (ptrace(PTRACE_INTERRUPT, t, 0, 0) < 0 || waitpid(t, &st, __WALL) != t) {
				ptrace(PTRACE_DETACH, t, 0, 0);
				continue;
			}
			tids[(*n)++] = t;
		}
		closedir(d);
		if (!found)
			break;
	}
	if (!have_tid(tids, *n, pid)) {
		tracer_release(tids, *n);
		*n = 0;
		return -ESRCH;
	}
	return 0;
}

static int check_owner(const struct tracer_req *req, struct crash_info *ci)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)req->pid, (int)req->tid);
	if (access(path, F_OK) < 0)
		return -ESRCH;
	ci->uid = (uid_t)-1;
	crash_info_from_proc(ci);
	if (ci->uid == (uid_t)-1)
		return -ESRCH;
	return ci->uid == req->uid || req->uid == 0 ? 0 : -EPERM;
}

/* One request: the report, its signature and the executable. */
static int serve_one(const struct tracer_req *req, struct tracer_rep *rep)
{
	struct crash_info ci = {.pid = req->pid, .tid = req->tid, .signo = req->signo,
				.code = req->code, .address = req->address, .mode = "session",
				.time = (int64_t)time(NULL)};
	int r = check_owner(req, &ci);
	if (r < 0)
		return r;
	ci.nregs = HV_MIN(req->nregs, (uint32_t)CRASH_MAX_REGS);
	memcpy(ci.regs, req->regs, ci.nregs * 8);
	pid_t *tids = calloc(MAX_THREADS, sizeof(*tids));
	if (!tids)
		return -ENOMEM;
	size_t n;
	r = tracer_seize_all(req->pid, tids, MAX_THREADS, &n);
	if (r < 0) {
		free(tids);
		return r;
	}
	FILE *out = open_memstream(&rep->report, &rep->report_len);
	if (!out) {
		tracer_release(tids, n);
		free(tids);
		return -ENOMEM;
	}
	r = crash_unwind_pid(&ci, out, &rep->signature);
	tracer_release(tids, n);
	free(tids);
	fclose(out);
	if (r < 0)
		return r;
	rep->exe = strdup(ci.exe);
	rep->signo = ci.signo;
	rep->time = ci.time;
	return rep->exe ? 0 : -ENOMEM;
}

static void send_rep(int fd, int status, const struct tracer_rep *rep)
{
	struct rep_hdr h = {.status = status};
	if (status == 0) {
		h.sig_len = (uint32_t)strlen(rep->signature);
		h.exe_len = (uint32_t)strlen(rep->exe);
		h.report_len = (uint32_t)rep->report_len;
		h.signo = rep->signo;
		h.time = rep->time;
	}
	if (hv_write_full(fd, &h, sizeof(h)) < 0 || status < 0)
		return;
	hv_write_full(fd, rep->signature, h.sig_len);
	hv_write_full(fd, rep->exe, h.exe_len);
	hv_write_full(fd, rep->report, h.report_len);
}

static _Noreturn void tracer_main(int fd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "CrashDaemon-tr");
	for (;;) {
		struct tracer_req req;
		if (hv_read_full(fd, &req, sizeof(req)) < 0)
			_exit(0);
		struct tracer_rep rep = {0};
		int r = serve_one(&req, &rep);
		send_rep(fd, r, &rep);
		tracer_rep_clear(&rep);
	}
}

int tracer_start(int *fd, pid_t *pid)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t p = fork();
	if (p < 0) {
		int r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (p == 0) {
		close(sv[0]);
		tracer_main(sv[1]);
	}
	close(sv[1]);
	*fd = sv[0];
	*pid = p;
	return 0;
}

static int read_timed(int fd, void *buf, size_t len, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	return hv_read_full(fd, buf, len);
}

static int read_str(int fd, uint32_t len, char **out)
{
	char *s = malloc((size_t)len + 1);
	if (!s)
		return -ENOMEM;
	int r = hv_read_full(fd, s, len);
	if (r < 0) {
		free(s);
		return r;
	}
	s[len] = '\0';
	*out = s;
	return 0;
}

int tracer_ask(int fd, const struct tracer_req *req, int timeout_ms, struct tracer_rep *rep)
{
	/* send: a dead tracer is EPIPE, not SIGPIPE. */
	if (send(fd, req, sizeof(*req), MSG_NOSIGNAL) != (ssize_t)sizeof(*req))
		return -EIO;
	int r;
	struct rep_hdr h;
	r = read_timed(fd, &h, sizeof(h), timeout_ms);
	if (r < 0)
		return r == -ETIMEDOUT ? r : -EIO;
	if (h.status < 0)
		return h.status;
	if ((r = read_str(fd, h.sig_len, &rep->signature)) < 0 ||
	    (r = read_str(fd, h.exe_len, &rep->exe)) < 0 ||
	    (r = read_str(fd, h.report_len, &rep->report)) < 0) {
		tracer_rep_clear(rep);
		return -EIO;
	}
	rep->report_len = h.report_len;
	rep->signo = h.signo;
	rep->time = h.time;
	return 0;
}
