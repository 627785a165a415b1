/* tracer.h — the part of CrashDaemon that may ptrace. pledge() has no
 * promise for ptrace and Landlock forbids tracing a process outside the
 * tracer's domain, so the service (sandboxed, facing its clients) forks
 * this helper before it enters its sandbox (OpenBSD's privsep shape): it
 * reads only requests from its parent, attaches, unwinds, detaches, and
 * answers with the report. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "unwind.h"

struct tracer_req {
	int32_t pid, tid, signo, code;
	uint64_t address;
	uint32_t uid; /* the caller's: the process must be its */
	uint32_t nregs;
	uint64_t regs[CRASH_MAX_REGS];
};

struct tracer_rep {
	char *report, *signature, *exe;
	size_t report_len;
	int signo;
	int64_t time;
};
void tracer_rep_clear(struct tracer_rep *rep);

/* Fork the helper; *fd is the parent's end (stream, close-on-exec). */
int tracer_start(int *fd, pid_t *pid);
/* Ask it for the report of a crash, waiting at most timeout_ms. A negative
 * errno: -ESRCH (gone), -EPERM (not the caller's), -ETIMEDOUT, -EIO. */
int tracer_ask(int fd, const struct tracer_req *req, int timeout_ms, struct tracer_rep *rep);
/* Stop every thread of pid (PTRACE_SEIZE + PTRACE_INTERRUPT); tids gets
 * the stopped ones. Then tracer_release. */
int tracer_seize_all(pid_t pid, pid_t *tids, size_t max, size_t *n);
void tracer_release(const pid_t *tids, size_t n);
