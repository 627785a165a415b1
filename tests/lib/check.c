/* check.c — the failure count behind CHECK* (see check.h). */
#include "check.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

int check_failures;

int check_result(void)
{
	if (!check_failures)
		return 0;
	fprintf(stderr, "%d check(s) failed\n", check_failures);
	return 1;
}

void check_in_mount_namespace(const char *what, void (*fn)(void))
{
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
			fprintf(stderr, "%s: skipped, no mount namespace here: %s\n", what,
				strerror(errno));
			_exit(77);
		}
		check_failures = 0; /* the parent counts its own */
		fn();
		_exit(check_result());
	}
	int status;
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		return;
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed (status %#x)", what,
		  status);
}
