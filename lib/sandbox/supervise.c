/* lib/sandbox/supervise.c — the supervisor's side of a sandboxed child:
 * receive its seccomp listener, and turn each forbidden call into a log line
 * naming the call, then SIGSYS (or EPERM in debug mode). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "haven/log.h"
#include "haven/sandbox.h"
#include "haven/util.h"
#include "internal.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD 0x80 /* O_EXCL: pidfd for one thread (Linux 6.9) */
#endif

int hv_sandbox_recv_listener(int sock)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (n == 0 || !c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -ENODATA;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* A notification and its response, as libseccomp allocates them. */
struct notif {
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
};

static void notif_release(struct notif *n)
{
	if (n->req || n->resp)
		seccomp_notify_free(n->req, n->resp);
}

int hv_sandbox_notify_handle(int listener, const char *ident, const char *promises, bool debug)
{
	_hv_cleanup_(notif_release) struct notif n = {0};
	_hv_close_ int pidfd = -1;
	int r;

	if ((r = seccomp_notify_alloc(&n.req, &n.resp)) < 0)
		return hv_log_errno(r, "sandbox: failed to allocate a notification");
	struct seccomp_notif *req = n.req;
	struct seccomp_notif_resp *resp = n.resp;
	if ((r = seccomp_notify_receive(listener, req)) < 0)
		return r; /* -ENOENT: the caller went away before we looked */

	hv_syscall_names_init();
	const char *name = hv_syscall_name(req->data.nr);
	hv_log_error("%s[%u]: pledge: system call %s (%d) is not allowed by \"%s\"; %s", ident, req->pid,
		     name ? name : "?", req->data.nr, promises ? promises : "",
		     debug ? "failing it with EPERM (debug)" : "killed with SIGSYS");

	/* A pidfd pins the thread, so the signal cannot reach a recycled pid;
	 * the id check proves it is still the thread that asked. */
	if (!debug)
		pidfd = (int)syscall(SYS_pidfd_open, req->pid, PIDFD_THREAD);
	if ((r = seccomp_notify_id_valid(listener, req->id)) < 0)
		return r;
	resp->id = req->id;
	resp->val = 0;
	resp->error = debug ? -EPERM : -ENOSYS;
	resp->flags = 0;
	if (!debug) {
		if (pidfd >= 0)
			r = (int)syscall(SYS_pidfd_send_signal, pidfd, SIGSYS, NULL, 0);
		else
			r = kill((pid_t)req->pid, SIGSYS);
		if (r < 0)
			hv_log_errno(-errno, "sandbox: failed to kill %u", req->pid);
	}
	r = seccomp_notify_respond(listener, resp);
	return r == -ENOENT ? 0 : r; /* -ENOENT: died of the signal first, as intended */
}
