/* CrashDaemon.c — session mode: the `crashed` handler asks the tracer
 * (tracer.h) to unwind the stopped process and stores the report; setup
 * opens the store and forks the tracer before the sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include <haven/log.h>
#include <haven/util.h>

#include "CrashDaemon.h"
#include "store.h"
#include "tracer.h"

/* A big process's unwinding stays well under this; past it the tracer is
 * replaced and the crashing process released (it then dies unreported). */
#define TRACER_TIMEOUT_MS 20000

const char *crash_store_dir;
int64_t crash_max_reports = CRASH_DEFAULT_MAX_REPORTS;
int64_t crash_max_mb = CRASH_DEFAULT_MAX_BYTES >> 20;

static crash_store *store;
static int tracer_fd = -1;
static pid_t tracer_pid = -1;

static void tracer_stop(void)
{
	hv_close(&tracer_fd);
	if (tracer_pid > 0) {
		kill(tracer_pid, SIGKILL);
		waitpid(tracer_pid, NULL, 0);
		tracer_pid = -1;
	}
}

/* Confined from exec (a manager's Pledge=), the daemon cannot trace: the
 * report holds what the handler sent and what /proc says to anyone. */
static int untraced_report(const struct tracer_req *tr, struct tracer_rep *rep)
{
	struct crash_info ci = {.pid = tr->pid, .tid = tr->tid, .signo = tr->signo, .code = tr->code,
				.address = tr->address, .uid = tr->uid, .mode = "session",
				.time = (int64_t)time(NULL), .nregs = HV_MIN(tr->nregs, CRASH_MAX_REGS)};
	memcpy(ci.regs, tr->regs, ci.nregs * 8);
	crash_proc_read(tr->pid, "cmdline", ci.exe, sizeof(ci.exe)); /* argv[0] */
	FILE *out = open_memstream(&rep->report, &rep->report_len);
	if (!out)
		return -ENOMEM;
	crash_report_header(&ci, out);
	fputs("error: not traced: CrashDaemon runs confined by its manager (Pledge=), where ptrace is\n"
	      "not allowed; run it without Pledge= (it confines itself) for backtraces\n", out);
	fclose(out);
	const char *base = strrchr(ci.exe, '/');
	rep->exe = strdup(ci.exe[0] ? ci.exe : "?");
	rep->signo = ci.signo;
	rep->time = ci.time;
	if (asprintf(&rep->signature, "%s %s: untraced", base ? base + 1 : ci.exe,
		     crash_signal_name(ci.signo)) < 0)
		rep->signature = NULL;
	return rep->exe && rep->signature ? 0 : -ENOMEM;
}

static int on_crashed(hv_call *call, const crash_daemon_crashed_req *req,
		      crash_daemon_crashed_rep *rep)
{
	const struct ucred *peer = hv_call_peer(call);
	struct tracer_req tr = {.pid = req->pid, .tid = req->tid, .signo = req->signo,
				.code = req->code, .address = req->address, .uid = peer->uid};
	if (req->pid <= 0 || req->tid <= 0 || req->signo <= 0 || req->signo > 64)
		return hv_call_fail(call, -EINVAL, "bad pid, tid or signal");
	tr.nregs = (uint32_t)HV_MIN(req->registers.len / 8, (size_t)CRASH_MAX_REGS);
	memcpy(tr.regs, req->registers.data, tr.nregs * 8);
	_hv_cleanup_(tracer_rep_clear) struct tracer_rep tres = {0};
	int r = tracer_fd < 0 ? untraced_report(&tr, &tres) : tracer_ask(tracer_fd, &tr, TRACER_TIMEOUT_MS, &tres);
	if (r == -ETIMEDOUT || r == -EIO) {
		/* Its stream is out of step or it died: a fresh one. */
		hv_log_error("tracer %s, restarting it", r == -EIO ? "failed" : "timed out");
		tracer_stop();
		int s = tracer_start(&tracer_fd, &tracer_pid);
		if (s < 0)
			hv_log_error("cannot restart the tracer: %s", strerror(-s));
	}
	if (r == -ESRCH)
		return hv_call_fail(call, -ESRCH, "process %d exited before it could be attached",
				    req->pid);
	if (r == -EPERM)
		return hv_call_fail(call, -EPERM, "process %d is not uid %u's", req->pid,
				    (unsigned)peer->uid);
	if (r < 0)
		return hv_call_fail(call, r, "cannot unwind process %d: %s", req->pid, strerror(-r));
	char id[CRASH_ID_LEN + 1];
	r = crash_store_add(store, tres.signature, tres.report, tres.report_len, tres.signo,
			    tres.exe, tres.time, NULL, id);
	if (r < 0)
		return hv_call_fail(call, r, "cannot store the report: %s", strerror(-r));
	hv_log_info("%s (pid %d) crashed with %s: report %s", tres.exe, req->pid,
		    crash_signal_name(req->signo), id);
	rep->id = hv_call_printf(call, "%s", id);
	return rep->id ? 0 : -ENOMEM;
}

const crash_daemon_handlers crash_handlers = {
	.crashed = on_crashed,
};

int crash_setup(hv_server *srv)
{
	static char *path;
	if (!crash_store_dir) {
		int r = crash_store_default_path(&path);
		if (r < 0) {
			hv_log_error("no store directory: set XDG_STATE_HOME or HOME, or give --store");
			return r;
		}
		crash_store_dir = path;
	}
	int r = crash_store_open(crash_store_dir, &store);
	if (r < 0) {
		hv_log_error("cannot open the store %s: %s", crash_store_dir, strerror(-r));
		return r;
	}
	store->max_reports = (uint64_t)crash_max_reports;
	store->max_bytes = (uint64_t)crash_max_mb << 20;
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0) {
		hv_log_warn("confined since exec (the manager's Pledge=): no ptrace, reports "
			    "without backtraces (docs/crashdaemon.md)");
		return 0;
	}
	r = tracer_start(&tracer_fd, &tracer_pid);
	if (r < 0)
		hv_log_error("cannot start the tracer: %s", strerror(-r));
	return r;
}

void crash_teardown(int exit_code)
{
	tracer_stop();
	crash_store_close(store);
	store = NULL;
}
