/* haven-login — a terminal greeter for LoginServer.
 *
 *   haven-login [--socket PATH] [--command CMD] [--env NAME=VALUE]... USER
 *
 * Begins a login as USER and answers PAM's prompts: from the terminal
 * (secret ones without echo) when stdin is one, else one line of stdin per
 * prompt. Then starts the session with this program's stdin, stdout and
 * stderr — CMD run by /bin/sh -c as the user, or LoginServer's default
 * (SystemServer --user) — waits for it to end and exits with its status.
 *
 * Exit: the session's exit status (128+N when killed by signal N); 1
 * authentication failed or the session could not start; 2 usage; 3
 * LoginServer unreachable or the connection was lost. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <haven/options.h>

#include "cli.h"
#include "login-client.h"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SERVICE = 3 };

static const char *socket_path, *command;
static hv_strv envs;

static int add_env(const char *arg, void *target)
{
	if (!strchr(arg, '=') || arg[0] == '=')
		return -EINVAL;
	return hv_strv_push(target, arg);
}

static const hv_option options[] = {
	HV_OPT_STRING("socket", "PATH", &socket_path, "LoginServer's socket (default: its portal)"),
	HV_OPT_STRING("command", "CMD", &command,
		      "run CMD (/bin/sh -c CMD) as the session instead of\n"
		      "LoginServer's default, with this terminal / stdio"),
	HV_OPT_CUSTOM("env", "NAME=VALUE", add_env, &envs, "add to the session's environment (repeatable)"),
	{0},
};

struct greeter {
	hv_loop *loop;
	int exit_code;
	bool tty;
};

/* One line from stdin, without its newline; NULL at EOF. Echo off for a
 * secret prompt on a terminal. */
static char *read_answer(struct greeter *g, bool secret)
{
	struct termios old, quiet;
	bool restore = false;
	if (g->tty && secret && tcgetattr(0, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(0, TCSAFLUSH, &quiet) == 0;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (restore) {
		tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = '\0';
	return line;
}

static void on_prompt(lgn_conv *cv, lgn_prompt_kind kind, const char *text, void *ud)
{
	struct greeter *g = ud;
	if (kind == LGN_PROMPT_INFO || kind == LGN_PROMPT_ERROR) {
		fprintf(stderr, "%s\n", text);
		return;
	}
	if (g->tty) {
		fputs(text, stderr);
		fflush(stderr);
	}
	/* Blocking here is fine: a greeter has nothing else to do meanwhile. */
	char *answer = read_answer(g, kind == LGN_PROMPT_SECRET);
	if (!answer) {
		fprintf(stderr, "haven-login: no answer (end of input)\n");
		lgn_cancel(cv);
		g->exit_code = EXIT_FAILED;
		hv_loop_quit(g->loop, 0);
		return;
	}
	int r = lgn_answer(cv, answer);
	explicit_bzero(answer, strlen(answer));
	free(answer);
	if (r < 0) {
		fprintf(stderr, "haven-login: cannot answer: %s\n", strerror(-r));
		g->exit_code = EXIT_SERVICE;
		hv_loop_quit(g->loop, 0);
	}
}

static void on_authenticated(lgn_conv *cv, void *ud)
{
	struct greeter *g = ud;
	const char *sh[] = {"/bin/sh", "-c", command, NULL};
	const int stdio[3] = {0, 1, 2};
	int r = lgn_start_session(cv, command ? sh : NULL, (const char *const *)envs.v, stdio, 3);
	if (r < 0) {
		fprintf(stderr, "haven-login: cannot start the session: %s\n", strerror(-r));
		g->exit_code = EXIT_SERVICE;
		hv_loop_quit(g->loop, 0);
	}
}

static void on_failed(lgn_conv *cv, int code, const char *message, void *ud)
{
	struct greeter *g = ud;
	fprintf(stderr, "haven-login: %s\n", message);
	g->exit_code = code == LOGIN_SERVER_ERR_AUTH_FAILED || code == LOGIN_SERVER_ERR_INVALID_USER ||
				       code == LOGIN_SERVER_ERR_BUSY
			       ? EXIT_FAILED
			       : EXIT_SERVICE;
	hv_loop_quit(g->loop, 0);
}

static void on_session_started(lgn_conv *cv, int status, uint64_t session, const char *message,
			       void *ud)
{
	struct greeter *g = ud;
	if (status == 0)
		return;
	fprintf(stderr, "haven-login: the session did not start: %s\n", message);
	g->exit_code = status == LOGIN_SERVER_ERR_SESSION_FAILED ? EXIT_FAILED : EXIT_SERVICE;
	hv_loop_quit(g->loop, 0);
}

static void on_session_ended(lgn_conv *cv, uint64_t session, int exit_code, int signo, void *ud)
{
	struct greeter *g = ud;
	if (exit_code < 0 && signo == 0) {
		fprintf(stderr, "haven-login: lost LoginServer; the session's end is unknown\n");
		g->exit_code = EXIT_SERVICE;
	} else {
		g->exit_code = signo ? 128 + signo : exit_code;
	}
	hv_loop_quit(g->loop, 0);
}

static const lgn_conv_ops ops = {
	.prompt = on_prompt,
	.authenticated = on_authenticated,
	.failed = on_failed,
	.session_started = on_session_started,
	.session_ended = on_session_ended,
};

static const hv_option *const tables[] = {options, NULL};
static const hv_cmdline cmd = {
	.name = "haven-login",
	.args = "USER",
	.summary = "Log USER in through LoginServer: answer PAM's prompts from the terminal\n"
		   "(or one line of stdin each), then run the session on this terminal.\n"
		   "Exit: the session's status (128+N: signal N), 1 authentication failed\n"
		   "or the session did not start, 2 usage, 3 LoginServer unreachable.",
	.tables = tables,
	.min_args = 1,
	.max_args = 1,
};

static void usage(FILE *f) { hv_options_usage(&cmd, f); }

int main(int argc, char **argv)
{
	cli_init("haven-login", "LoginServer", usage);
	int first = 0;
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	struct greeter g = {.exit_code = EXIT_SERVICE, .tty = isatty(0)};
	if (hv_loop_new(&g.loop) < 0)
		return EXIT_SERVICE;
	lgn_client *cl = NULL;
	r = lgn_client_connect(g.loop, socket_path, &cl);
	if (r < 0) {
		fprintf(stderr, "haven-login: cannot reach LoginServer: %s\n", strerror(-r));
		hv_loop_free(g.loop);
		return EXIT_SERVICE;
	}
	lgn_conv *cv = NULL;
	r = lgn_begin(cl, argv[first], &ops, &g, &cv);
	if (r < 0)
		fprintf(stderr, "haven-login: cannot begin: %s\n", strerror(-r));
	else
		hv_loop_run(g.loop);
	lgn_conv_free(cv);
	lgn_client_free(cl);
	hv_loop_free(g.loop);
	hv_strv_clear(&envs);
	return g.exit_code;
}
