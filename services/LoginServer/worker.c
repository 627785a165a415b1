/* worker.c — one login attempt, in its own root process (greetd's session
 * worker): PAM's authenticate and account management with the prompts
 * relayed to the front, then, when the front says start, setcred and
 * open_session, the runtime directory, and a child that drops to the user
 * and execs the session. The worker stays root to wait for that child,
 * close the PAM session and (when the front says it was the user's last
 * session) remove the runtime directory.
 *
 * Every failure before the session is reported the same way (W_AUTH_FAIL,
 * PAM's text for the log only); the front pads it to the failure delay.
 * PAM's own fail delay (pam_unix: about 2 s, randomised) is replaced by a
 * no-op PAM_FAIL_DELAY function, so the front's fixed floor is the only
 * delay, the same for unknown users and wrong answers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include <haven/log.h>
#include <haven/loop.h>
#include <haven/util.h>

#include "LoginServer.h"
#include "wire.h"

struct worker {
	int fd;
	pam_handle_t *pamh;
	struct lgs_wmsg in;
	char *user;
	uid_t uid;
	gid_t gid;
	char *home, *shell;
	char runtime_dir[4096];
	int stdio[LGS_WIRE_FDS]; /* the greeter's, for the session */
	size_t nstdio;
};

static void send_str(struct worker *w, uint8_t type, const char *s)
{
	static struct lgs_wbuf b;
	b.len = 0;
	b.overflow = false;
	lgs_wput_u8(&b, type);
	lgs_wput_str(&b, s);
	lgs_wsend(w->fd, &b);
}

static void send_ints(struct worker *w, uint8_t type, int32_t a, int32_t b_)
{
	static struct lgs_wbuf b;
	b.len = 0;
	b.overflow = false;
	lgs_wput_u8(&b, type);
	lgs_wput_i32(&b, a);
	lgs_wput_i32(&b, b_);
	lgs_wsend(w->fd, &b);
}

/* The next message from the front; its type, or 0 at EOF / on nonsense. */
static uint8_t next_msg(struct worker *w)
{
	uint8_t type;
	if (lgs_wrecv(w->fd, &w->in) <= 0 || !lgs_wget_u8(&w->in, &type))
		return 0;
	return type;
}

/* --- the PAM conversation: each message relayed, answers awaited --------- */
static int relay_one(struct worker *w, const struct pam_message *msg, struct pam_response *resp)
{
	uint8_t kind;
	switch (msg->msg_style) {
	case PAM_PROMPT_ECHO_OFF: kind = LOGIN_SERVER_PROMPT_KIND_SECRET; break;
	case PAM_PROMPT_ECHO_ON: kind = LOGIN_SERVER_PROMPT_KIND_VISIBLE; break;
	case PAM_ERROR_MSG: kind = LOGIN_SERVER_PROMPT_KIND_ERROR; break;
	case PAM_TEXT_INFO: kind = LOGIN_SERVER_PROMPT_KIND_INFO; break;
	default: return PAM_CONV_ERR;
	}
	char text[LGS_PROMPT_MAX + 1];
	snprintf(text, sizeof(text), "%s", msg->msg ? msg->msg : "");
	static struct lgs_wbuf b;
	b.len = 0;
	b.overflow = false;
	lgs_wput_u8(&b, W_PROMPT);
	lgs_wput_u8(&b, kind);
	lgs_wput_str(&b, text);
	if (lgs_wsend(w->fd, &b) < 0)
		return PAM_CONV_ERR;
	if (kind != LOGIN_SERVER_PROMPT_KIND_SECRET && kind != LOGIN_SERVER_PROMPT_KIND_VISIBLE)
		return PAM_SUCCESS;
	const char *answer;
	if (next_msg(w) != F_ANSWER || !lgs_wget_str(&w->in, &answer) || !lgs_wget_end(&w->in))
		return PAM_CONV_ERR; /* cancelled, or the front went away */
	if (!(resp->resp = strdup(answer)))
		return PAM_BUF_ERR;
	return PAM_SUCCESS;
}

static int conversation(int n, const struct pam_message **msgs, struct pam_response **out, void *ud)
{
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	struct pam_response *resp = calloc((size_t)n, sizeof(*resp));
	if (!resp)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		int r = relay_one(ud, msgs[i], &resp[i]);
		if (r != PAM_SUCCESS) {
			for (int j = 0; j <= i; j++) {
				if (resp[j].resp)
					explicit_bzero(resp[j].resp, strlen(resp[j].resp));
				free(resp[j].resp);
			}
			free(resp);
			return r;
		}
	}
	*out = resp;
	return PAM_SUCCESS;
}

