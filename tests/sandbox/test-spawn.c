/* tests/sandbox/test-spawn.c — the service-manager API: hv_sandbox_exec()
 * in a forked child starts a program with exactly its promises and unveils
 * (what SystemServer's Pledge=/ExecPledge=/Unveil= do), and
 * hv_sandbox_spec_check() rejects bad definitions before any fork. */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "haven/sandbox.h"
#include "sandbox-test.h"

static char helper[512], narrow[512];

/* Built with sanitizers, so sandbox-narrow is too (lib/sandbox then adds
 * what their runtime needs at start-up). */
#if !defined(HV_SANITIZER_BUILD) && defined(__SANITIZE_ADDRESS__)
#define HV_SANITIZER_BUILD 1
#endif
#ifndef HV_SANITIZER_BUILD
#define HV_SANITIZER_BUILD 0
#endif

struct spawn {
	hv_sandbox_spec spec;
	const char *mode, *arg, *arg2;
	bool narrow;	/* run sandbox-narrow (else sandbox-helper) */
	hv_sandbox_prepared *ps; /* set by run(): hv_sandbox_exec_prepared() */
};

/* Every case runs twice: hv_sandbox_exec() in the child, then the same
 * spec prepared in the parent and applied by hv_sandbox_exec_prepared()
 * (what SystemServer does per definition). */
static bool prepared_mode;

static const char *program_of(const struct spawn *s)
{
	bool use_narrow = s->narrow || strcmp(s->mode, "narrow") == 0 || strcmp(s->mode, "widen") == 0;
	return use_narrow ? narrow : helper;
}

static int spawn_child(void *p)
{
	struct spawn *s = p;
	const char *prog = program_of(s);
	char *argv[] = {(char *)prog, (char *)s->mode, (char *)s->arg, (char *)s->arg2, NULL};
	/* No disable_coredump=0: ASan's start-up prlimit64 must pass as is.
	 * LeakSanitizer's exit check needs ptrace, which no promise allows. */
	char *envp[6] = {"PATH=/usr/bin:/bin", "ASAN_OPTIONS=detect_leaks=0", NULL};
	int r;
	if (s->ps) {
		size_t n = 2;
		for (const char *const *v = hv_sandbox_prepared_env(s->ps); *v; v++)
			envp[n++] = (char *)*v;
		envp[n] = NULL;
		r = hv_sandbox_exec_prepared(s->ps, hv_sandbox_prepared_ruleset(s->ps), argv, envp, -1);
	} else {
		r = hv_sandbox_exec(&s->spec, prog, argv, envp);
	}
	return r == -EACCES ? 40 : 41;
}

static int run(struct spawn *s, char *err, size_t size)
{
	s->ps = NULL;
	if (prepared_mode) {
		/* The pin is the pointer: the child execs program_of(s) too. */
		int r = hv_sandbox_prepare(&s->spec, program_of(s), false, &s->ps);
		if (r == -EOPNOTSUPP && HV_SANITIZER_BUILD)
			s->ps = NULL; /* sanitizer build with Unveil=: per child */
		else if (r < 0)
			return snprintf(err, size, "hv_sandbox_prepare: %s", strerror(-r)), 1000;
	}
	int st = run_child(spawn_child, s, err, size);
	hv_sandbox_prepared_free(s->ps);
	s->ps = NULL;
	return st;
}

static int cases(void);
static void prepared_checks(void);

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s HELPER NARROW\n", argv[0]);
		return 2;
	}
	snprintf(helper, sizeof(helper), "%s", argv[1]);
	snprintf(narrow, sizeof(narrow), "%s", argv[2]);
	for (int mode = 0; mode < 2; mode++) {
		prepared_mode = mode;
		int before = check_failures;
		if (cases() < 0)
			return 1;
		printf("%s: %d failure(s)\n", mode ? "prepared" : "per child", check_failures - before);
	}
	prepared_checks();
	test_tmpdir_cleanup();
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}

