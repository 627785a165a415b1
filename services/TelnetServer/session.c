/* session.c — the session on a connection's terminal (session.h).
 *
 * --no-auth: a shell of this process's user, forked before the
 * connection's process narrows its sandbox (so the shell is not
 * confined by it) and held on a pipe until the client has told its
 * terminal type and environment: then the pipe brings them and the
 * shell execs. With --login-socket: login.c. */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <haven/log.h>

#include "login.h"

/* The environment block a held shell reads from its pipe. */
#define TS_ENV_BLOCK_MAX 8192

struct ts_session {
	const ts_config *cfg;
	ts_session_end_cb end;
	void *ud;
	pid_t pid; /* --no-auth: our shell */
	int go_fd; /* --no-auth: the pipe it waits on */
	hv_child *child;
	struct passwd *pw; /* --no-auth: this process's user, read before the sandbox */
	ts_login *login;   /* --login-socket */
};

static void child_exec(int slave, int go, const struct passwd *pw)
{
	char block[TS_ENV_BLOCK_MAX];
	size_t len = 0;
	ssize_t n;
	setsid();
	if (ioctl(slave, TIOCSCTTY, 0) < 0 || dup2(slave, 0) < 0 || dup2(slave, 1) < 0 ||
	    dup2(slave, 2) < 0)
		_exit(127);
	while (len < sizeof block - 1 && (n = read(go, block + len, sizeof block - 1 - len)) != 0)
		if (n > 0)
			len += (size_t)n;
		else if (errno != EINTR)
			_exit(127);
	if (len == 0) /* the connection ended before the session started */
		_exit(0);
	block[len] = '\0';
	char *envp[TS_ENV_MAX + 8];
	size_t ne = 0;
	for (char *p = block; p < block + len && ne < sizeof envp / sizeof envp[0] - 1;
	     p += strlen(p) + 1)
		envp[ne++] = p;
	envp[ne] = NULL;
	close_range(3, ~0u, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Default dispositions: a server started in the background by a
	 * shell ignores SIGINT, and Ctrl-C must reach the user's programs. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	const char *shell = pw && pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh";
	const char *base = strrchr(shell, '/');
	char argv0[64];
	snprintf(argv0, sizeof argv0, "-%s", base ? base + 1 : shell); /* a login shell */
	if (pw && pw->pw_dir && chdir(pw->pw_dir) < 0 && chdir("/") < 0)
		_exit(127);
	execve(shell, (char *[]){argv0, NULL}, envp);
	_exit(127);
}

static int shell_new(ts_session *s, int slave)
{
	hv_log_warn("--no-auth: each connection gets a shell as uid %d WITHOUT A LOGIN "
		    "(for tests only)",
		    (int)getuid());
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return hv_log_errno(-errno, "pipe");
	const struct passwd *pw = getpwuid(getuid());
	if (pw && !(s->pw = calloc(1, sizeof *s->pw)))
		return -ENOMEM;
	if (pw) {
		s->pw->pw_name = strdup(pw->pw_name);
		s->pw->pw_dir = strdup(pw->pw_dir);
		s->pw->pw_shell = strdup(pw->pw_shell);
		if (!s->pw->pw_name || !s->pw->pw_dir || !s->pw->pw_shell)
			return -ENOMEM;
	}
	s->pid = fork();
	if (s->pid < 0) {
		close(go[0]), close(go[1]);
		return hv_log_errno(-errno, "fork");
	}
	if (s->pid == 0) {
		close(go[1]);
		child_exec(slave, go[0], pw);
	}
	close(go[0]);
	s->go_fd = go[1];
	return 0;
}

static int env_add(char *block, size_t *len, const char *name, const char *value)
{
	int n = snprintf(block + *len, TS_ENV_BLOCK_MAX - *len, "%s%s%s", name, value ? "=" : "",
			 value ? value : "");
	if (n < 0 || (size_t)n + 1 > TS_ENV_BLOCK_MAX - *len)
		return -E2BIG;
	*len += (size_t)n + 1;
	return 0;
}

static int shell_start(ts_session *s, const ts_proto *p)
{
	char block[TS_ENV_BLOCK_MAX];
	size_t len = 0;
	const struct passwd *pw = s->pw;
	const char *term = ts_proto_term(p);
	env_add(block, &len, "TERM", term ? term : "dumb");
	env_add(block, &len, "PATH", "/usr/local/bin:/usr/bin:/bin");
	if (pw) {
		env_add(block, &len, "HOME", pw->pw_dir);
		env_add(block, &len, "USER", pw->pw_name);
		env_add(block, &len, "LOGNAME", pw->pw_name);
		env_add(block, &len, "SHELL", pw->pw_shell);
	}
	for (size_t i = 0; i < ts_proto_env_count(p); i++)
		env_add(block, &len, ts_proto_env(p, i), NULL);
	int r = hv_write_full(s->go_fd, block, len);
	close(s->go_fd);
	s->go_fd = -1;
	return r < 0 ? hv_log_errno(r, "Cannot start the shell") : 0;
}

static void on_child(hv_loop *loop, pid_t pid, int status, void *ud)
{
	(void)loop;
	ts_session *s = ud;
	hv_log_debug("shell %d ended (status %#x)", (int)pid, status);
	s->pid = 0;
	s->end(s->ud);
}

int ts_session_new(const ts_config *cfg, hv_loop *loop, int master, int slave,
		   ts_session_end_cb end, void *ud, ts_session **out)
{
	ts_session *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	*s = (ts_session){.cfg = cfg, .end = end, .ud = ud, .go_fd = -1};
	int r = cfg->no_auth ? shell_new(s, slave)
			     : ts_login_new(cfg, loop, master, slave, end, ud, &s->login);
	if (r >= 0 && cfg->no_auth)
		r = hv_loop_add_child(loop, s->pid, on_child, s, &s->child);
	if (r < 0) {
		ts_session_free(s);
		return r;
	}
	*out = s;
	return 0;
}

const char *ts_session_promises(const ts_session *s)
{
	/* "proc": the shell is ours to signal (IAC IP) and to watch. */
	return s->login ? ts_login_promises(s->login) : "stdio tty proc";
}

int ts_session_start(ts_session *s, const ts_proto *p)
{
	return s->login ? ts_login_start(s->login, p) : shell_start(s, p);
}

void ts_session_interrupt(ts_session *s, int master)
{
	pid_t pgrp = tcgetpgrp(master);
	if (!s->login && pgrp > 0 && kill(-pgrp, SIGINT) == 0)
		return;
	/* Not ours to signal (a login session runs as its user): the
	 * interrupt character, which the line discipline turns into the
	 * same SIGINT while ISIG is on. */
	struct termios t;
	if (tcgetattr(master, &t) == 0 && (t.c_lflag & ISIG) && t.c_cc[VINTR] != _POSIX_VDISABLE)
		(void)!write(master, &t.c_cc[VINTR], 1);
}

void ts_session_free(ts_session *s)
{
	if (!s)
		return;
	if (s->child)
		hv_child_kill(s->child, SIGHUP);
	hv_child_free(s->child);
	if (s->go_fd >= 0)
		close(s->go_fd);
	ts_login_free(s->login);
	if (s->pw) {
		free(s->pw->pw_name);
		free(s->pw->pw_dir);
		free(s->pw->pw_shell);
		free(s->pw);
	}
	free(s);
}
