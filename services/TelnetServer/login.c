/* login.c — logins through LoginServer (login.h), on the connection's
 * terminal. The conversation reads the terminal through a description of
 * its own (TIOCGPTPEER again: non-blocking for the loop, while the
 * session's stays blocking), in canonical mode, so the pty's line
 * discipline does the line editing; a secret prompt turns the terminal's
 * ECHO off (the server keeps WILL ECHO, so the client never echoes
 * either). Once LoginServer runs the session, every copy of the terminal
 * here is closed: the session ending closes the pty (EIO on the master). */
#include "login.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <haven/log.h>
#include <login-client.h>

/* A line typed at a prompt: the tty's canonical line is at most 4095. */
#define TS_LINE_MAX 4096

struct ts_login {
	hv_loop *loop;
	lgn_client *cl;
	lgn_conv *cv;
	int slave; /* the session's stdio, handed to LoginServer */
	int tty;   /* the conversation's own description of the terminal */
	hv_watch *w_tty;
	ts_session_end_cb end;
	void *ud;
	enum { WANT_NOTHING, WANT_USER, WANT_ANSWER } want;
	bool secret, ended;
	int tries;
	char host[64];
	const char *env[TS_ENV_MAX + 2];
	char term[TS_TTYPE_MAX + 8];
	size_t len;
	char line[TS_LINE_MAX];
};

static void say(ts_login *l, const char *text)
{
	/* Short texts into the pty's buffer; a client that reads nothing
	 * loses a prompt rather than blocking the loop. */
	(void)!write(l->tty, text, strlen(text));
}

static void set_echo(ts_login *l, bool on)
{
	struct termios t;
	if (tcgetattr(l->tty, &t) < 0)
		return;
	if (on)
		t.c_lflag |= ECHO;
	else
		t.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(l->tty, TCSANOW, &t);
}

static void finish(ts_login *l)
{
	if (l->ended)
		return;
	l->ended = true;
	if (l->w_tty) /* gone once the session runs */
		hv_watch_set_events(l->w_tty, 0);
	l->end(l->ud);
}

static void ask_user(ts_login *l)
{
	char prompt[128];
	snprintf(prompt, sizeof prompt, "\r\n%s login: ", l->host);
	set_echo(l, true);
	l->secret = false;
	l->want = WANT_USER;
	say(l, prompt);
	hv_watch_set_events(l->w_tty, HV_IO_READ);
}

static void on_prompt(lgn_conv *cv, lgn_prompt_kind kind, const char *text, void *ud)
{
	(void)cv;
	ts_login *l = ud;
	say(l, text);
	if (kind == LGN_PROMPT_INFO || kind == LGN_PROMPT_ERROR) {
		say(l, "\r\n");
		return;
	}
	l->secret = kind == LGN_PROMPT_SECRET;
	set_echo(l, !l->secret);
	l->want = WANT_ANSWER;
	hv_watch_set_events(l->w_tty, HV_IO_READ);
}

static void on_authenticated(lgn_conv *cv, void *ud)
{
	ts_login *l = ud;
	/* The user's login shell: LoginServer sets SHELL (and HOME, USER,
	 * LOGNAME, XDG_RUNTIME_DIR) for the session. */
	static const char *const argv[] = {"/bin/sh", "-c", "exec \"$SHELL\" -l", NULL};
	const int stdio[3] = {l->slave, l->slave, l->slave};
	int r = lgn_start_session(cv, argv, l->env, stdio, 3);
	if (r < 0) {
		say(l, "\r\nThe session could not be started.\r\n");
		hv_log_warn("start_session: %s", lgn_strerror(l->cl, r));
		finish(l);
	}
}

static void on_failed(lgn_conv *cv, int code, const char *message, void *ud)
{
	ts_login *l = ud;
	lgn_conv_free(cv);
	l->cv = NULL;
	if (code != LOGIN_SERVER_ERR_AUTH_FAILED && code != LOGIN_SERVER_ERR_INVALID_USER) {
		/* Busy, or LoginServer is gone (a negative errno) */
		hv_log_warn("LoginServer: %s", message ? message : strerror(-code));
		say(l, "\r\nLogins are not available.\r\n");
		finish(l);
		return;
	}
	say(l, "\r\nLogin incorrect\r\n");
	if (++l->tries >= TS_LOGIN_TRIES)
		finish(l);
	else
		ask_user(l);
}

static void on_session_started(lgn_conv *cv, int status, uint64_t session, const char *message,
			       void *ud)
{
	(void)cv;
	ts_login *l = ud;
	if (status < 0) {
		hv_log_warn("the session could not start: %s", message ? message : "");
		say(l, "\r\nThe session could not be started.\r\n");
		finish(l);
		return;
	}
	hv_log_info("session %llu started", (unsigned long long)session);
	/* Only the session holds the terminal now. */
	hv_watch_free(l->w_tty);
	l->w_tty = NULL;
	hv_close(&l->tty);
	hv_close(&l->slave);
}

