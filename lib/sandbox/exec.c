/* lib/sandbox/exec.c — the service-manager API: one spec (Pledge=,
 * ExecPledge=, Unveil=) applied in a forked child right before exec. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "haven/log.h"
#include "haven/sandbox.h"
#include "internal.h"

#include <sys/socket.h>

/* Pass the seccomp listener to the supervisor (sandbox-run); no
 * allocation, so a vfork child may call it too (internal.h). */
int hv_sandbox_send_listener(int sock, int fd)
{
	char byte = 'L';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static int check_perms(const char *spec)
{
	if (strncmp(spec, "tcp:", 4) == 0) {
		const char *colon = strchr(spec + 4, ':');
		if (!colon || colon == spec + 4 || strspn(spec + 4, "0123456789") != (size_t)(colon - spec - 4) ||
		    atoi(spec + 4) > 65535 || colon[strspn(colon + 1, "bc") + 1] != '\0') {
			hv_log_error("unveil: \"%s\": expected tcp:PORT:PERMS (PERMS from \"bc\")", spec);
			return -EINVAL;
		}
		return 0;
	}
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec) {
		hv_log_error("unveil: \"%s\": expected PATH:PERMS", spec);
		return -EINVAL;
	}
	if (colon[strspn(colon + 1, "rwxc") + 1] != '\0') {
		hv_log_error("unveil: \"%s\": permissions are a subset of \"rwxc\"", spec);
		return -EINVAL;
	}
	return 0;
}

int hv_sandbox_spec_check(const hv_sandbox_spec *spec)
{
	int r;
	if (spec->promises && (r = hv_pledge_check(spec->promises)) < 0)
		return r;
	if (spec->execpromises && (r = hv_pledge_check(spec->execpromises)) < 0)
		return r;
	if (spec->execpromises && spec->promises) {
		uint64_t p, e;
		hv_promises_parse(spec->promises, &p);
		hv_promises_parse(spec->execpromises, &e);
		if (e & ~p) {
			char extra[256];
			hv_promises_format(e & ~p, extra, sizeof(extra));
			hv_log_error("pledge: execpromises \"%s\" exceed promises (the filter survives exec)", extra);
			return -EINVAL;
		}
	}
	for (const char *const *u = spec->unveils; u && *u; u++)
		if ((r = check_perms(*u)) < 0)
			return r;
	return 0;
}

/* What the kernel and the dynamic loader open to start `path`. Missing
 * directories are skipped; an unreadable script header just adds nothing. */
int hv_internal_unveil_program(const char *path)
{
	static const char *const libdirs[] = {"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib"};
	int r;

	for (size_t i = 0; i < sizeof(libdirs) / sizeof(libdirs[0]); i++)
		if (access(libdirs[i], F_OK) == 0 && (r = hv_unveil(libdirs[i], "rx")) < 0)
			return r;
	if (access("/etc/ld.so.cache", F_OK) == 0 && (r = hv_unveil("/etc/ld.so.cache", "r")) < 0)
		return r;
	if ((r = hv_unveil(path, "rx")) < 0)
		return r;
#if HV_SANITIZER_BUILD
	/* Sanitizer builds: the runtime reads its options from
	 * /proc/self/environ before libc is up (unreadable, ASAN_OPTIONS is
	 * ignored: detect_leaks=0 too) and its maps for reports. This
	 * process keeps its pid, so its /proc entry, across exec. */
	char self[32];
	snprintf(self, sizeof(self), "/proc/%d", (int)getpid());
	if (access(self, F_OK) == 0 && (r = hv_unveil(self, "r")) < 0)
		return r;
#endif

	char head[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n < 3 || head[0] != '#' || head[1] != '!')
		return 0;
	head[n] = '\0';
	char *interp = head + 2 + strspn(head + 2, " \t");
	interp[strcspn(interp, " \t\n")] = '\0';
	if (*interp == '/' && access(interp, F_OK) == 0 && (r = hv_unveil(interp, "rx")) < 0)
		return r;
	return 0;
}

static int apply_unveils(const hv_sandbox_spec *spec, const char *path)
{
	int r;
	if (!spec->unveils)
		return 0;
	if (path && !spec->bare_unveil && (r = hv_internal_unveil_program(path)) < 0)
		return r;
	/* An empty (non-NULL) list means "nothing", not "everything". */
	hv_unveil_deny_all();
	for (const char *const *u = spec->unveils; *u; u++)
		if ((r = hv_unveil_spec(*u)) < 0)
			return r;
	r = hv_unveil(NULL, NULL);
	if (r == HV_SANDBOX_DEGRADED)
		return 0; /* logged by the lock: partial, not pretended */
	return r;
}

static int sandbox_exec(const hv_sandbox_spec *spec, const char *path, char *const argv[],
			char *const envp[], uint32_t deny_action, int notify_sock)
{
	char **env = NULL;
	int r;

	if ((r = hv_sandbox_spec_check(spec)) < 0)
		return r;
	if ((r = apply_unveils(spec, path)) < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hv_log_errno(-errno, "sandbox: failed to set no_new_privs");
	if (spec->promises) {
		int nfd = -1;
		r = hv_internal_exec_filter(spec->promises, spec->execpromises, spec->debug, path, envp, &env,
					    deny_action, notify_sock >= 0 ? &nfd : NULL);
		if (r < 0)
			return r;
		if (notify_sock >= 0 && nfd >= 0) {
			r = hv_sandbox_send_listener(notify_sock, nfd);
			close(nfd);
			if (r < 0)
				return r;
		}
		envp = env;
	} else if (spec->execpromises) {
		/* ExecPledge= alone: no filter now, but the program's hv_execve()
		 * applies it to what it starts. */
		if (!(env = hv_env_with(envp, NULL, spec->execpromises)))
			return hv_log_errno(-ENOMEM, "sandbox: failed to build the environment");
		envp = env;
	}
	execve(path, argv, envp);
	r = -errno;
	free(env);
	return hv_log_errno(r, "sandbox: failed to execute %s", path);
}

int hv_sandbox_exec(const hv_sandbox_spec *spec, const char *path, char *const argv[], char *const envp[])
{
	return sandbox_exec(spec, path, argv, envp, SCMP_ACT_KILL_PROCESS, -1);
}

int hv_sandbox_exec_supervised(const hv_sandbox_spec *spec, const char *path, char *const argv[],
			       char *const envp[], int sock)
{
	return sandbox_exec(spec, path, argv, envp, SCMP_ACT_NOTIFY, sock);
}

int hv_sandbox_apply(const hv_sandbox_spec *spec)
{
	int r;
	if ((r = hv_sandbox_spec_check(spec)) < 0)
		return r;
	if ((r = apply_unveils(spec, NULL)) < 0)
		return r;
	if (spec->debug)
		hv_pledge_set_debug(true);
	if (spec->promises || spec->execpromises)
		return hv_pledge(spec->promises, spec->execpromises);
	return 0;
}
