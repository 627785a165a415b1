/* test-echo-client.c — echo-client end to end against a real EchoServer:
 * results, exit codes (0 done, 1 failure, 2 usage) and messages.
 *
 * Usage: test-echo-client PATH-TO-EchoServer PATH-TO-echo-client
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"

static const char *server_path, *client_path;

static int run_client(char *out, size_t size, char *env, ...)
{
	char *argv[16] = {(char *)client_path};
	int n = 1;
	va_list ap;
	va_start(ap, env);
	for (char *a; n < 15 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	char *envs[] = {env, NULL};
	return run_capture(argv, env ? envs : NULL, out, size);
}

static void test_usage(void)
{
	char out[8192];
	REQUIRE_EQ(run_client(out, sizeof out, NULL, "--help", NULL), 0);
	REQUIRE(strstr(out, "Usage: echo-client"));
	static const char *const bad[][2] = {
		{"--count", "0"},  {"--count", "abc"}, {"--count", "-3"},
		{"--size", "-1"},  {"--size", "1e3"},  {"--size", "99999999999"},
		{"--frobnicate", NULL}, {"stray", NULL},
	};
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad); i++) {
		REQUIRE_EQ(run_client(out, sizeof out, NULL, bad[i][0], bad[i][1], NULL), 2);
		REQUIRE(strstr(out, "Usage: echo-client"));
	}
	char *missing_arg[] = {(char *)client_path, "--socket", NULL};
	REQUIRE_EQ(run_capture(missing_arg, NULL, out, sizeof out), 2);
}

static void test_against_server(void)
{
	char out[8192];
	echo_fixture f;
	echo_fixture_start(&f, server_path, false);

	REQUIRE_EQ(run_client(out, sizeof out, NULL, "--count", "20", "--size", "1000", "--socket",
			    f.sock, NULL),
		 0);
	REQUIRE(strstr(out, "20 Echo calls of 1000 bytes"));
	REQUIRE(strstr(out, "20000 bytes each way"));

	REQUIRE_EQ(run_client(out, sizeof out, NULL, "--size", "0", "--socket", f.sock, NULL), 0);
	REQUIRE(strstr(out, "1 Echo call of 0 bytes"));

	REQUIRE_EQ(run_client(out, sizeof out, NULL, "-n", "3", "-s", "1048576", "-S", f.sock, NULL),
		 0);
	REQUIRE(strstr(out, "3 Echo calls of 1048576 bytes"));

	/* The default is the "echo" portal. */
	char env[200];
	snprintf(env, sizeof env, "HAVEN_PORTAL_DIR=%s", f.dir);
	REQUIRE_EQ(run_client(out, sizeof out, env, "--count", "2", NULL), 0);
	REQUIRE(strstr(out, "2 Echo calls of 64 bytes"));

	/* The server goes away in the middle of a long run: whether the client
	 * was still connecting or mid-call, it says so and exits 1. */
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char *argv[] = {(char *)client_path, "--count", "10000000", "--socket", f.sock, NULL};
		int r = run_capture(argv, NULL, out, sizeof out);
		if (r != 1 || !strstr(out, "echo-client: ")) {
			fprintf(stderr, "unexpected: exit %d, output: %s\n", r, out);
			_exit(1);
		}
		_exit(0);
	}
	/* Let it run a while; the assertions hold whatever the timing. */
	usleep(200 * 1000);
	echo_fixture_stop(&f);
	int status;
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* No server at all. */
	REQUIRE_EQ(run_client(out, sizeof out, NULL, "--socket", f.sock, NULL), 1);
	REQUIRE(strstr(out, "cannot connect"));
	REQUIRE_EQ(run_client(out, sizeof out, "HAVEN_PORTAL_DIR=/nonexistent", NULL), 1);
	REQUIRE(strstr(out, "/nonexistent/echo"));
}

int main(int argc, char **argv)
{
	REQUIRE_EQ(argc, 3);
	server_path = argv[1];
	client_path = argv[2];
	test_usage();
	test_against_server();
	printf("test-echo-client: ok\n");
	return 0;
}
