/* tests/ipc/test-ipc-quota.c — what a server holds for its clients is
 * charged to their uid (lib/ipc/quota.c), across real processes and
 * sockets: a stalled-frame flood from many connections of one uid leaves
 * the server's memory bounded, its connections end at the frame deadline
 * and another client is served meanwhile; 1,100 connections from one uid
 * do not lock another uid out; idle connections end at the idle timeout,
 * not while the server holds their call.
 *
 * Other uids come from setresuid() in forked children: as root only (the
 * uid tests are skipped with a printed reason otherwise). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/loop.h>

#include "frame.h"
#include "testproto.h"

#define HOSTILE_UID 65534 /* nobody */
#define OTHER_UID 65533

#define STEP(fn)                                                                           \
	do {                                                                               \
		fprintf(stderr, "test-ipc-quota: %s\n", #fn);                              \
		fn();                                                                      \
	} while (0)

static char sock[256];
static char logpath[256];

static uint64_t now_ms(void) { return hv_now_ns() / 1000000u; }

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	REQUIRE(f);
	long kib = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	REQUIRE(kib > 0);
	return kib;
}

static int connect_raw(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* A frame's header (an echo request of `len` payload bytes). */
static void frame_header(uint8_t *p, uint32_t len)
{
	hv_frame_hdr h = {.len = len, .magic = test_server_endpoint.magic, .id = TEST_SERVER_MSG_ECHO,
			  .kind = HV_MSG_REQUEST, .request_id = 1};
	hv_frame_hdr_write(p, &h);
}

/* Has the server ended this connection (EOF or reset)? */
static bool ended(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN);
}

