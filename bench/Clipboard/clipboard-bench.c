/* clipboard-bench — what a copy and a paste cost through the Clipboard
 * service, small against huge, and against the floors measured in the same
 * run:
 *   - set_clipboard_data + get_clipboard_data of 4 KiB and of 100 MiB, with
 *     the service's state in memory (--state-dir -) and durable (a state
 *     directory on tmpfs, as $XDG_RUNTIME_DIR is: every set is written and
 *     fsynced before its reply);
 *   - floor: one raw AF_UNIX round trip each way carrying an fd (a set+get
 *     is two round trips that pass an fd), and a memcpy of 100 MiB (what
 *     any path that copies the data must pay at least once), and writing a
 *     100 MiB file on tmpfs with fsync and removing it (what the durable
 *     path must pay at least per big entry).
 * Data travels as a sealed memfd: the service keeps it without copying, so
 * in memory the 100 MiB pair should cost what the 4 KiB pair costs. The
 * durable path writes the data once, so it is compared with the file floor.
 *
 *   clipboard-bench [--clipboard PATH] [--quick]
 * Prints one line per measurement and the ratios; exit 1 on any failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/util.h>

#include "ClipboardServer.ipc.h"

#define SMALL (4u << 10)
#define BIG (100u << 20)
/* Bound on waiting for the service to listen: a hang guard, not a figure. */
#define START_TIMEOUT_NS (30ull * 1000000000ull)

static bool quick;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Median of n samples (sorted in place): robust on a loaded machine. */
static double median_us(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return (double)v[n / 2] / 1000.0;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "clipboard-bench: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

/* --- floor: a raw round trip carrying an fd, both ways ---------------------- */
static int send_fd(int sock, int fd)
{
	char byte = 'x';
	struct iovec iov = {&byte, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u = {0};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = {&byte, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -EIO;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -EIO;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* Median of one request carrying an fd and its reply carrying one back,
 * to a forked peer that echoes the fd. */
static double raw_fd_round_trip_us(int n)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair", errno);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		for (;;) {
			int fd = recv_fd(sv[1]);
			if (fd < 0 || send_fd(sv[1], fd) < 0)
				_exit(0);
			close(fd);
		}
	}
	close(sv[1]);
	int memfd = memfd_create("floor", MFD_CLOEXEC);
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	if (memfd < 0 || !t)
		die("memfd", errno);
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		if (send_fd(sv[0], memfd) < 0)
			die("raw send", errno);
		int fd = recv_fd(sv[0]);
		if (fd < 0)
			die("raw receive", fd);
		t[i] = now_ns() - t0;
		close(fd);
	}
	close(sv[0]);
	close(memfd);
	waitpid(pid, NULL, 0);
	double us = median_us(t, (size_t)n);
	free(t);
	return us;
}

/* Median of a memcpy of `size` bytes between two pre-faulted buffers. */
static double memcpy_us(size_t size, int n)
{
	char *a = malloc(size), *b = malloc(size);
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	if (!a || !b || !t)
		die("malloc", ENOMEM);
	memset(a, 0x5a, size);
	memset(b, 0, size);
	for (int i = 0; i < n; i++) {
		a[i % size] = (char)i;
		uint64_t t0 = now_ns();
		memcpy(b, a, size);
		__asm__ volatile("" ::"r"(b) : "memory");
		t[i] = now_ns() - t0;
	}
	if (b[0] != a[0])
		die("memcpy", EIO);
	double us = median_us(t, (size_t)n);
	free(a);
	free(b);
	free(t);
	return us;
}

/* Median of writing `size` bytes to a new file in dir, fsync, and removing
 * it: the least a durable store pays per big entry (it writes each new one
 * and removes the one the history drops). */
