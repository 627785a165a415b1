/* tests/sandbox/sandbox-narrow.c — a service-like program started under
 * Pledge= (by hv_sandbox_exec), built like the rest of Haven (sanitizers
 * included in the ASan build, unlike sandbox-helper). Modes:
 *   (none)          hv_pledge("stdio") (installs lib/sandbox's SIGSYS
 *                   reporter), then a call it dropped: must die of SIGSYS
 *                   with the reporter's line
 *   widen           ask for a promise the manager did not grant: -EPERM → 0
 *   run             hv_pledge("stdio"), then ordinary work: 0
 *   unveil DIR FILE hv_unveil(DIR, "r") + hv_pledge("stdio rpath") without the
 *                   "unveil" promise; FILE (outside DIR) must be EACCES: 0
 *   exec-narrow [M] hv_pledge("stdio rpath exec", "stdio rpath"), then
 *                   hv_execve() itself in mode M ("run": must narrow again
 *                   under this trapping filter, 0; "": must still die of
 *                   SIGSYS at the dropped call)
 *   core            setrlimit(RLIMIT_CORE, 0): 0 if allowed
 *   nofile          setrlimit(RLIMIT_NOFILE, unchanged): 0 if allowed
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "haven/sandbox.h"

extern char **environ;

static int run(void)
{
	int r = hv_pledge("stdio", NULL);
	if (r < 0) {
		fprintf(stderr, "hv_pledge(\"stdio\"): %s\n", strerror(-r));
		return 3;
	}
	/* Memory, time, I/O on held fds: what a narrowed service does. */
	char *p = malloc(1 << 20);
	if (!p)
		return 4;
	memset(p, 1, 1 << 20);
	free(p);
	fprintf(stderr, "narrowed to stdio\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "--help") == 0) {
		printf("usage: sandbox-narrow [widen|run|unveil DIR FILE|exec-narrow [MODE]|core|nofile]\n"
		       "(test program: narrows itself under Pledge=, see the source)\n");
		return 0;
	}
	/* "widen": the manager's HAVEN_PLEDGE tells the library what is held,
	 * so asking for more is a clean -EPERM, not a SIGSYS later. */
	if (strcmp(mode, "widen") == 0)
		return hv_pledge("stdio unix", NULL) == -EPERM ? 0 : 5;
	if (strcmp(mode, "run") == 0)
		return run();
	if (strcmp(mode, "unveil") == 0 && argc > 3) {
		int r = hv_unveil(argv[2], "r");
		if (r < 0)
			return 6;
		if ((r = hv_pledge("stdio rpath", NULL)) < 0)
			return 7;
		int fd = open(argv[3], O_RDONLY | O_CLOEXEC);
		return fd < 0 && errno == EACCES ? 0 : 8;
	}
	if (strcmp(mode, "exec-narrow") == 0) {
		if (hv_pledge("stdio rpath exec", "stdio rpath") < 0)
			return 9;
		char *args[] = {argv[0], argc > 2 ? argv[2] : "run", NULL};
		hv_execve(argv[0], args, environ);
		return 10;
	}
	if (strcmp(mode, "core") == 0)
		return setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0}) == 0 ? 0 : 11;
	if (strcmp(mode, "nofile") == 0) {
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return 12;
		return setrlimit(RLIMIT_NOFILE, &rl) == 0 ? 0 : 13;
	}
	if (hv_pledge("stdio", NULL) < 0)
		return 3;
	socket(AF_INET, SOCK_STREAM, 0);
	return 4;
}