static int cases(void)
{
	char err[2048];
	int st;

	/* Pledge= only. */
	struct spawn s = {.spec = {.promises = "stdio rpath"}, .mode = "promises"};
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 0, "promises: got %d: %s", st, err);
	CHECK_MSG(strstr(err, "HAVEN_PLEDGE=stdio rpath"), "the program should be told its promises: %s", err);
	s.mode = "socket";
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == -SIGSYS, "forbidden call in the started program: got %d: %s", st, err);
	s.mode = "exec"; /* no exec promise: only the one pinned execve was allowed */
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == -SIGSYS, "exec without the exec promise: got %d: %s", st, err);
	s.spec.promises = "stdio rpath exec";
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 0, "exec with the exec promise: got %d: %s", st, err);

	/* A program started under Pledge= narrows itself with hv_pledge()
	 * (which installs its SIGSYS reporter) without needing "sigaction". */
	s = (struct spawn){.spec = {.promises = "stdio rpath inet"}, .mode = "narrow"};
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == -SIGSYS && strstr(err, "pledge: system call socket ("),
	      "self-narrowing under Pledge=: got %d: %s", st, err);

	s.mode = "widen";
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 0 && strstr(err, "promise \"unix\" not held"), "widening under Pledge=: got %d: %s", st, err);

	/* Narrowing under Pledge= needs neither "sigaction" nor "unveil":
	 * plain narrowing that keeps running, ... */
	s = (struct spawn){.spec = {.promises = "stdio rpath"}, .mode = "run", .narrow = true};
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 0 && strstr(err, "narrowed to stdio"), "narrow to stdio under Pledge=stdio rpath: got %d: %s", st, err);
	/* ... under Pledge= + Unveil= (Landlock already in place) ... */
	const char *unveil_tmp[] = {"/tmp:r", NULL};
	s.spec.unveils = unveil_tmp;
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 0 && strstr(err, "narrowed to stdio"), "narrow under Pledge= and Unveil=: got %d: %s", st, err);
	/* ... its own hv_unveil() then hv_pledge() without "unveil" ... */
	s = (struct spawn){.spec = {.promises = "stdio rpath"}, .mode = "unveil", .arg = test_tmpdir(),
			   .arg2 = "/etc/passwd", .narrow = true};
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 0, "hv_unveil + hv_pledge under Pledge=stdio rpath: got %d: %s", st, err);
	/* ... and a program exec'd by a pledged one (whose filter traps, so
	 * SIGSYS handlers are refused there): it narrows again. */
	s = (struct spawn){.spec = {.promises = "stdio rpath exec"}, .mode = "exec-narrow", .narrow = true};
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 0 && strstr(err, "narrowed to stdio"), "narrow after hv_execve from a pledged program: got %d: %s",
	      st, err);
	s.arg = ""; /* ...and what it dropped still kills */
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == -SIGSYS, "violation after hv_execve + narrowing: got %d: %s", st, err);

	/* Sanitizer builds: a sanitized program starts under Pledge= (ASan's
	 * start-up call is allowed: the "run" cases above), and the relaxation
	 * is exactly RLIMIT_CORE on itself, nothing else. */
	s = (struct spawn){.spec = {.promises = "stdio rpath"}, .mode = "core", .narrow = true};
	st = run(&s, err, sizeof(err));
	if (HV_SANITIZER_BUILD)
		CHECK_MSG(st == 0, "sanitizer build: setrlimit(RLIMIT_CORE) should be allowed: got %d: %s", st, err);
	else
		CHECK_MSG(st == -SIGSYS, "setrlimit(RLIMIT_CORE) is outside stdio: got %d: %s", st, err);
	s.mode = "nofile";
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == -SIGSYS, "setrlimit(RLIMIT_NOFILE) is outside stdio in every build: got %d: %s", st, err);

	/* debug: EPERM instead of death. */
	s = (struct spawn){.spec = {.promises = "stdio rpath", .debug = true}, .mode = "eperm"};
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 0, "debug: forbidden call should fail with EPERM: got %d: %s", st, err);

	/* Unveil= with Pledge=: the program (and its loader) is added by
	 * itself; what it reads must be unveiled. */
	char file[600], file_r[640];
	snprintf(file, sizeof(file), "%s/readable-%d", test_tmpdir(), getpid());
	snprintf(file_r, sizeof(file_r), "%s:r", file);
	FILE *f = fopen(file, "w");
	if (!f || fputs("x\n", f) < 0 || fclose(f) != 0) {
		perror(file);
		return -1;
	}
	const char *unveils[] = {file_r, NULL};
	s = (struct spawn){.spec = {.promises = "stdio rpath", .unveils = unveils}, .mode = "read", .arg = file};
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 0, "unveil + pledge: reading an unveiled file: got %d: %s", st, err);
	s.arg = "/etc/passwd";
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 13, "unveil + pledge: reading a hidden file should be EACCES: got %d: %s", st, err);
	/* An empty Unveil= list hides everything but the program's own needs. */
	const char *none[] = {NULL};
	s.spec.unveils = none;
	s.arg = file;
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 13, "empty unveil list: the file should be hidden: got %d: %s", st, err);
	/* bare_unveil: not even the program. */
	s.spec.bare_unveil = true;
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 40, "bare empty unveil list: exec should be refused (EACCES): got %d: %s", st, err);
	/* ExecPledge= alone reaches the program's environment. */
	s = (struct spawn){.spec = {.execpromises = "stdio"}, .mode = "promises"};
	st = run(&s, err, sizeof(err));
	CHECK_MSG(st == 0 && strstr(err, "HAVEN_PLEDGE=(unset)") && strstr(err, "HAVEN_EXECPLEDGE=stdio\n"), "ExecPledge alone: got %d: %s", st, err);

	/* Definitions are checked before forking. */
	CHECK_MSG(hv_sandbox_spec_check(&(hv_sandbox_spec){.promises = "stdio bogus"}) == -EINVAL, "bad promise");
	CHECK_MSG(hv_sandbox_spec_check(&(hv_sandbox_spec){.promises = "stdio", .execpromises = "stdio inet"}) == -EINVAL,
	      "execpromises beyond promises");
	CHECK_MSG(hv_sandbox_spec_check(&(hv_sandbox_spec){.unveils = (const char *const[]){"/tmp:rq", NULL}}) == -EINVAL,
	      "bad unveil perms");
	CHECK_MSG(hv_sandbox_spec_check(&(hv_sandbox_spec){.unveils = (const char *const[]){"/tmp", NULL}}) == -EINVAL,
	      "unveil without perms");
	CHECK_MSG(hv_sandbox_spec_check(&(hv_sandbox_spec){.promises = "stdio rpath", .execpromises = "stdio",
						      .unveils = unveils}) == 0,
	      "good spec");

	return 0;
}

