/* test_cli.c — the `config` command against a real ConfigServer: every
 * command, exit codes (0 done, 1 absent or failed, 2 usage), error
 * messages, atomic `batch`, and `watch` printing one line per change.
 *
 *   test-config-cli CONFIGSERVER CONFIG
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "ConfigServer.ipc.h"
#include "check.h"
#include "service.h"

static svc_fixture fx;
static const char *cli;
static char out[65536];

/* argv with stdin_text (NULL: /dev/null) on stdin; its stdout, then its
 * stderr, into out. Returns the exit status (-1: killed). */
static int run_capture(char *const argv[], const char *stdin_text, char *buf, size_t size)
{
	static char err[4096];
	int in = -1;
	if (stdin_text) {
		in = memfd_create("stdin", MFD_CLOEXEC);
		REQUIRE(in >= 0);
		REQUIRE_EQ(hv_write_full(in, stdin_text, strlen(stdin_text)), 0);
		REQUIRE_EQ(lseek(in, 0, SEEK_SET), 0);
	}
	int st = run_cmd(argv, in, buf, size, err, sizeof(err));
	if (in >= 0)
		close(in);
	size_t len = strlen(buf);
	snprintf(buf + len, size - len, "%s", err);
	return st;
}

/* config --socket SOCK args... (NULL-terminated), stdin from `in`. */
static int run(const char *in, ...)
{
	char *argv[16] = {(char *)cli, "--socket", fx.sock};
	int n = 3;
	va_list ap;
	va_start(ap, in);
	for (char *a; n < 15 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return run_capture(argv, in, out, sizeof(out));
}

static void test_usage(void)
{
	char *help[] = {(char *)cli, "--help", NULL};
	CHECK_EQ(run_capture(help, NULL, out, sizeof(out)), 0);
	CHECK(strstr(out, "Usage: config") != NULL);
	char *none[] = {(char *)cli, NULL};
	CHECK_EQ(run_capture(none, NULL, out, sizeof(out)), 2);
	CHECK_EQ(run(NULL, "get", "D", "G", NULL), 2);
	CHECK_EQ(run(NULL, "frob", "D", NULL), 2);
	CHECK_EQ(run(NULL, "--bogus", "get", "D", "G", "K", NULL), 2);
	CHECK_EQ(run(NULL, "get", "D", "G", "K", "--type", "float", NULL), 2);
	CHECK_EQ(run(NULL, "set", "D", "G", "K", "abc", "--type", "i32", NULL), 2);
	CHECK(strstr(out, "not an i32") != NULL);
	char *unreachable[] = {(char *)cli, "--socket", "/nonexistent/config", "get", "D", "G", "K",
			       NULL};
	CHECK_EQ(run_capture(unreachable, NULL, out, sizeof(out)), 1);
	CHECK(strstr(out, "cannot reach ConfigServer") != NULL);
}

static void test_commands(void)
{
	CHECK_EQ(run(NULL, "set", "Cli", "Window", "title", "two words; and more", NULL), 0);
	CHECK_EQ(run(NULL, "get", "Cli", "Window", "title", NULL), 0);
	CHECK_STR(out, "two words; and more\n");
	CHECK_EQ(run(NULL, "get", "Cli", "Window", "absent", NULL), 1);
	CHECK_STR(out, "");
	CHECK_EQ(run(NULL, "set", "Cli", "Window", "x", "-5", "--type", "i32", NULL), 0);
	CHECK_EQ(run(NULL, "get", "Cli", "Window", "x", "--type", "i32", NULL), 0);
	CHECK_STR(out, "-5\n");
	CHECK_EQ(run(NULL, "set", "Cli", "Window", "shown", "true", "--type", "bool", NULL), 0);
	CHECK_EQ(run(NULL, "get", "Cli", "Window", "shown", "--type", "bool", NULL), 0);
	CHECK_STR(out, "true\n");
	CHECK_EQ(run(NULL, "get", "Cli", "Window", "title", "--type", "u32", NULL), 1);
	CHECK(strstr(out, "not a u32") != NULL);

	CHECK_EQ(run(NULL, "list", "Cli", "Window", NULL), 0);
	CHECK_STR(out, "title=two words; and more\nx=-5\nshown=true\n");
	CHECK_EQ(run(NULL, "add", "Cli", "Empty", NULL), 0);
	CHECK_EQ(run(NULL, "list", "Cli", NULL), 0);
	CHECK_STR(out, "Window\nEmpty\n");
	CHECK_EQ(run(NULL, "rm", "Cli", "Window", "x", NULL), 0);
	CHECK_EQ(run(NULL, "get", "Cli", "Window", "x", NULL), 1);
	CHECK_EQ(run(NULL, "rm", "Cli", "Empty", NULL), 0);
	CHECK_EQ(run(NULL, "list", "Cli", NULL), 0);
	CHECK_STR(out, "Window\n");

	/* Bad input: a clear message, exit 1. */
	CHECK_EQ(run(NULL, "set", "../../etc", "G", "k", "v", NULL), 1);
	CHECK(strstr(out, "invalid domain name") != NULL);
	CHECK_EQ(run(NULL, "set", "Cli", "G", "k=v", "v", NULL), 1);
	CHECK(strstr(out, "[ ] = : ; #") != NULL);
}

static void test_batch(void)
{
	CHECK_EQ(run("set G a 1\nset G b two  words\nadd Empty\n# comment\n", "batch", "Batch",
			 NULL),
		     0);
	CHECK_EQ(run(NULL, "list", "Batch", "G", NULL), 0);
	CHECK_STR(out, "a=1\nb=two  words\n");
	/* One bad operation: none applied. */
	CHECK_EQ(run("set G a 2\nset G c 3\nset G bad;key 4\n", "batch", "Batch", NULL), 1);
	CHECK_EQ(run(NULL, "list", "Batch", "G", NULL), 0);
	CHECK_STR(out, "a=1\nb=two  words\n");
	/* A line that is not an operation: usage error, nothing sent. */
	CHECK_EQ(run("set G a 5\nfrobnicate\n", "batch", "Batch", NULL), 2);
	CHECK(strstr(out, "stdin:2:") != NULL);
	CHECK_EQ(run(NULL, "get", "Batch", "G", "a", NULL), 0);
	CHECK_STR(out, "1\n");
	CHECK_EQ(run("rm G b\nrm Empty\n", "batch", "Batch", NULL), 0);
	CHECK_EQ(run(NULL, "list", "Batch", NULL), 0);
	CHECK_STR(out, "G\n");
}

/* Read one line from fd, waiting at most timeout_ms (only against hangs). */
static bool read_line(int fd, char *line, size_t size, int timeout_ms)
{
	size_t n = 0;
	while (n + 1 < size) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, timeout_ms) != 1)
			return false;
		char c;
		if (read(fd, &c, 1) != 1)
			return false;
		if (c == '\n')
			break;
		line[n++] = c;
	}
	line[n] = '\0';
	return true;
}