static double file_write_us(const char *dir, const void *data, size_t size, int n)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/floor-file", dir);
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	if (!t)
		die("calloc", ENOMEM);
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			die("open", errno);
		int r = hv_write_full(fd, data, size);
		if (r < 0 || fsync(fd) < 0)
			die("write", r < 0 ? r : errno);
		close(fd);
		unlink(path);
		t[i] = now_ns() - t0;
	}
	double us = median_us(t, (size_t)n);
	free(t);
	return us;
}

/* --- the service ---------------------------------------------------------- */
typedef struct service {
	pid_t pid;
	char sock[108];
	hv_conn *conn;
} service;

static bool can_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static void service_start(service *s, const char *exe, const char *dir, const char *state_dir)
{
	snprintf(s->sock, sizeof(s->sock), "%s/clipboard.sock", dir);
	unlink(s->sock);
	s->pid = fork();
	if (s->pid < 0)
		die("fork", errno);
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* --history 2: the previous 100 MiB entry is dropped, as in a
		 * session that copies big things; the bound is not what we measure. */
		execl(exe, exe, "--socket", s->sock, "--state-dir", state_dir, "--history", "2",
		      (char *)NULL);
		_exit(127);
	}
	uint64_t t0 = now_ns();
	while (!can_connect(s->sock)) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
			die("Clipboard exited at start", ECHILD);
		if (now_ns() - t0 > START_TIMEOUT_NS)
			die("Clipboard did not start listening", ETIMEDOUT);
		usleep(2000);
	}
	int r = hv_conn_connect(NULL, s->sock, &s->conn);
	if (r < 0)
		die("connect", r);
	hv_conn_set_timeout(s->conn, 60000); /* a hang guard */
}

static void service_stop(service *s)
{
	hv_conn_close(s->conn);
	kill(s->pid, SIGTERM);
	int st;
	waitpid(s->pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "clipboard-bench: Clipboard did not exit cleanly (status %d)\n", st);
		exit(1);
	}
}

/* A sealed buffer of `size` bytes with a recognisable first and last byte. */
static hv_buffer payload(size_t size, uint8_t tag)
{
	hv_buffer b;
	int r = hv_buffer_create(size, &b);
	if (r < 0)
		die("hv_buffer_create", r);
	memset(b.data, tag, size);
	((uint8_t *)b.data)[size - 1] = (uint8_t)~tag;
	if ((r = hv_buffer_seal(&b)) < 0)
		die("hv_buffer_seal", r);
	return b;
}

/* Median of one set_clipboard_data + get_clipboard_data pair; the pasted
 * data is checked at both ends (touching two pages, not the whole). */
static double set_get_us(service *s, const hv_buffer *data, int n)
{
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	if (!t)
		die("calloc", ENOMEM);
	hv_map_string_string none = {0};
	const uint8_t first = ((const uint8_t *)data->data)[0],
		      last = ((const uint8_t *)data->data)[data->size - 1];
	for (int i = 0; i < n; i++) {
		uint64_t serial = 0;
		hv_buffer out = HV_BUFFER_EMPTY;
		uint64_t t0 = now_ns();
		int r = clipboard_server_set_clipboard_data(s->conn, *data, "application/octet-stream",
							    none, &serial);
		if (r < 0)
			die("set_clipboard_data", r);
		r = clipboard_server_get_clipboard_data(s->conn, &out, NULL, NULL);
		if (r < 0)
			die("get_clipboard_data", r);
		t[i] = now_ns() - t0;
		if (out.size != data->size || ((uint8_t *)out.data)[0] != first ||
		    ((uint8_t *)out.data)[out.size - 1] != last)
			die("pasted data differs from the copied data", EIO);
		hv_buffer_release(&out);
	}
	double us = median_us(t, (size_t)n);
	free(t);
	return us;
}

static char tmpdir[64];
static pid_t main_pid;

static void rm_tree(const char *dir)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "clipboard-bench: could not remove %s\n", dir);
}