/* Run fn as uid in a child (it reports through its exit status). */
static int as_uid(uid_t uid, int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Room for many sockets, raised while still root. */
		struct rlimit rl = {4096, 4096};
		setrlimit(RLIMIT_NOFILE, &rl);
		if (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
			_exit(100);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* cleared by the change of uid */
		_exit(fn(arg));
	}
	int st;
	REQUIRE(waitpid(pid, &st, 0) == pid);
	REQUIRE(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static bool root(void)
{
	if (geteuid() == 0)
		return true;
	printf("test-ipc-quota: SKIP the other-uid checks: they need root (setresuid)\n");
	return false;
}

/* Let other uids reach a server started by root. */
static void open_to_all(const char *path)
{
	REQUIRE(chmod(test_tmpdir(), 0755) == 0);
	REQUIRE(chmod(path, 0666) == 0);
}

/* --- a stalled-frame flood from one uid ---------------------------------- */
#define FLOOD_CONNS 64
#define FLOOD_CLAIM (4u << 20)  /* each frame claims 4 MiB */
#define FLOOD_SENT (1u << 20)   /* and 1 MiB of it comes */
#define FLOOD_QUOTA (8u << 20)  /* the uid's byte quota */
#define FLOOD_DEADLINE_MS 2000

static void flood_hook(hv_server *s)
{
	REQUIRE_EQ(hv_server_set_quotas(s, HV_IPC_ANY_UID,
					&(hv_ipc_quotas){.bytes = FLOOD_QUOTA, .fds = 64, .connections = 128}),
		   0);
	hv_server_set_frame_deadline(s, FLOOD_DEADLINE_MS);
}

static int flood_pipe[2];  /* child -> parent: "sent" */
static int flood_pipe2[2]; /* parent -> child: "done" (test_fds_held) */

/* Each connection starts a frame it never finishes; after telling the
 * parent, wait for the server to end them all. Exit 0 if it did: some at
 * once (the uid's byte quota), the others at the frame deadline (not
 * before it, and within it plus the watchdog's period and slack). */
static int flood_child(void *arg)
{
	const char *path = arg;
	static uint8_t chunk[FLOOD_SENT];
	int fds[FLOOD_CONNS];
	uint64_t start = now_ms();
	for (int i = 0; i < FLOOD_CONNS; i++) {
		fds[i] = connect_raw(path);
		if (fds[i] < 0)
			return 10;
		uint8_t h[HV_IPC_HEADER_SIZE];
		frame_header(h, FLOOD_CLAIM);
		/* Failures are the server ending us (over quota): fine. */
		(void)!send(fds[i], h, sizeof(h), MSG_NOSIGNAL);
		(void)!send(fds[i], chunk, sizeof(chunk), MSG_NOSIGNAL);
	}
	(void)!write(flood_pipe[1], "s", 1);
	if (now_ms() + 300 > start + FLOOD_DEADLINE_MS)
		return 11; /* too slow to tell early ends from the deadline's */
	usleep((useconds_t)(start + FLOOD_DEADLINE_MS - 300 - now_ms()) * 1000);
	int early = 0;
	for (int i = 0; i < FLOOD_CONNS; i++)
		early += ended(fds[i], 0);
	for (int i = 0; i < FLOOD_CONNS; i++) {
		uint64_t left = start + FLOOD_DEADLINE_MS + 2000, t = now_ms();
		if (!ended(fds[i], t < left ? (int)(left - t) : 0))
			return 20; /* still open well past the deadline */
	}
	return early >= 1 && early < FLOOD_CONNS ? 0 : 30;
}

static void test_stalled_flood(void)
{
	/* A root peer (no per-uid quota) is still held to the deadline. */
	int fd = connect_raw(sock);
	REQUIRE(fd >= 0);
	uint8_t h[HV_IPC_HEADER_SIZE + 10] = {0};
	frame_header(h, 100);
	REQUIRE(send(fd, h, sizeof(h), MSG_NOSIGNAL) == (ssize_t)sizeof(h));
	uint64_t t0 = now_ms();
	REQUIRE(ended(fd, FLOOD_DEADLINE_MS + 2000));
	uint64_t took = now_ms() - t0;
	CHECK_MSG(took >= FLOOD_DEADLINE_MS - 100, "ended after %llu ms, before the deadline",
		  (unsigned long long)took);
	close(fd);

	if (!root())
		return;
	char path[300];
	snprintf(path, sizeof(path), "%s/flood.sock", test_tmpdir());
	pid_t srv = test_server_fork(path, flood_hook);
	open_to_all(path);
	hv_conn *good;
	REQUIRE_EQ(hv_conn_connect(NULL, path, &good), 0);
	REQUIRE_EQ(test_server_echo(good, "before", NULL), 0);
	long before = rss_kib(srv);

	REQUIRE(pipe2(flood_pipe, O_CLOEXEC) == 0);
	pid_t child = fork();
	REQUIRE(child >= 0);
	if (child == 0) {
		close(flood_pipe[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (setresgid(HOSTILE_UID, HOSTILE_UID, HOSTILE_UID) < 0 ||
		    setresuid(HOSTILE_UID, HOSTILE_UID, HOSTILE_UID) < 0)
			_exit(100);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* cleared by the change of uid */
		_exit(flood_child(path));
	}
	close(flood_pipe[1]);
	char ch;
	REQUIRE(read(flood_pipe[0], &ch, 1) == 1);
	close(flood_pipe[0]);
	/* Everything is sent: what the server holds now is at its peak. */
	usleep(100 * 1000);
	long grew = rss_kib(srv) - before;
	/* The good client is served meanwhile, at once. */
	uint64_t t = now_ms();
	for (int i = 0; i < 100; i++)
		REQUIRE_EQ(test_server_echo(good, "during", NULL), 0);
	CHECK_MSG(now_ms() - t < 1000, "100 calls took %llu ms", (unsigned long long)(now_ms() - t));
	int st;
	REQUIRE(waitpid(child, &st, 0) == child);
	printf("test-ipc-quota: flood of %d connections x %u MiB: server RSS +%ld KiB (quota %u KiB), "
	       "child status %d\n",
	       FLOOD_CONNS, FLOOD_SENT >> 20, grew, FLOOD_QUOTA >> 10, WEXITSTATUS(st));
	/* Without quotas: +64 MiB (every connection's sent MiB, kept). */
#ifdef __SANITIZE_ADDRESS__
	printf("test-ipc-quota: RSS bound not checked under ASan (shadow memory, quarantine)\n");
#else
	/* The uid's quota, plus the buffer of a connection refused over it
	 * (freed at once, but perhaps kept by malloc, and touched all over
	 * under meson's MALLOC_PERTURB_), plus slack. */
	CHECK_MSG(grew < (long)(FLOOD_QUOTA >> 10) * 3, "server RSS grew by %ld KiB", grew);
#endif
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the flood's connections did not end as they should (child status %d: 20 = one still "
		  "open past the deadline, 30 = none ended early or none lasted to the deadline)",
		  WEXITSTATUS(st));
	REQUIRE_EQ(test_server_echo(good, "after", NULL), 0);
	hv_conn_close(good);
	test_server_kill(srv);
}

/* --- fds held for one uid ------------------------------------------------ */
#define FD_CONNS 10

static int count_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	REQUIRE(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2;
}

/* Each connection starts a frame carrying the most fds a message may and
 * stops before its payload: the server holds the fds until the frame
 * completes. Exit when the parent has counted. */
static int fds_child(void *arg)
{
	const char *path = arg;
	int fds[FD_CONNS];
	int pass[HV_IPC_MAX_FDS_PER_MESSAGE];
	for (unsigned i = 0; i < HV_IPC_MAX_FDS_PER_MESSAGE; i++)
		pass[i] = 0; /* stdin, 64 times */
	for (int i = 0; i < FD_CONNS; i++) {
		if ((fds[i] = connect_raw(path)) < 0)
			return 10;
		uint8_t h[HV_IPC_HEADER_SIZE];
		hv_frame_hdr fh = {.len = 100, .magic = test_server_endpoint.magic,
				   .id = TEST_SERVER_MSG_PASS_FDS, .kind = HV_MSG_REQUEST,
				   .nfds = HV_IPC_MAX_FDS_PER_MESSAGE, .request_id = 1};
		hv_frame_hdr_write(h, &fh);
		struct iovec iov = {.iov_base = h, .iov_len = sizeof(h)};
		union {
			char buf[CMSG_SPACE(sizeof(pass))];
			struct cmsghdr align;
		} ctl = {0};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(pass));
		memcpy(CMSG_DATA(cm), pass, sizeof(pass));
		(void)!sendmsg(fds[i], &mh, MSG_NOSIGNAL);
	}
	(void)!write(flood_pipe[1], "s", 1);
	char ch;
	(void)!read(flood_pipe2[0], &ch, 1);
	return 0;
}

static void test_fds_held(void)
{
	if (!root())
		return;
	char path[300];
	snprintf(path, sizeof(path), "%s/fds.sock", test_tmpdir());
	pid_t srv = test_server_fork(path, flood_hook); /* 64 fds per uid */
	open_to_all(path);
	hv_conn *good;
	REQUIRE_EQ(hv_conn_connect(NULL, path, &good), 0);
	REQUIRE_EQ(test_server_echo(good, "before", NULL), 0);
	int before = count_fds(srv);
	REQUIRE(pipe2(flood_pipe, O_CLOEXEC) == 0 && pipe2(flood_pipe2, O_CLOEXEC) == 0);
	pid_t child = fork();
	REQUIRE(child >= 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (setresgid(HOSTILE_UID, HOSTILE_UID, HOSTILE_UID) < 0 ||
		    setresuid(HOSTILE_UID, HOSTILE_UID, HOSTILE_UID) < 0)
			_exit(100);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* cleared by the change of uid */
		close(flood_pipe[0]);
		close(flood_pipe2[1]);
		_exit(fds_child(path));
	}
	char ch;
	REQUIRE(read(flood_pipe[0], &ch, 1) == 1);
	usleep(100 * 1000);
	REQUIRE_EQ(test_server_echo(good, "during", NULL), 0);
	int held = count_fds(srv) - before;
	(void)!write(flood_pipe2[1], "d", 1);
	int st;
	REQUIRE(waitpid(child, &st, 0) == child);
	printf("test-ipc-quota: %d connections x %u fds in unfinished frames: the server holds %d more "
	       "fds (quota 64)\n",
	       FD_CONNS, HV_IPC_MAX_FDS_PER_MESSAGE, held);
	/* Without the fd quota: 640 fds and 10 connections. */
	CHECK_MSG(held <= 64 + 2, "the server holds %d more fds", held);
	close(flood_pipe[0]);
	close(flood_pipe[1]);
	close(flood_pipe2[0]);
	close(flood_pipe2[1]);
	hv_conn_close(good);
	test_server_kill(srv);
}

/* --- many connections from one uid --------------------------------------- */
#define MANY 1100

static void many_hook(hv_server *s)
{
	struct rlimit rl = {4096, 4096};
	REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
}

static int many_pipe[2];  /* hostile -> parent: "connected" */
static int many_pipe2[2]; /* parent -> hostile: "count now" */

/* Open MANY connections and keep them; report how many the server kept
 * (as the exit status / 8: the status is 8 bits). */
static int many_child(void *arg)
{
	const char *path = arg;
	static int fds[MANY];
	for (int i = 0; i < MANY; i++)
		if ((fds[i] = connect_raw(path)) < 0)
			return 250;
	(void)!write(many_pipe[1], "c", 1);
	char ch;
	if (read(many_pipe2[0], &ch, 1) != 1)
		return 251;
	int open = 0;
	for (int i = 0; i < MANY; i++)
		open += !ended(fds[i], 0);
	return open / 8;
}

static int good_client(void *arg)
{
	hv_conn *c;
	int r = hv_conn_connect(NULL, arg, &c);
	if (r < 0)
		return 1;
	hv_conn_set_timeout(c, 5000);
	const char *back = NULL;
	r = test_server_echo(c, "another uid", &back);
	bool ok = r == 0 && back && strcmp(back, "another uid") == 0; /* back lives until close */
	hv_conn_close(c);
	return ok ? 0 : 2;
}

static void test_many_connections(void)
{
	if (!root())
		return;
	char path[300];
	snprintf(path, sizeof(path), "%s/many.sock", test_tmpdir());
	pid_t srv = test_server_fork(path, many_hook);
	open_to_all(path);
	REQUIRE(pipe2(many_pipe, O_CLOEXEC) == 0 && pipe2(many_pipe2, O_CLOEXEC) == 0);
	pid_t hostile = fork();
	REQUIRE(hostile >= 0);
	if (hostile == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct rlimit rl = {4096, 4096};
		setrlimit(RLIMIT_NOFILE, &rl);
		if (setresgid(HOSTILE_UID, HOSTILE_UID, HOSTILE_UID) < 0 ||
		    setresuid(HOSTILE_UID, HOSTILE_UID, HOSTILE_UID) < 0)
			_exit(100);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* cleared by the change of uid */
		close(many_pipe[0]);
		close(many_pipe2[1]); /* EOF, not a hang, if the parent dies */
		_exit(many_child(path));
	}
	char ch;
	REQUIRE(read(many_pipe[0], &ch, 1) == 1);
	/* All 1,100 are connected (accepted or refused by now, or waiting in
	 * the backlog): another uid's client must still be served. */
	usleep(300 * 1000);
	int good = as_uid(OTHER_UID, good_client, path);
	(void)!write(many_pipe2[1], "n", 1);
	int st;
	REQUIRE(waitpid(hostile, &st, 0) == hostile);
	REQUIRE(WIFEXITED(st));
	int kept = WEXITSTATUS(st) * 8;
	printf("test-ipc-quota: %d connections from uid %d: the server kept ~%d; uid %d's client: %s\n",
	       MANY, HOSTILE_UID, kept, OTHER_UID, good == 0 ? "served" : "NOT served");
	CHECK_MSG(good == 0, "another uid's client was not served (status %d)", good);
	CHECK_MSG(kept <= (int)HV_IPC_UID_MAX_CONNECTIONS, "one uid kept %d connections", kept);
	close(many_pipe[0]);
	close(many_pipe[1]);
	close(many_pipe2[0]);
	close(many_pipe2[1]);
	test_server_kill(srv);
}

/* --- the connection quota, exactly ---------------------------------------- */
/* Guards against: an off-by-one in the per-uid connection quota (one
 * connection more than allowed). Quota 3: three are served, a fourth is
 * closed by the server. */
static void conn3_hook(hv_server *s)
{
	REQUIRE_EQ(hv_server_set_quotas(s, HV_IPC_ANY_UID, &(hv_ipc_quotas){.connections = 3}), 0);
}

/* As another uid (root and the server's own are exempt): 0 when three
 * are served and a fourth is closed by the server. */
static int conn3_client(void *arg)
{
	const char *path = arg;
	hv_conn *c[3];
	for (int i = 0; i < 3; i++) {
		if (hv_conn_connect(NULL, path, &c[i]) < 0)
			return 10 + i;
		hv_conn_set_timeout(c[i], 5000);
		const char *back = NULL;
		if (test_server_echo(c[i], "in quota", &back) != 0)
			return 20 + i;
	}
	int fourth = connect_raw(path);
	if (fourth < 0)
		return 30;
	return ended(fourth, 5000) ? 0 : 40;
}

static void test_connection_quota_exact(void)
{
	if (!root())
		return;
	char path[300];
	snprintf(path, sizeof(path), "%s/conn3.sock", test_tmpdir());
	pid_t srv = test_server_fork(path, conn3_hook);
	open_to_all(path);
	int st = as_uid(OTHER_UID, conn3_client, path);
	CHECK_MSG(st == 0, "connection quota 3: status %d (1x: not connected, 2x: not served, 40: a fourth kept)",
		  st);
	test_server_kill(srv);
}

/* --- the idle timeout ---------------------------------------------------- */
#define IDLE_MS 400

static void idle_hook(hv_server *s) { hv_server_set_idle_timeout(s, IDLE_MS); }

static void test_idle_timeout(void)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/idle.sock", test_tmpdir());
	pid_t srv = test_server_fork(path, idle_hook);
	/* Silent: ended after the timeout, not before. */
	int fd = connect_raw(path);
	REQUIRE(fd >= 0);
	uint64_t t0 = now_ms();
	REQUIRE(ended(fd, IDLE_MS * 5));
	uint64_t took = now_ms() - t0;
	CHECK_MSG(took >= IDLE_MS - 50, "idle connection ended after %llu ms", (unsigned long long)took);
	close(fd);
	/* Waiting for a call the server holds is not idle. */
	hv_conn *a, *b;
	REQUIRE_EQ(hv_conn_connect(NULL, path, &a), 0);
	hv_conn_set_timeout(a, IDLE_MS * 10);
	pid_t releaser = fork();
	REQUIRE(releaser >= 0);
	if (releaser == 0) {
		usleep(IDLE_MS * 3 * 1000);
		if (hv_conn_connect(NULL, path, &b) < 0 || test_server_release(b) < 0)
			_exit(1);
		_exit(0);
	}
	const char *tag = NULL;
	REQUIRE_EQ(test_server_hold(a, "held", &tag), 0);
	REQUIRE(strcmp(tag, "held") == 0);
	int st;
	REQUIRE(waitpid(releaser, &st, 0) == releaser && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	hv_conn_close(a);
	test_server_kill(srv);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(sock, sizeof(sock), "%s/quota.sock", test_tmpdir());
	snprintf(logpath, sizeof(logpath), "%s/server.log", test_tmpdir());
	test_server_stderr = logpath;
	pid_t srv = test_server_fork(sock, flood_hook);
	STEP(test_stalled_flood);
	test_server_kill(srv);
	STEP(test_fds_held);
	STEP(test_many_connections);
	STEP(test_connection_quota_exact);
	STEP(test_idle_timeout);
	if (getenv("TEST_SHOW_LOG")) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "tail -n 20 %s", logpath);
		(void)!system(cmd);
	}
	test_tmp_cleanup();
	printf("test-ipc-quota: %s\n", check_failures ? "FAILED" : "ok");
	return check_failures ? 1 : 0;
}
