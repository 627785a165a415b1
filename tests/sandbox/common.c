/* tests/sandbox/common.c — fork/capture helper and temp dir for the tests. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox-test.h"

static char tmpdir[64];

const char *test_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/hv-sandbox-XXXXXX");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(1);
		}
	}
	return tmpdir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void test_tmpdir_cleanup(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int run_child(child_fn fn, void *arg, char *err, size_t errsize)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("pipe");
		exit(1);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		/* _exit: no atexit work (LeakSanitizer's ptrace) in a sandbox. */
		_exit(fn(arg));
	}
	close(p[1]);
	size_t used = 0;
	for (;;) {
		char buf[512];
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n;
		if (err && used + 1 < errsize) {
			if (take > errsize - 1 - used)
				take = errsize - 1 - used;
			memcpy(err + used, buf, take);
			used += take;
		}
	}
	if (err && errsize)
		err[used] = '\0';
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("waitpid");
			exit(1);
		}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}
