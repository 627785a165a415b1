/* tests/sandbox/test-unveil.c — hv_unveil() on the running kernel's
 * Landlock, in forked children: read allowed, write denied, outside denied,
 * create under c, rename across unveiled directories, relative paths, file
 * rules, exec needs x, the lock, errors, degradation on older ABIs
 * (HAVEN_LANDLOCK_ABI_MAX), threads, abstract unix sockets. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include "haven/sandbox.h"
#include "sandbox-test.h"

static char A[128], B[128], B2[128], C[128], abstract_name[64];

static int try_open(const char *dir, const char *name, int flags)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, flags | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int try_rename(const char *d1, const char *n1, const char *d2, const char *n2)
{
	char p1[256], p2[256];
	snprintf(p1, sizeof(p1), "%s/%s", d1, n1);
	snprintf(p2, sizeof(p2), "%s/%s", d2, n2);
	return rename(p1, p2) < 0 ? -errno : 0;
}

#define STEP(n, cond)                                                                               \
	do {                                                                                        \
		if (!(cond)) {                                                                      \
			fprintf(stderr, "step %d failed: %s (errno %d)\n", n, #cond, errno);        \
			return n;                                                                   \
		}                                                                                   \
	} while (0)

static int basic_child(void *p)
{
	(void)p;
	STEP(1, hv_unveil(A, "r") == 0);
	STEP(2, hv_unveil(B, "rwc") == 0);
	STEP(3, hv_unveil(B2, "rwc") == 0);
	STEP(4, hv_unveil(NULL, NULL) == 0); /* ABI >= 6 here: full */
	STEP(5, try_open(A, "f", O_RDONLY) == 0);
	STEP(6, try_open(A, "f", O_WRONLY) == -EACCES);
	STEP(7, try_open(C, "h", O_RDONLY) == -EACCES);
	STEP(8, try_open(A, "new", O_CREAT | O_WRONLY) == -EACCES);
	STEP(9, try_open(B, "new", O_CREAT | O_WRONLY) == 0);
	STEP(10, try_rename(B, "new", B2, "moved") == 0); /* across unveiled dirs */
	STEP(11, try_rename(B2, "moved", A, "x") == -EACCES || errno == EXDEV);
	STEP(12, hv_unveil(C, "r") == -EPERM); /* locked */
	char f[256];
	snprintf(f, sizeof(f), "%s/f", A);
	STEP(13, truncate(f, 0) < 0 && errno == EACCES);
	STEP(14, try_open(A, ".", O_RDONLY | O_DIRECTORY) == 0);
	STEP(15, try_open(C, ".", O_RDONLY | O_DIRECTORY) == -EACCES);
	STEP(16, try_open("/etc", "hostname", O_RDONLY) == -EACCES);
	return 0;
}

static int relative_child(void *p)
{
	(void)p;
	STEP(1, chdir(test_tmpdir()) == 0);
	STEP(2, hv_unveil("A", "r") == 0);
	STEP(3, chdir("/") == 0); /* the rule named A as it was at the call */
	STEP(4, hv_unveil(NULL, NULL) == 0);
	STEP(5, try_open(A, "f", O_RDONLY) == 0);
	STEP(6, try_open(C, "h", O_RDONLY) == -EACCES);
	return 0;
}

static int file_rule_child(void *p)
{
	(void)p;
	char f[256];
	snprintf(f, sizeof(f), "%s/f", A);
	STEP(1, hv_unveil(f, "rw") == 0);
	STEP(2, hv_unveil(NULL, NULL) == 0);
	STEP(3, try_open(A, "f", O_RDWR) == 0);
	STEP(4, try_open(A, ".", O_RDONLY | O_DIRECTORY) == -EACCES);
	return 0;
}