static void test_watch(void)
{
	int p[2];
	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		execl(cli, cli, "--socket", fx.sock, "watch", "Watched", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	hv_conn *c = svc_connect(&fx);
	/* Handshake: `watch` is ready once it reports a probe write; until then
	 * probes may go unseen, so write new ones until one shows. */
	char line[512];
	bool ready = false;
	for (int i = 0; i < 300 && !ready; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%d", i);
		CHECK_EQ(config_server_write_string_value(c, "Watched", "Probe", "n", v), 0);
		while (!ready && read_line(p[0], line, sizeof(line), 200))
			ready = strncmp(line, "changed Probe n ", 16) == 0;
	}
	CHECK(ready);
	/* Drain the probes' other lines (the first one added the group). */
	CHECK_EQ(config_server_write_string_value(c, "Watched", "Probe", "n", "last"), 0);
	while (read_line(p[0], line, sizeof(line), 60000) && strcmp(line, "changed Probe n last"))
		;
	CHECK_EQ(config_server_write_string_value(c, "Watched", "G", "k", "multi\nline"), 0);
	CHECK_EQ(config_server_write_u32_value(c, "Watched", "G", "n", 7), 0);
	CHECK_EQ(config_server_remove_key_entry(c, "Watched", "G", "k"), 0);
	CHECK_EQ(config_server_remove_group_entry(c, "Watched", "G"), 0);
	CHECK_EQ(config_server_write_string_value(c, "Elsewhere", "G", "k", "unseen"), 0);
	const char *expect[] = {"added-group G", "changed G k multi\\nline", "changed G n 7",
				"removed-key G k", "removed-group G"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(expect); i++) {
		CHECK(read_line(p[0], line, sizeof(line), 60000));
		CHECK_STR(line, expect[i]);
	}
	hv_conn_close(c);
	kill(pid, SIGINT);
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(p[0]);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CONFIGSERVER CONFIG\n", argv[0]);
		return 2;
	}
	cli = argv[2];
	hv_log_set_level(HV_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	if (!getenv("HAVEN_LOG"))
		setenv("HAVEN_LOG", "error", 1); /* the server's own log: errors only */
	/* Settings in $XDG_CONFIG_HOME/haven (svc_start's), no defaults. */
	static const char *const args[] = {"--defaults", "/nonexistent/haven-defaults", NULL};
	svc_start(&fx, argv[1], "config", args);

	test_usage();
	test_commands();
	test_batch();
	test_watch();

	svc_stop(&fx);
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}