static void remove_tmpdir(void)
{
	if (getpid() == main_pid)
		rm_tree(tmpdir);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: clipboard-bench [--clipboard PATH] [--quick]\n"
		   "Set+get of 4 KiB and 100 MiB through Clipboard (state in memory and durable\n"
		   "on tmpfs) against a raw fd-passing round trip and a 100 MiB memcpy.\n"
		   "  --clipboard PATH  the Clipboard executable (default: the one built)\n"
		   "  --quick           fewer iterations (a smoke run)\n");
}

int main(int argc, char **argv)
{
	const char *exe = CLIP_BENCH_CLIPBOARD;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--clipboard") && i + 1 < argc) {
			exe = argv[++i];
		} else if (!strcmp(argv[i], "--quick")) {
			quick = true;
		} else {
			usage(stderr);
			return 2;
		}
	}
	main_pid = getpid();
	signal(SIGPIPE, SIG_IGN);
	/* In a sanitizer build, LeakSanitizer's exit-time scan uses ptrace,
	 * which the service's pledge rightly forbids (SIGSYS): skip it there. */
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[512];
	snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", asan ? asan : "", asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	/* tmpfs, where the session's state directory lives ($XDG_RUNTIME_DIR) */
	strcpy(tmpdir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/clipboard-bench-XXXXXX"
						      : "/tmp/clipboard-bench-XXXXXX");
	if (!mkdtemp(tmpdir))
		die("mkdtemp", errno);
	atexit(remove_tmpdir); /* also when die() ends the run */

	const int n_small = quick ? 100 : 2000, n_big_mem = quick ? 20 : 400,
		  n_big_disk = quick ? 3 : 15, n_floor = quick ? 200 : 4000;
	double rt = raw_fd_round_trip_us(n_floor);
	double cpy = memcpy_us(BIG, quick ? 3 : 15);
	printf("floor  raw AF_UNIX round trip with an fd each way   %10.1f us\n", rt);
	printf("floor  memcpy 100 MiB                               %10.1f us  (%.2f GB/s)\n", cpy,
	       (double)BIG / cpy / 1000.0);

	hv_buffer small = payload(SMALL, 0x11), big = payload(BIG, 0x22);
	double wr = file_write_us(tmpdir, big.data, BIG, quick ? 3 : 15);
	printf("floor  write+fsync+unlink a 100 MiB file (tmpfs)    %10.1f us\n", wr);
	double res[2][2];
	for (int durable = 0; durable < 2; durable++) {
		char state[96];
		snprintf(state, sizeof(state), "%s/state", tmpdir);
		service s;
		service_start(&s, exe, tmpdir, durable ? state : "-");
		/* warm up: first mappings, the service's first allocations */
		set_get_us(&s, &small, 5);
		res[durable][0] = set_get_us(&s, &small, n_small);
		res[durable][1] = set_get_us(&s, &big, durable ? n_big_disk : n_big_mem);
		service_stop(&s);
		const char *what = durable ? "durable" : "memory ";
		printf("%s set+get 4 KiB                             %10.1f us  (%.2fx two raw round trips)\n",
		       what, res[durable][0], res[durable][0] / (2 * rt));
		printf("%s set+get 100 MiB                           %10.1f us  (%.2fx two raw round trips)\n",
		       what, res[durable][1], res[durable][1] / (2 * rt));
	}
	printf("ratio  memory: 100 MiB / 4 KiB                      %10.2f   (1.00 = independent of size)\n",
	       res[0][1] / res[0][0]);
	printf("ratio  memory: 100 MiB set+get / memcpy 100 MiB     %10.4f\n", res[0][1] / cpy);
	printf("ratio  durable: 100 MiB set+get / memcpy 100 MiB    %10.2f\n", res[1][1] / cpy);
	printf("ratio  durable: 100 MiB set+get / file write floor  %10.2f   (1.00 = written once, nothing more)\n",
	       res[1][1] / wr);
	hv_buffer_release(&small);
	hv_buffer_release(&big);
	return 0;
}