static int errors_child(void *p)
{
	(void)p;
	char missing[256];
	snprintf(missing, sizeof(missing), "%s/missing", test_tmpdir());
	STEP(1, hv_unveil(missing, "r") == -ENOENT);
	STEP(2, hv_unveil(A, "rz") == -EINVAL);
	STEP(3, hv_unveil(A, NULL) == -EINVAL);
	STEP(4, hv_unveil_spec("nocolon") == -EINVAL);
	STEP(5, hv_unveil_spec(":r") == -EINVAL);
	STEP(6, hv_unveil(NULL, NULL) == 0); /* nothing unveiled: nothing hidden */
	STEP(7, try_open(C, "h", O_RDONLY) == 0);
	STEP(8, hv_unveil(A, "r") == -EPERM);
	return 0;
}

static int exec_child(void *p)
{
	const char *perms = p;
	STEP(1, hv_unveil("/usr", perms) == 0);
	STEP(2, hv_unveil("/etc", "r") == 0);
	STEP(3, hv_unveil(NULL, NULL) == 0);
	execl("/bin/true", "true", (char *)NULL);
	return errno == EACCES ? 42 : 43;
}

static int degraded_child(void *p)
{
	setenv("HAVEN_LANDLOCK_ABI_MAX", p, 1);
	int abi = atoi(p);
	STEP(1, hv_landlock_abi() == abi);
	STEP(2, hv_unveil(A, "r") == 0);
	STEP(3, hv_unveil(B, "rwc") == 0);
	STEP(4, hv_unveil(B2, "rwc") == 0);
	int r = hv_unveil(NULL, NULL);
	if (abi == 0) {
		STEP(5, r == -EOPNOTSUPP);
		STEP(6, try_open(C, "h", O_RDONLY) == 0); /* nothing enforced, and said so */
		return 0;
	}
	STEP(7, r == HV_SANDBOX_DEGRADED);
	STEP(8, try_open(A, "f", O_RDONLY) == 0);
	STEP(9, try_open(C, "h", O_RDONLY) == -EACCES);
	STEP(10, try_open(B, "deg", O_CREAT | O_WRONLY) == 0);
	r = try_rename(B, "deg", B2, "deg");
	if (abi == 1)
		STEP(11, r == -EXDEV); /* ABI 1: no refer, renames across dirs refused */
	else
		STEP(12, r == 0);
	return 0;
}

static int pledge_locks_child(void *p)
{
	(void)p;
	STEP(1, hv_unveil(A, "r") == 0);
	STEP(2, hv_pledge("stdio rpath", NULL) == 0); /* no "unveil": locks */
	STEP(3, try_open(A, "f", O_RDONLY) == 0);
	STEP(4, try_open(C, "h", O_RDONLY) == -EACCES);
	return 0;
}

static void *idle(void *p)
{
	(void)p;
	pause();
	return NULL;
}

static int thread_child(void *p)
{
	(void)p;
	pthread_t t;
	STEP(1, pthread_create(&t, NULL, idle, NULL) == 0);
	STEP(2, hv_unveil(A, "r") == 0);
	STEP(3, hv_unveil(NULL, NULL) == HV_SANDBOX_DEGRADED); /* said, not hidden */
	STEP(4, try_open(C, "h", O_RDONLY) == -EACCES);	 /* this thread is confined */
	return 0;
}

