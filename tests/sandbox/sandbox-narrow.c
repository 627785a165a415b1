/* tests/sandbox/sandbox-narrow.c — a service-like program started under
 * Pledge= that narrows itself with hv_pledge("stdio") (installing lib/sandbox's
 * SIGSYS reporter), then makes a call it dropped: it must die of SIGSYS
 * with the reporter's log line. With "widen", asks for a promise the manager
 * did not grant: must get -EPERM. Built like the rest of Haven (sanitizers
 * included), unlike sandbox-helper. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "haven/sandbox.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("usage: sandbox-narrow (test program: narrows to stdio, then violates it)\n");
		return 0;
	}
	/* "widen": the manager's HAVEN_PLEDGE tells the library what is held,
	 * so asking for more is a clean -EPERM, not a SIGSYS later. */
	if (argc > 1 && strcmp(argv[1], "widen") == 0)
		return hv_pledge("stdio unix", NULL) == -EPERM ? 0 : 5;
	if (hv_pledge("stdio", NULL) < 0)
		return 3;
	socket(AF_INET, SOCK_STREAM, 0);
	return 4;
}
