/* ss-testd.c — the test daemon SystemServer's tests run as a service.
 *
 * It takes its sockets with libsystemd's sd_listen_fds() (proving the
 * LISTEN_FDS hand-over is systemd's, unchanged), reports readiness and
 * watchdog pings with sd_notify(), and records what it saw to a file the
 * test reads: "start NAME pid=P uid=U fds=N names=…", "stop NAME pid=P".
 *
 * Each connection gets one line "hello NAME pid=P uid=U" and then its
 * lines echoed back. A listening fd is accepted on; an already accepted one
 * (AcceptSocketConnections) is served, and the daemon exits when it closes.
 * HAVEN_HANDOFF_FD (PerUser) delivers further connections by SCM_RIGHTS.
 *
 *   ss-testd [--record FILE] [--notify] [--notify-delay MS] [--exit CODE]
 *            [--watchdog-pings N] [--crash-on-connect] [--print TEXT]
 *            [--stop-delay MS] [--hold] [--try-open PATH] [--try-inet]
 *            [--spam LINES] [--record-env NAME] [--arg WORD]
 *            [--record-limits] [--listen-delay MS]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 64

static const char *record_path;
static const char *name = "?";

static void record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void record(const char *fmt, ...)
{
	if (!record_path)
		return;
	FILE *f = fopen(record_path, "ae");
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

/* From /proc (a read), not getpriority(): sandboxed runs may lack it. */
static int own_nice(void)
{
	FILE *f = fopen("/proc/self/stat", "re");
	if (!f)
		return 99;
	char buf[1024];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	int field = 2, v = 99;
	for (; p && *p; p++)
		if (*p == ' ' && ++field == 19)
			return sscanf(p + 1, "%d", &v) == 1 ? v : 99;
	return v;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct slot {
	int fd;
	bool listening, handoff;
};

static struct pollfd pfd[MAX_FDS + 1];
static struct slot slots[MAX_FDS + 1];
static int nslots;

static void add(int fd, bool listening, bool handoff)
{
	if (nslots >= MAX_FDS) {
		close(fd);
		return;
	}
	slots[nslots] = (struct slot){fd, listening, handoff};
	pfd[nslots] = (struct pollfd){.fd = fd, .events = POLLIN};
	nslots++;
}

static void drop(int i)
{
	close(slots[i].fd);
	slots[i] = slots[nslots - 1];
	pfd[i] = pfd[nslots - 1];
	nslots--;
}

static void greet(int fd)
{
	char line[256];
	int n = snprintf(line, sizeof line, "hello %s pid=%d uid=%u\n", name, (int)getpid(), (unsigned)getuid());
	/* MSG_NOSIGNAL: the client (e.g. the manager's readiness probe) may be gone. */
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL) < 0) {
		/* the client left already: nothing to do */
	}
}