static int abstract_child(void *p)
{
	(void)p;
	STEP(1, hv_unveil(A, "r") == 0);
	STEP(2, hv_unveil(NULL, NULL) == 0);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(abstract_name + 1) + 1;
	memcpy(a.sun_path, abstract_name, n);
	STEP(3, s >= 0);
	STEP(4, connect(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0 &&
			errno == EPERM);
	return 0;
}

static int tcp_connect(unsigned port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r = connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	close(s);
	return r;
}

static int tcp_bind(unsigned port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r = bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	close(s);
	return r;
}

/* Port rules: connecting to the unveiled port reaches the network stack
 * (refused or accepted there), any other port and any bind are EACCES. The
 * filesystem stays open (no path rules). */
static int tcp_child(void *p)
{
	(void)p;
	STEP(1, hv_unveil_spec("tcp:40001:c") == 0);
	STEP(2, hv_unveil_spec("tcp:99999:c") == -EINVAL);
	STEP(3, hv_unveil_tcp(40002, "x") == -EINVAL);
	STEP(4, hv_unveil(NULL, NULL) == 0);
	STEP(5, tcp_connect(40001) != -EACCES);
	STEP(6, tcp_connect(40003) == -EACCES);
	STEP(7, tcp_bind(0) == -EACCES);
	STEP(8, try_open(C, "h", O_RDONLY) == 0);
	return 0;
}

static int tcp_degraded_child(void *p)
{
	(void)p;
	setenv("HAVEN_LANDLOCK_ABI_MAX", "3", 1);
	STEP(1, hv_unveil_tcp(40001, "c") == 0);
	STEP(2, hv_unveil(NULL, NULL) == HV_SANDBOX_DEGRADED);
	STEP(3, tcp_connect(40003) != -EACCES); /* not enforced, and said so */
	return 0;
}

static void mkfile(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "data\n", 5) != 5) {
		perror(p);
		exit(1);
	}
	close(fd);
}

int main(void)
{
	const char *t = test_tmpdir();
	snprintf(A, sizeof(A), "%s/A", t);
	snprintf(B, sizeof(B), "%s/B", t);
	snprintf(B2, sizeof(B2), "%s/B2", t);
	snprintf(C, sizeof(C), "%s/C", t);
	if (mkdir(A, 0755) || mkdir(B, 0755) || mkdir(B2, 0755) || mkdir(C, 0755)) {
		perror("mkdir");
		return 1;
	}
	mkfile(A, "f");
	mkfile(C, "h");
	int abi = hv_landlock_abi();
	printf("Landlock ABI %d\n", abi);
	if (abi < 6) {
		printf("SKIP: these tests expect Landlock ABI >= 6 (have %d)\n", abi);
		test_tmpdir_cleanup();
		return 77;
	}

	char err[2048];
	int st;
#define RUN(fn, arg, want)                                                                         \
	do {                                                                                       \
		st = run_child(fn, arg, err, sizeof(err));                                         \
		CHECK_MSG(st == (want), "%s(%s): got %d, want %d: %s", #fn, (const char *)(arg) ? (const char *)(arg) : "", st, want, err); \
	} while (0)

	RUN(basic_child, NULL, 0);
	RUN(relative_child, NULL, 0);
	RUN(file_rule_child, NULL, 0);
	RUN(errors_child, NULL, 0);
	RUN(exec_child, "r", 42);
	RUN(exec_child, "rx", 0);
	RUN(degraded_child, "0", 0);
	RUN(degraded_child, "1", 0);
	CHECK_MSG(strstr(err, "renames and links across directories are refused"), "ABI 1 should say what it lacks: %s", err);
	RUN(degraded_child, "3", 0);
	RUN(degraded_child, "5", 0);
	CHECK_MSG(strstr(err, "cannot scope abstract unix sockets"), "ABI 5 should say what it lacks: %s", err);
	RUN(pledge_locks_child, NULL, 0);
	RUN(tcp_child, NULL, 0);
	RUN(tcp_degraded_child, NULL, 0);
	CHECK_MSG(strstr(err, "tcp port rule(s) NOT enforced"), "ABI 3 should say port rules are not enforced: %s", err);
	RUN(thread_child, NULL, 0);

	/* A listener outside the domain, on an abstract name. */
	snprintf(abstract_name + 1, sizeof(abstract_name) - 1, "hv-sandbox-test-%d", getpid());
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un la = {.sun_family = AF_UNIX};
	size_t n = strlen(abstract_name + 1) + 1;
	memcpy(la.sun_path, abstract_name, n);
	if (ls < 0 || bind(ls, (struct sockaddr *)&la, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0 ||
	    listen(ls, 1) < 0) {
		perror("abstract listener");
		return 1;
	}
	RUN(abstract_child, NULL, 0);
	close(ls);

	test_tmpdir_cleanup();
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}