static void on_session_ended(lgn_conv *cv, uint64_t session, int exit_code, int sig, void *ud)
{
	(void)cv;
	hv_log_info("session %llu ended (exit %d, signal %d)", (unsigned long long)session,
		    exit_code, sig);
	finish(ud);
}

static const lgn_conv_ops conv_ops = {
	.prompt = on_prompt,
	.authenticated = on_authenticated,
	.failed = on_failed,
	.session_started = on_session_started,
	.session_ended = on_session_ended,
};

static void on_line(ts_login *l, char *line)
{
	if (l->want == WANT_USER) {
		l->want = WANT_NOTHING;
		if (!line[0]) {
			ask_user(l);
			return;
		}
		int r = lgn_begin(l->cl, line, &conv_ops, l, &l->cv);
		if (r < 0) {
			hv_log_warn("begin: %s", lgn_strerror(l->cl, r));
			say(l, "\r\nLogins are not available.\r\n");
			finish(l);
		}
		return;
	}
	if (l->want != WANT_ANSWER)
		return; /* typed ahead while nothing was asked: dropped */
	l->want = WANT_NOTHING;
	if (l->secret) {
		say(l, "\r\n"); /* the newline the terminal did not echo */
		set_echo(l, true);
	}
	int r = lgn_answer(l->cv, line);
	if (r < 0)
		hv_log_warn("answer: %s", lgn_strerror(l->cl, r));
}

static void on_tty(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	(void)loop, (void)events;
	ts_login *l = ud;
	ssize_t n = read(fd, l->line + l->len, sizeof l->line - 1 - l->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* Ctrl-D at a prompt, or the terminal is gone */
		finish(l);
		return;
	}
	l->len += (size_t)n;
	char *nl = memchr(l->line, '\n', l->len);
	if (!nl && l->len < sizeof l->line - 1)
		return; /* the rest of the line is still coming */
	size_t end = nl ? (size_t)(nl - l->line) : l->len;
	while (end && (l->line[end - 1] == '\r'))
		end--;
	l->line[end] = '\0';
	l->len = 0;
	hv_watch_set_events(l->w_tty, 0);
	on_line(l, l->line);
	explicit_bzero(l->line, sizeof l->line);
}

int ts_login_new(const ts_config *cfg, hv_loop *loop, int master, int slave, ts_session_end_cb end,
		 void *ud, ts_login **out)
{
	ts_login *l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	*l = (ts_login){.loop = loop, .end = end, .ud = ud, .slave = -1, .tty = -1};
	int r = 0;
	if ((l->slave = fcntl(slave, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    (l->tty = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) < 0)
		r = hv_log_errno(-errno, "Cannot open the terminal for the login");
	if (r >= 0 && (r = hv_loop_add_fd(loop, l->tty, 0, on_tty, l, &l->w_tty)) < 0)
		hv_log_errno(r, "Cannot watch the terminal");
	if (r >= 0 && (r = lgn_client_connect(loop, cfg->login_socket, &l->cl)) < 0)
		hv_log_error("Cannot reach LoginServer at %s: %s",
			     cfg->login_socket ? cfg->login_socket
					       : "its \"" LGN_PORTAL "\" portal",
			     lgn_strerror(NULL, r));
	if (r < 0) {
		ts_login_free(l);
		return r;
	}
	if (gethostname(l->host, sizeof l->host) < 0 || !l->host[0])
		snprintf(l->host, sizeof l->host, "haven");
	*out = l;
	return 0;
}

const char *ts_login_promises(const ts_login *l)
{
	(void)l;
	return "stdio tty";
}

int ts_login_start(ts_login *l, const ts_proto *p)
{
	char *term = l->term;
	snprintf(l->term, sizeof l->term, "TERM=%s", ts_proto_term(p) ? ts_proto_term(p) : "dumb");
	size_t n = 0;
	l->env[n++] = term;
	for (size_t i = 0; i < ts_proto_env_count(p) && n < TS_ENV_MAX + 1; i++)
		l->env[n++] = ts_proto_env(p, i);
	l->env[n] = NULL;
	const char *user = ts_proto_user(p);
	if (!user) {
		ask_user(l);
		return 0;
	}
	/* The client proposed a name (NEW-ENVIRON USER, `telnet -l`). */
	int r = lgn_begin(l->cl, user, &conv_ops, l, &l->cv);
	return r < 0 ? hv_log_errno(r, "begin") : 0;
}

void ts_login_free(ts_login *l)
{
	if (!l)
		return;
	lgn_conv_free(l->cv);
	lgn_client_free(l->cl);
	hv_watch_free(l->w_tty);
	hv_close(&l->tty);
	hv_close(&l->slave);
	free(l);
}
