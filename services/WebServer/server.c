/* server.c — WebServer's process (server.h): options, sockets, sandbox,
 * workers. Connections are conn.c's. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/loop.h>
#include <haven/sandbox.h>

#include "conn.h"
#include "file.h"

ws_config ws_opts = {
	.port = 8080,
	.workers = 1,
	.listen = "127.0.0.1",
	.mime_types = "/etc/mime.types",
	.index = "index.html",
	.max_connections = WS_DEFAULT_MAX_CONNECTIONS,
	.keepalive_s = WS_DEFAULT_KEEPALIVE_S,
	.header_s = WS_DEFAULT_HEADER_S,
	.send_s = WS_DEFAULT_SEND_S,
	.cache_valid_ms = 1000,
};

int ws_opt_header(const char *arg, void *target)
{
	const char *colon = strchr(arg, ':');
	if (!colon || colon == arg || strpbrk(arg, "\r\n"))
		return -EINVAL;
	for (const char *p = arg; p < colon; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return -EINVAL;
	return hv_strv_push(target, arg);
}

/* The manager's stream sockets (LISTEN_FDS; datagram ones are not ours). */
static int take_listen_fds(int *fds, int max)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	if (!n || (pid && atoi(pid) != getpid()))
		return 0;
	int count = 0;
	for (int i = 0; i < atoi(n) && count < max; i++) {
		int type = 0;
		socklen_t len = sizeof type;
		if (getsockopt(3 + i, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM)
			fds[count++] = 3 + i;
	}
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return count;
}

/* --listen ADDR --port N by hand (an IPv6 address with or without []). */
static int bind_listen(const ws_config *cfg)
{
	char addr[64];
	snprintf(addr, sizeof addr, "%s", cfg->listen);
	char *a = addr;
	if (a[0] == '[' && a[strlen(a) - 1] == ']')
		a[strlen(a) - 1] = '\0', a++;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u = { 0 };
	socklen_t len;
	if (inet_pton(AF_INET, a, &u.in.sin_addr) == 1) {
		u.in.sin_family = AF_INET;
		u.in.sin_port = htons((uint16_t)cfg->port);
		len = sizeof u.in;
	} else if (inet_pton(AF_INET6, a, &u.in6.sin6_addr) == 1) {
		u.in6.sin6_family = AF_INET6;
		u.in6.sin6_port = htons((uint16_t)cfg->port);
		len = sizeof u.in6;
	} else {
		hv_log_error("--listen %s: not an IPv4 or IPv6 address", cfg->listen);
		return -EINVAL;
	}
	_hv_close_ int fd = socket(u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		return hv_log_errno(-errno, "socket");
	if (bind(fd, &u.sa, len) < 0 || listen(fd, SOMAXCONN) < 0)
		return hv_log_errno(-errno, "Cannot listen on %s port %lld", cfg->listen,
				    (long long)cfg->port);
	return HV_TAKE_FD(fd);
}

/* As many open files as the hard limit allows: one per connection. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int run_worker(const ws_service *svc, ws_root *root, const int *fds, int n)
{
	int r = hv_pledge(svc->worker_pledge, NULL);
	if (r < 0)
		return hv_log_errno(r, "pledge(%s)", svc->worker_pledge);
	_hv_cleanup_(hv_loop_freep) hv_loop *loop = NULL;
	if ((r = hv_loop_new(&loop)) < 0 || (r = hv_loop_quit_on_signals(loop)) < 0)
		return hv_log_errno(r, "Cannot make the loop");
	ws_worker *w = NULL;
	r = ws_worker_new(loop, root, &ws_opts, fds, n, &w);
	if (r >= 0)
		r = hv_loop_run(loop);
	ws_worker_free(w);
	return r < 0 ? 1 : r;
}

/* Several workers: forked with the sockets and the sandbox's view; the
 * parent restarts one that dies and ends them all on SIGTERM. */
static pid_t spawn_worker(const ws_service *svc, ws_root *root, const int *fds, int n)
{
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		_exit(run_worker(svc, root, fds, n));
	}
	return pid;
}

static int run_workers(const ws_service *svc, ws_root *root, const int *fds, int n, int count)
{
	pid_t pids[WS_MAX_WORKERS];
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < count; i++)
		if ((pids[i] = spawn_worker(svc, root, fds, n)) < 0)
			return hv_log_errno(-errno, "fork");
	int r = hv_pledge(svc->master_pledge, NULL);
	if (r < 0)
		return hv_log_errno(r, "pledge(%s)", svc->master_pledge);
	for (;;) {
		int sig = 0;
		sigwait(&set, &sig);
		if (sig != SIGCHLD)
			break;
		pid_t dead;
		int status;
		while ((dead = waitpid(-1, &status, WNOHANG)) > 0)
			for (int i = 0; i < count; i++)
				if (pids[i] == dead) {
					hv_log_warn("worker %d ended (status %#x): starting another",
						    (int)dead, status);
					pids[i] = spawn_worker(svc, root, fds, n);
				}
	}
	for (int i = 0; i < count; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (wait(NULL) > 0)
		;
	return 0;
}

int ws_main(const ws_service *svc, int argc, char **argv)
{
	const hv_option *tables[] = { svc->options, NULL };
	hv_cmdline cmd = { .name = svc->name, .summary = svc->summary, .tables = tables };
	int first, r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	if (!ws_opts.root) {
		fprintf(stderr, "%s: --root DIR is required\n", svc->name);
		hv_options_usage(&cmd, stderr);
		return 2;
	}
	hv_log_set_ident(svc->name);
	if (!getenv("LISTEN_FDS"))
		raise_nofile(); /* by hand; the manager sets LimitNOFILE= */
	ws_root *root = NULL;
	r = ws_root_open(ws_opts.root, ws_opts.mime_types,
			 (uint64_t)ws_opts.cache_valid_ms * 1000000ull, &root);
	if (r < 0)
		return 1;
	int fds[16], n = take_listen_fds(fds, 16);
	if (n == 0 && (fds[0] = bind_listen(&ws_opts)) >= 0)
		n = 1;
	if (n == 0) {
		ws_root_free(root);
		return 1;
	}
	/* Workers accept until EAGAIN (also on the manager's sockets, as every
	 * socket-activated daemon does). */
	for (int i = 0; i < n; i++)
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	/* The root's view only (read), before any request is read. */
	r = hv_unveil(ws_opts.root, svc->root_perms);
	if (r >= 0)
		r = hv_unveil(NULL, NULL);
	if (r < 0 && r != -ENOSYS && r != -EOPNOTSUPP) { /* no Landlock: logged, go on */
		ws_root_free(root);
		return hv_log_errno(r, "unveil(%s)", ws_opts.root), 1;
	}
	hv_log_info("serving %s with %lld worker(s) on %d socket(s)", ws_opts.root,
		    (long long)ws_opts.workers, n);
	signal(SIGPIPE, SIG_IGN);
	r = ws_opts.workers > 1 ? run_workers(svc, root, fds, n, (int)ws_opts.workers)
				: run_worker(svc, root, fds, n);
	ws_root_free(root);
	hv_strv_clear(&ws_opts.headers);
	return r < 0 ? 1 : r;
}
