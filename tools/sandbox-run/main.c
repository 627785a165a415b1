/* sandbox-run — run a command under pledge promises and unveiled paths.
 *
 *   sandbox-run [--pledge PROMISES] [--unveil PATH:PERMS]... [--debug] -- COMMAND [ARG...]
 *
 * The command starts already confined (the filter is installed in the child
 * between fork and exec). sandbox-run stays as its supervisor: it receives
 * the filter's notification listener, so a forbidden call is logged by name
 * before the command is killed with SIGSYS (or, with --debug, the call fails
 * with EPERM and the command goes on). Its exit status is the command's; a
 * command killed by a signal makes sandbox-run die of the same signal (a
 * shell shows 128+N).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "haven/log.h"
#include "haven/sandbox.h"
#include "haven/util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sandbox-run [--pledge PROMISES] [--unveil PATH:PERMS]... [--bare-unveil] [--debug] -- COMMAND [ARG...]\n"
		"       sandbox-run --pledge PROMISES --print-filter [--arch ARCH]\n"
		"Run COMMAND confined by pledge promises (seccomp) and unveiled paths (Landlock).\n"
		"\n"
		"  -p, --pledge PROMISES  space-separated promises, e.g. \"stdio rpath\" (default: none given,\n"
		"                         no system-call filter)\n"
		"  -u, --unveil PATH:PERMS  allow PATH with PERMS, a subset of rwxc; repeatable. Once one is\n"
		"                         given, everything else is invisible.\n"
		"                         The command's own executable, its #! interpreter, the library\n"
		"                         directories (rx) and /etc/ld.so.cache (r) are added, unless --bare-unveil\n"
		"      --bare-unveil      only the --unveil paths, nothing added\n"
		"      --print-filter     print the seccomp filter the promises compile to, and exit\n"
		"      --arch ARCH        with --print-filter: compile for ARCH (x86_64, aarch64)\n"
		"  -d, --debug            forbidden calls fail with EPERM (and are logged) instead of killing\n"
		"  -h, --help             show this help\n"
		"\n"
		"Exit status: the command's; 126/127 if it cannot be started; 2 for bad usage.\n"
		"Promises and permissions: see docs/sandbox.md.\n");
}

static pid_t child = -1;

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

/* PATH lookup in the parent, so the child execs one known pointer. */
static char *resolve(const char *cmd)
{
	if (strchr(cmd, '/'))
		return strdup(cmd);
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, ":");
		char *cand = NULL;
		if (asprintf(&cand, "%.*s/%s", (int)(len ? len : 1), len ? p : ".", cmd) < 0)
			return NULL;
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		p += len;
		if (*p == ':')
			p++;
	}
	return NULL;
}

static int run(const hv_sandbox_spec *spec, char **argv)
{
	_hv_free_ char *path = resolve(argv[0]);
	if (!path) {
		hv_log_error("%s: command not found", argv[0]);
		return 127;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		hv_log_errno(-errno, "Failed to create a socket pair");
		return 126;
	}
	child = fork();
	if (child < 0) {
		hv_log_errno(-errno, "Failed to fork");
		return 126;
	}
	if (child == 0) {
		close(sv[0]);
		/* Socket activation (LISTEN_FDS) names the process that owns the
		 * fds: that was us, now it is the command. */
		const char *lp = getenv("LISTEN_PID");
		char buf[24];
		if (lp && atol(lp) == (long)getppid()) {
			snprintf(buf, sizeof(buf), "%ld", (long)getpid());
			setenv("LISTEN_PID", buf, 1);
		}
		int r = hv_sandbox_exec_supervised(spec, path, argv, environ, sv[1]);
		_exit(r == -ENOENT ? 127 : 126);
	}
	close(sv[1]);

	struct sigaction sa = {.sa_handler = forward};
	sigemptyset(&sa.sa_mask);
	const int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
	for (size_t i = 0; i < HV_ARRAY_SIZE(fwd); i++)
		sigaction(fwd[i], &sa, NULL);

	_hv_close_ int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	_hv_close_ int sock = sv[0];
	_hv_close_ int listener = -1;
	const char *ident = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int status = 0;

	for (;;) {
		struct pollfd pfd[3] = {
			{.fd = pidfd, .events = POLLIN},
			{.fd = sock, .events = POLLIN},
			{.fd = listener, .events = POLLIN},
		};
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			hv_log_errno(-errno, "poll");
			break;
		}
		if (pfd[2].revents & POLLIN) {
			hv_sandbox_notify_handle(listener, ident, spec->promises, spec->debug);
			continue; /* serve every pending call before reaping */
		}
		if (pfd[1].revents) {
			int fd = hv_sandbox_recv_listener(sock);
			if (fd >= 0)
				listener = fd;
			hv_close(&sock); /* one fd at most, then the exec closes it */
		}
		if (pfd[0].revents || pidfd < 0) {
			pid_t w;
			do
				w = waitpid(child, &status, 0);
			while (w < 0 && errno == EINTR);
			break;
		}
	}

	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	int sig = WTERMSIG(status);
	if (sig == SIGSYS && listener < 0)
		hv_log_error("%s was killed by SIGSYS: a system call outside \"%s\"", argv[0],
			     spec->promises ? spec->promises : "");
	/* Die the same way (without a core of our own). */
	struct rlimit no_core = {0, 0};
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	return 128 + sig;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pledge", required_argument, NULL, 'p'},
		{"unveil", required_argument, NULL, 'u'},
		{"debug", no_argument, NULL, 'd'},
		{"bare-unveil", no_argument, NULL, 'B'},
		{"print-filter", no_argument, NULL, 'P'},
		{"arch", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	hv_sandbox_spec spec = {0};
	_hv_free_ const char **unveils = calloc((size_t)argc + 1, sizeof(char *));
	size_t n_unveils = 0;
	bool print_filter = false;
	const char *arch = NULL;
	int c;

	if (!unveils)
		return 126;
	while ((c = getopt_long(argc, argv, "+p:u:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			spec.promises = optarg;
			break;
		case 'u':
			unveils[n_unveils++] = optarg;
			break;
		case 'd':
			spec.debug = true;
			break;
		case 'B':
			spec.bare_unveil = true;
			break;
		case 'P':
			print_filter = true;
			break;
		case 'A':
			arch = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (print_filter) {
		if (hv_pledge_check(spec.promises ? spec.promises : "") < 0) {
			usage(stderr);
			return 2;
		}
		fflush(stdout);
		return hv_pledge_export_arch(spec.promises ? spec.promises : "", arch, STDOUT_FILENO) < 0 ? 1 : 0;
	}
	if (optind >= argc) {
		fprintf(stderr, "sandbox-run: no command given\n");
		usage(stderr);
		return 2;
	}
	if (n_unveils)
		spec.unveils = unveils;
	if (hv_sandbox_spec_check(&spec) < 0) {
		usage(stderr);
		return 2;
	}
	/* A missing path is a bad argument, said here rather than as a
	 * failed start of the command. */
	for (size_t i = 0; i < n_unveils; i++) {
		if (strncmp(unveils[i], "tcp:", 4) == 0)
			continue;
		_hv_free_ char *p = strndup(unveils[i], (size_t)(strrchr(unveils[i], ':') - unveils[i]));
		if (p && access(p, F_OK) < 0) {
			fprintf(stderr, "sandbox-run: --unveil %s: %s\n", unveils[i], strerror(errno));
			return 2;
		}
	}
	return run(&spec, argv + optind);
}
