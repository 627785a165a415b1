/* tests/sandbox/test-spawn.c — the service-manager API: hv_sandbox_exec()
 * in a forked child starts a program with exactly its promises and unveils
 * (what SystemServer's Pledge=/ExecPledge=/Unveil= do), and
 * hv_sandbox_spec_check() rejects bad definitions before any fork. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "haven/sandbox.h"
#include "sandbox-test.h"

static char helper[512];

struct spawn {
	hv_sandbox_spec spec;
	const char *mode;
};

static int spawn_child(void *p)
{
	struct spawn *s = p;
	char *argv[] = {helper, (char *)s->mode, NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	int r = hv_sandbox_exec(&s->spec, helper, argv, envp);
	return r == -EACCES ? 40 : 41;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s HELPER\n", argv[0]);
		return 2;
	}
	snprintf(helper, sizeof(helper), "%s", argv[1]);
	/* The helper's directory, so a Landlock'd child can exec it. */
	char dir[512], dir_rx[600];
	snprintf(dir, sizeof(dir), "%s", helper);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	snprintf(dir_rx, sizeof(dir_rx), "%s:rx", slash ? dir : ".");

	char err[2048];
	int st;

	/* Pledge= only. */
	struct spawn s = {.spec = {.promises = "stdio rpath"}, .mode = "promises"};
	st = run_child(spawn_child, &s, err, sizeof(err));
	CHECK(st == 0, "promises: got %d: %s", st, err);
	CHECK(strstr(err, "HAVEN_PLEDGE=stdio rpath"), "the program should be told its promises: %s", err);
	s.mode = "socket";
	st = run_child(spawn_child, &s, err, sizeof(err));
	CHECK(st == -SIGSYS, "forbidden call in the started program: got %d: %s", st, err);
	s.mode = "exec"; /* no exec promise: only the one pinned execve was allowed */
	st = run_child(spawn_child, &s, err, sizeof(err));
	CHECK(st == -SIGSYS, "exec without the exec promise: got %d: %s", st, err);
	s.spec.promises = "stdio rpath exec";
	st = run_child(spawn_child, &s, err, sizeof(err));
	CHECK(st == 0, "exec with the exec promise: got %d: %s", st, err);

	/* debug: EPERM instead of death. */
	s = (struct spawn){.spec = {.promises = "stdio rpath", .debug = true}, .mode = "eperm"};
	st = run_child(spawn_child, &s, err, sizeof(err));
	CHECK(st == 0, "debug: forbidden call should fail with EPERM: got %d: %s", st, err);

	/* Unveil= with Pledge=. */
	const char *unveils[] = {"/usr:rx", "/etc:r", dir_rx, NULL};
	s = (struct spawn){.spec = {.promises = "stdio rpath", .unveils = unveils}, .mode = "promises"};
	st = run_child(spawn_child, &s, err, sizeof(err));
	CHECK(st == 0, "unveil + pledge: got %d: %s", st, err);
	/* An empty Unveil= list hides everything: not even the program is there. */
	const char *none[] = {NULL};
	s.spec.unveils = none;
	st = run_child(spawn_child, &s, err, sizeof(err));
	CHECK(st == 40, "empty unveil list: exec should be refused (EACCES): got %d: %s", st, err);

	/* Definitions are checked before forking. */
	CHECK(hv_sandbox_spec_check(&(hv_sandbox_spec){.promises = "stdio bogus"}) == -EINVAL, "bad promise");
	CHECK(hv_sandbox_spec_check(&(hv_sandbox_spec){.promises = "stdio", .execpromises = "stdio inet"}) == -EINVAL,
	      "execpromises beyond promises");
	CHECK(hv_sandbox_spec_check(&(hv_sandbox_spec){.unveils = (const char *const[]){"/tmp:rq", NULL}}) == -EINVAL,
	      "bad unveil perms");
	CHECK(hv_sandbox_spec_check(&(hv_sandbox_spec){.unveils = (const char *const[]){"/tmp", NULL}}) == -EINVAL,
	      "unveil without perms");
	CHECK(hv_sandbox_spec_check(&(hv_sandbox_spec){.promises = "stdio rpath", .execpromises = "stdio",
						      .unveils = unveils}) == 0,
	      "good spec");

	if (test_failures) {
		fprintf(stderr, "%d failure(s)\n", test_failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