/* What only preparation does: the child's pid written into the program
 * (signals to itself pass, in two children of one prepared sandbox, so
 * the second one's pid replaced the first's), and a missing Unveil= path
 * refused at preparation. */
static void prepared_checks(void)
{
	char err[2048];
	struct spawn s = {.spec = {.promises = "stdio rpath"}, .mode = "self"};
	int st = run_child(spawn_child, &s, err, sizeof(err));
	CHECK_MSG(st == 0, "per child: signals to itself under stdio: got %d: %s", st, err);
	int r = hv_sandbox_prepare(&s.spec, program_of(&s), false, &s.ps);
	CHECK_MSG(r == 0, "prepare: %s", strerror(-r));
	if (r < 0)
		return;
	for (int i = 0; i < 2; i++) {
		st = run_child(spawn_child, &s, err, sizeof(err));
		CHECK_MSG(st == 0, "prepared, child %d: signals to itself under stdio: got %d: %s", i, st, err);
	}
	s.mode = "socket"; /* and the program still refuses what it should */
	st = run_child(spawn_child, &s, err, sizeof(err));
	CHECK_MSG(st == -SIGSYS, "prepared: a forbidden call: got %d: %s", st, err);
	hv_sandbox_prepared_free(s.ps);

	const char *missing[] = {"/nonexistent/hv-prepare:r", NULL};
	hv_sandbox_prepared *ps = NULL;
	r = hv_sandbox_prepare(&(hv_sandbox_spec){.promises = "stdio rpath", .unveils = missing}, helper, false, &ps);
	CHECK_MSG(r == (HV_SANITIZER_BUILD ? -EOPNOTSUPP : -ENOENT), "prepare with a missing path: %d", r);
	hv_sandbox_prepared_free(ps);
	/* ... and what it collected was forgotten: a later preparation sees
	 * only its own rules (the file readable, nothing left over). */
	st = run(&(struct spawn){.spec = {.promises = "stdio rpath"}, .mode = "read", .arg = "/etc/passwd"}, err,
		 sizeof(err));
	CHECK_MSG(st == 0, "no leftover unveil after a failed preparation: got %d: %s", st, err);
}