/* PAM_FAIL_DELAY: the front pads failures itself (see the top). */
static void no_fail_delay(int retval, unsigned usec_delay, void *appdata) {}

static _Noreturn void worker_exit(struct worker *w, int pam_status)
{
	if (w->pamh)
		pam_end(w->pamh, pam_status);
	_exit(0);
}

/* --- authentication ------------------------------------------------------------ */
static int authenticate(struct worker *w, bool autologin)
{
	int r = PAM_SUCCESS;
	if (!autologin)
		r = pam_authenticate(w->pamh, 0);
	if (r == PAM_SUCCESS)
		r = pam_acct_mgmt(w->pamh, 0);
	if (r == PAM_NEW_AUTHTOK_REQD)
		r = pam_chauthtok(w->pamh, PAM_CHANGE_EXPIRED_AUTHTOK);
	return r;
}

/* --- the session ------------------------------------------------------------------ */
static int lookup_user(struct worker *w)
{
	errno = 0;
	struct passwd *pw = getpwnam(w->user);
	if (!pw)
		return errno ? -errno : -ENOENT;
	w->uid = pw->pw_uid;
	w->gid = pw->pw_gid;
	w->home = strdup(pw->pw_dir && pw->pw_dir[0] ? pw->pw_dir : "/");
	w->shell = strdup(pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
	return w->home && w->shell ? 0 : -ENOMEM;
}

/* runtime_root/UID: made for the user (0700, theirs), or checked when one
 * of their sessions already made it — never a symlink or another's. Made
 * under a temporary name and renamed into place (RENAME_NOREPLACE), so a
 * second session starting at the same time never sees it half made. */
static int make_runtime_dir(struct worker *w, const char **why)
{
	snprintf(w->runtime_dir, sizeof(w->runtime_dir), "%s/%u", lgs_opts.runtime_root,
		 (unsigned)w->uid);
	int r = hv_mkdir_p(lgs_opts.runtime_root, 0755);
	if (r < 0) {
		*why = "cannot create the runtime root";
		return r;
	}
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", w->runtime_dir, (int)getpid());
	if (mkdir(tmp, 0700) < 0 || chown(tmp, w->uid, w->gid) < 0 || chmod(tmp, 0700) < 0) {
		r = -errno;
		rmdir(tmp);
		*why = "cannot make the user a runtime directory";
		return r;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, w->runtime_dir, RENAME_NOREPLACE) == 0)
		return 0;
	r = -errno;
	rmdir(tmp);
	if (r != -EEXIST) {
		*why = "cannot create the runtime directory";
		return r;
	}
	struct stat st;
	if (lstat(w->runtime_dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != w->uid) {
		*why = "the runtime directory exists and is not the user's directory";
		return -EEXIST;
	}
	return 0;
}

static bool identity_var(const char *kv)
{
	static const char *const names[] = {"HOME=", "USER=", "LOGNAME=", "SHELL=", "XDG_RUNTIME_DIR=",
					    "LD_PRELOAD=", "LD_LIBRARY_PATH=", NULL};
	for (size_t i = 0; names[i]; i++)
		if (strncmp(kv, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* PAM's variables, the greeter's (not the identity ones), then ours. */
static int build_env(struct worker *w, char **client_env, hv_strv *env)
{
	char **pam_env = pam_getenvlist(w->pamh);
	for (size_t i = 0; pam_env && pam_env[i]; i++) {
		hv_strv_push(env, pam_env[i]);
		free(pam_env[i]);
	}
	free(pam_env);
	for (size_t i = 0; client_env[i]; i++)
		if (strchr(client_env[i], '=') && !identity_var(client_env[i]))
			hv_strv_push(env, client_env[i]);
	char buf[8192];
	const char *const fmt[][2] = {{"HOME=%s", w->home},   {"USER=%s", w->user},
				      {"LOGNAME=%s", w->user}, {"SHELL=%s", w->shell},
				      {"XDG_RUNTIME_DIR=%s", w->runtime_dir}};
	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		snprintf(buf, sizeof(buf), fmt[i][0], fmt[i][1]);
		hv_strv_push(env, buf);
	}
	bool has_path = false;
	for (size_t i = 0; i < env->n; i++)
		has_path |= strncmp(env->v[i], "PATH=", 5) == 0;
	if (!has_path)
		hv_strv_push(env, "PATH=/usr/local/bin:/usr/bin:/bin");
	return env->n ? 0 : -ENOMEM;
}

/* In the session's child: become the user for good, then exec. A step
 * that fails writes its errno to errpipe (the parent's EOF means exec). */
/* The greeter's fds as 0, 1, 2 (/dev/null for those it did not give);
 * a terminal on stdin becomes the new session's controlling terminal
 * (TelnetServer's pty; refused, harmlessly, for one that has a session). */
static int setup_stdio(struct worker *w)
{
	for (int i = 0; i < 3; i++) {
		int fd = (size_t)i < w->nstdio ? w->stdio[i] : open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0 || dup2(fd, i) < 0)
			return -1;
	}
	if (isatty(0))
		(void)ioctl(0, TIOCSCTTY, 0);
	return 0;
}

static _Noreturn void exec_session(struct worker *w, char **argv, char **envp, int errpipe)
{
	int stage = 0;
	if ((stage = 1, setsid() < 0) || (stage = 7, setup_stdio(w) < 0) || (stage = 2, initgroups(w->user, w->gid) < 0) ||
	    (stage = 3, setgid(w->gid) < 0) || (stage = 4, setuid(w->uid) < 0) ||
	    (stage = 5, (getuid() != w->uid || geteuid() != w->uid) && (errno = EPERM))) {
		int e[2] = {stage, errno};
		(void)!write(errpipe, e, sizeof(e));
		_exit(127);
	}
	if (chdir(w->home) < 0)
		(void)!chdir("/");
	execvpe(argv[0], argv, envp);
	int e[2] = {6, errno};
	(void)!write(errpipe, e, sizeof(e));
	_exit(127);
}

static const char *const stage_names[] = {"", "setsid", "initgroups", "setgid", "setuid",
					  "dropping privileges", "exec", "stdio"};

/* Fork the session; its pid, or -errno with *why set. */
static pid_t spawn_session(struct worker *w, char **argv, char **envp, char *why, size_t whylen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		close(w->fd);
		exec_session(w, argv, envp, p[1]);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -errno;
	}
	int e[2];
	ssize_t n;
	do
		n = read(p[0], e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		waitpid(pid, NULL, 0);
		snprintf(why, whylen, "%s %s: %s", stage_names[e[0] >= 1 && e[0] <= 7 ? e[0] : 0],
			 e[0] == 6 ? argv[0] : w->user, strerror(e[1]));
		return -e[1];
	}
	return pid;
}

/* F_START: PAM's session, the runtime directory, the child. */
static pid_t start_session(struct worker *w, char **argv, char **client_env)
{
	char why[8192] = "";
	const char *step = NULL;
	int r = lookup_user(w);
	if (r < 0)
		step = "the user has no passwd entry";
	if (!step && (r = pam_setcred(w->pamh, PAM_ESTABLISH_CRED)) != PAM_SUCCESS)
		step = pam_strerror(w->pamh, r), r = -EACCES;
	if (!step && (r = pam_open_session(w->pamh, 0)) != PAM_SUCCESS)
		step = pam_strerror(w->pamh, r), r = -EACCES;
	if (!step && (r = make_runtime_dir(w, &step)) < 0)
		snprintf(why, sizeof(why), "%s %s: %s", step, w->runtime_dir, strerror(-r));
	_hv_cleanup_(hv_strv_clear) hv_strv env = {0};
	if (!step && (r = build_env(w, client_env, &env)) < 0)
		step = "out of memory";
	pid_t pid = step ? r : spawn_session(w, argv, env.v, why, sizeof(why));
	if (pid < 0 && !why[0])
		snprintf(why, sizeof(why), "%s", step ? step : strerror(-pid));
	if (pid < 0) {
		send_str(w, W_SESSION_FAIL, why);
		return pid;
	}
	static struct lgs_wbuf b;
	b.len = 0;
	b.overflow = false;
	lgs_wput_u8(&b, W_SESSION_OK);
	lgs_wput_i32(&b, pid);
	lgs_wput_i32(&b, (int32_t)w->uid);
	lgs_wput_str(&b, w->runtime_dir);
	lgs_wsend(w->fd, &b);
	return pid;
}

/* Wait for the session's leader, passing F_TERMINATE on as SIGTERM to its
 * process group (SIGKILL LGS_TERMINATE_KILL_MS later). Its wait status. */
static int wait_session(struct worker *w, pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	bool front = true, terminating = false;
	uint64_t kill_at = 0;
	for (;;) {
		struct pollfd pf[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = front ? w->fd : -1, .events = POLLIN}};
		int timeout = -1;
		if (terminating) {
			uint64_t now = hv_now_ns();
			timeout = now >= kill_at ? 0 : (int)((kill_at - now) / 1000000u) + 1;
		}
		int n = pidfd >= 0 ? poll(pf, 2, timeout) : 0;
		if (pidfd < 0 || (n > 0 && (pf[0].revents & POLLIN)))
			break;
		if (n == 0 && terminating) {
			kill(-pid, SIGKILL);
			terminating = false;
		}
		if (n > 0 && pf[1].revents) {
			uint8_t t = next_msg(w);
			if (t == F_TERMINATE && !terminating) {
				kill(-pid, SIGTERM);
				terminating = true;
				kill_at = hv_now_ns() + (uint64_t)LGS_TERMINATE_KILL_MS * 1000000u;
			} else if (t == 0) {
				front = false; /* the front is gone: the session stays */
			}
		}
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
	return status;
}

/* Remove what the user left in their runtime directory (never following
 * a symlink: entries are opened relative to their directory, O_NOFOLLOW). */
static void remove_tree_at(int parent, const char *name, int depth)
{
	if (unlinkat(parent, name, 0) == 0 || (errno != EISDIR && errno != EPERM) || depth > 64)
		return;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			remove_tree_at(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	unlinkat(parent, name, AT_REMOVEDIR);
}

static void run_session(struct worker *w)
{
	char **argv = NULL, **env = NULL;
	size_t argc, envc;
	if (next_msg(w) != F_START || !lgs_wget_strv(&w->in, &argv, &argc) ||
	    !lgs_wget_strv(&w->in, &env, &envc) || !lgs_wget_end(&w->in) || argc == 0) {
		free(argv);
		free(env);
		return; /* cancelled, or the front went away */
	}
	memcpy(w->stdio, w->in.fds, sizeof(w->stdio));
	w->nstdio = w->in.nfds;
	w->in.nfds = 0;
	pid_t pid = start_session(w, argv, env);
	free(argv);
	free(env);
	for (size_t i = 0; i < w->nstdio; i++)
		close(w->stdio[i]); /* the session has them; the worker lets go */
	w->nstdio = 0;
	if (pid < 0)
		return;
	int status = wait_session(w, pid);
	send_ints(w, W_ENDED, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	int r = pam_close_session(w->pamh, 0);
	if (r != PAM_SUCCESS)
		hv_log_warn("%s: pam_close_session: %s", w->user, pam_strerror(w->pamh, r));
	pam_setcred(w->pamh, PAM_DELETE_CRED);
	uint8_t remove = 0;
	if (next_msg(w) == F_FINISH && lgs_wget_u8(&w->in, &remove) && remove) {
		int root = open(lgs_opts.runtime_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		char name[16];
		snprintf(name, sizeof(name), "%u", (unsigned)w->uid);
		if (root >= 0) {
			remove_tree_at(root, name, 0);
			close(root);
		}
	}
}

_Noreturn void lgs_worker_main(int fd)
{
	static struct worker w;
	w.fd = fd;
	hv_log_set_ident("LoginServer[worker]");
	const char *user;
	uint8_t autologin;
	if (next_msg(&w) != F_BEGIN || !lgs_wget_str(&w.in, &user) || !lgs_wget_u8(&w.in, &autologin) ||
	    !lgs_wget_end(&w.in) || !(w.user = strdup(user)))
		_exit(1);
	struct pam_conv conv = {.conv = conversation, .appdata_ptr = &w};
	int r = pam_start(lgs_opts.pam_service, w.user, &conv, &w.pamh);
	if (r != PAM_SUCCESS) {
		send_str(&w, W_AUTH_FAIL, "pam_start failed");
		_exit(0);
	}
	pam_set_item(w.pamh, PAM_FAIL_DELAY, (const void *)no_fail_delay);
	r = authenticate(&w, autologin);
	if (r != PAM_SUCCESS) {
		send_str(&w, W_AUTH_FAIL, pam_strerror(w.pamh, r));
		worker_exit(&w, r);
	}
	/* PAM may have mapped the name (PAM_USER): the session is its user's. */
	const void *item = NULL;
	if (pam_get_item(w.pamh, PAM_USER, &item) == PAM_SUCCESS && item && strcmp(item, w.user)) {
		free(w.user);
		if (!(w.user = strdup(item)))
			worker_exit(&w, PAM_BUF_ERR);
	}
	send_str(&w, W_AUTH_OK, w.user);
	run_session(&w);
	worker_exit(&w, PAM_SUCCESS);
}
