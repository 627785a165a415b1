/* tests/sandbox/sandbox-helper.c — a program the tests exec under promises:
 *   promises  print HAVEN_PLEDGE and HAVEN_EXECPLEDGE (what it was told) to stderr
 *   socket    create an inet socket (exit 0 if allowed)
 *   exec      exec /bin/true (exit 0 if allowed)
 *   eperm     create an inet socket, exit 0 if it fails with EPERM (debug)
 *   read PATH open PATH for reading: exit 0, or 13 if refused (EACCES)
 *   self      signal itself (kill and tgkill, as raise() and abort() do)
 */
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc < 2 ? stderr : stdout, "usage: sandbox-helper promises|socket|exec|eperm|self|read PATH\n");
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "promises") == 0) {
		const char *p = getenv("HAVEN_PLEDGE"), *e = getenv("HAVEN_EXECPLEDGE");
		fprintf(stderr, "HAVEN_PLEDGE=%s\nHAVEN_EXECPLEDGE=%s\n", p ? p : "(unset)", e ? e : "(unset)");
		return 0;
	}
	if (strcmp(argv[1], "socket") == 0)
		return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1;
	if (strcmp(argv[1], "eperm") == 0)
		return socket(AF_INET, SOCK_STREAM, 0) < 0 && errno == EPERM ? 0 : 1;
	if (strcmp(argv[1], "read") == 0 && argc > 2) {
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		return fd >= 0 ? 0 : errno == EACCES ? 13 : 1;
	}
	if (strcmp(argv[1], "self") == 0) {
		signal(SIGUSR1, SIG_IGN);
		return kill(getpid(), SIGUSR1) == 0 && syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1) == 0 ? 0 : 1;
	}
	if (strcmp(argv[1], "exec") == 0) {
		execl("/bin/true", "true", (char *)NULL);
		return 1;
	}
	fprintf(stderr, "sandbox-helper: unknown mode %s\n", argv[1]);
	return 2;
}
