/* tests/sandbox/sandbox-helper.c — a program the tests exec under promises:
 *   promises  print HAVEN_PLEDGE (what it was told it holds) to stderr, exit 0
 *   socket    create an inet socket (exit 0 if allowed)
 *   exec      exec /bin/true (exit 0 if allowed)
 *   eperm     create an inet socket, exit 0 if it fails with EPERM (debug)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc < 2 ? stderr : stdout, "usage: sandbox-helper promises|socket|exec|eperm\n");
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "promises") == 0) {
		const char *p = getenv("HAVEN_PLEDGE");
		fprintf(stderr, "HAVEN_PLEDGE=%s\n", p ? p : "(unset)");
		return 0;
	}
	if (strcmp(argv[1], "socket") == 0)
		return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1;
	if (strcmp(argv[1], "eperm") == 0)
		return socket(AF_INET, SOCK_STREAM, 0) < 0 && errno == EPERM ? 0 : 1;
	if (strcmp(argv[1], "exec") == 0) {
		execl("/bin/true", "true", (char *)NULL);
		return 1;
	}
	fprintf(stderr, "sandbox-helper: unknown mode %s\n", argv[1]);
	return 2;
}