static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n == 0 ? -EPIPE : -errno;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"record", required_argument, NULL, 'r'},
		{"notify", no_argument, NULL, 'n'},
		{"notify-delay", required_argument, NULL, 'd'},
		{"exit", required_argument, NULL, 'e'},
		{"watchdog-pings", required_argument, NULL, 'w'},
		{"crash-on-connect", no_argument, NULL, 'c'},
		{"print", required_argument, NULL, 'p'},
		{"stop-delay", required_argument, NULL, 's'},
		{"hold", no_argument, NULL, 'H'},
		{"try-open", required_argument, NULL, 'o'},
		{"try-inet", no_argument, NULL, 'i'},
		{"spam", required_argument, NULL, 'S'},
		{"record-env", required_argument, NULL, 'E'},
		{"arg", required_argument, NULL, 'a'},
		{"record-limits", no_argument, NULL, 'L'},
		{"listen-delay", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool notify = false, crash = false, hold = false;
	long notify_delay = 0, stop_delay = 0, wd_pings = -1, listen_delay = 0;
	int exit_code = -1;
	const char *print = NULL, *try_open = NULL;
	bool try_inet = false, rec_limits = false;
	long spam = 0;
	const char *env_name = NULL, *arg = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': record_path = optarg; break;
		case 'n': notify = true; break;
		case 'd': notify_delay = atol(optarg); break;
		case 'e': exit_code = atoi(optarg); break;
		case 'w': wd_pings = atol(optarg); break;
		case 'c': crash = true; break;
		case 'p': print = optarg; break;
		case 's': stop_delay = atol(optarg); break;
		case 'H': hold = true; break;
		case 'o': try_open = optarg; break;
		case 'i': try_inet = true; break;
		case 'S': spam = atol(optarg); break;
		case 'E': env_name = optarg; break;
		case 'a': arg = optarg; break;
		case 'L': rec_limits = true; break;
		case 'D': listen_delay = atol(optarg); break;
		case 'h': puts("ss-testd: SystemServer's test daemon (see the source)"); return 0;
		default: return 2;
		}
	}
	if (getenv("HAVEN_SERVICE"))
		name = getenv("HAVEN_SERVICE");

	char **fdnames = NULL;
	int n = sd_listen_fds_with_names(1, &fdnames); /* unsets LISTEN_* for children */
	char names[1024] = "";
	for (int i = 0; i < n && fdnames && fdnames[i]; i++)
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ":" : "", fdnames[i]);
	/* Blocked before "start" is recorded: a test may stop the manager as
	 * soon as it sees the record, and --hold must still outlive SIGTERM. */
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	/* mono: when this instance started (CLOCK_MONOTONIC, s), so a test can
	 * measure the manager's respawn delays rather than count starts. */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	record("start %s pid=%d uid=%u gid=%u groups=%d fds=%d names=%s nice=%d mono=%lld.%09ld", name,
	       (int)getpid(), (unsigned)getuid(), (unsigned)getgid(), getgroups(0, NULL), n, names, own_nice(),
	       (long long)now.tv_sec, now.tv_nsec);
	if (env_name) {
		/* spaces would split the record's words: show them as '_' */
		char v[256], cwd[256];
		snprintf(v, sizeof v, "%s", getenv(env_name) ? getenv(env_name) : "(unset)");
		for (char *q = v; *q; q++)
			if (*q == ' ')
				*q = '_';
		if (!getcwd(cwd, sizeof cwd))
			strcpy(cwd, "?");
		record("env %s value=%s cwd=%s arg=%zu:%s", name, v, cwd, arg ? strlen(arg) : 0,
		       arg && strchr(arg, ' ') ? "spaced" : "plain");
	}
	if (rec_limits) {
		/* "limits NAME as=SOFT:HARD cpu=… nofile=… core=… data=…", -1 = infinity */
		static const struct {
			const char *k;
			int res;
		} lims[] = {{"as", RLIMIT_AS}, {"cpu", RLIMIT_CPU}, {"nofile", RLIMIT_NOFILE},
			    {"core", RLIMIT_CORE}, {"data", RLIMIT_DATA}};
		char buf[512] = "";
		for (size_t i = 0; i < sizeof lims / sizeof *lims; i++) {
			struct rlimit rl;
			getrlimit(lims[i].res, &rl);
			snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " %s=%lld:%lld", lims[i].k,
				 rl.rlim_cur == RLIM_INFINITY ? -1LL : (long long)rl.rlim_cur,
				 rl.rlim_max == RLIM_INFINITY ? -1LL : (long long)rl.rlim_max);
		}
		record("limits %s%s", name, buf);
	}
	if (try_open) {
		int fd = open(try_open, O_RDONLY | O_CLOEXEC);
		record("open %s path=%s result=%d", name, try_open, fd >= 0 ? 0 : errno);
		if (fd >= 0)
			close(fd);
	}
	if (try_inet) {
		int fd = socket(AF_INET, SOCK_STREAM, 0); /* SIGSYS without "inet" */
		record("inet %s result=%d", name, fd >= 0 ? 0 : errno);
	}
	if (print) {
		printf("%s\n", print);
		fprintf(stderr, "%s (stderr)\n", print);
		fflush(stdout);
	}
	for (long i = 0; i < spam; i++)
		printf("line %06ld: %s\n", i,
		       "....................................................................................");
	fflush(stdout);
	if (exit_code >= 0)
		return exit_code;

	int sfd = signalfd(-1, &ss, SFD_CLOEXEC); /* takes the SIGTERM pending since start */

	/* A warm spare (SpareInstances=) leaves with the one connection it is
	 * handed, as a per-connection instance does (lib/ipc's runner too). */
	bool per_connection = getenv("HAVEN_SPARE") != NULL;
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		int listening = sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1);
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) > 0)
			continue; /* ListenDatagram=: nothing to greet */
		if (listening <= 0 && !getenv("HAVEN_HANDOFF_FD"))
			per_connection = true; /* one instance per connection: leave with it */
		add(fd, listening > 0, false);
		if (listening <= 0)
			greet(fd);
	}
	const char *h = getenv("HAVEN_HANDOFF_FD");
	if (h)
		add(atoi(h), false, true);

	if (notify) {
		sleep_ms(notify_delay);
		record("ready %s pid=%d", name, (int)getpid()); /* first: the manager acts on READY */
		sd_notify(0, "READY=1");
	}
	sleep_ms(listen_delay); /* not accepting yet: Readiness=socket must wait */
	uint64_t wd_usec = 0;
	bool wd = sd_watchdog_enabled(0, &wd_usec) > 0;
	pfd[nslots] = (struct pollfd){.fd = sfd, .events = POLLIN};

	for (;;) {
		int timeout = wd && wd_pings != 0 ? (int)(wd_usec / 3000) : -1;
		pfd[nslots] = (struct pollfd){.fd = sfd, .events = POLLIN};
		int r = poll(pfd, (nfds_t)nslots + 1, timeout);
		if (r < 0 && errno != EINTR)
			return 1;
		if (wd && wd_pings != 0) {
			sd_notify(0, "WATCHDOG=1");
			if (wd_pings > 0)
				wd_pings--;
		}
		if (pfd[nslots].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) > 0) {
				record("stop %s pid=%d", name, (int)getpid());
				sleep_ms(stop_delay);
				if (hold)
					continue; /* ignore SIGTERM: the manager must SIGKILL */
				return 0;
			}
		}
		for (int i = 0; i < nslots; i++) {
			if (!pfd[i].revents)
				continue;
			struct slot s = slots[i];
			if (s.listening) {
				/* Recorded before accept4: the moment the queue is
				 * drained the manager may count this service ready and
				 * start its dependents, whose records must come after. */
				if (!crash)
					record("accepted %s pid=%d", name, (int)getpid());
				int cfd = accept4(s.fd, NULL, NULL, SOCK_CLOEXEC);
				if (cfd < 0)
					continue;
				if (crash)
					abort();
				greet(cfd);
				add(cfd, false, false);
			} else if (s.handoff) {
				int cfd = recv_fd(s.fd);
				if (cfd >= 0) {
					greet(cfd);
					add(cfd, false, false);
				} else if (cfd == -EPIPE) {
					drop(i);
					i--;
				}
			} else {
				char buf[4096];
				ssize_t k = read(s.fd, buf, sizeof buf);
				if (k <= 0) {
					drop(i);
					i--;
					bool left = false;
					for (int j = 0; j < nslots; j++)
						if (!slots[j].listening && !slots[j].handoff)
							left = true;
					if (per_connection && !left) {
						record("exit %s pid=%d", name, (int)getpid());
						return 0;
					}
					continue;
				}
				if (write(s.fd, buf, (size_t)k) < 0) {
					/* peer gone; the read side notices */
				}
			}
		}
	}
}
