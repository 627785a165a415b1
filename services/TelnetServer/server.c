/* server.c — TelnetServer's process (server.h): the command line, the
 * socket, one process per connection. A connection's session is
 * relay.c's. */
#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

ts_config ts_opts = {
	.port = 2323,
	.listen = "127.0.0.1",
};

/* The manager's first stream socket: an accepted connection
 * (AcceptSocketConnections) or a listening socket; -1 if none. */
static int take_listen_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	int fd = -1;
	if (n && (!pid || atoi(pid) == getpid()))
		for (int i = 0; i < atoi(n) && fd < 0; i++) {
			int type = 0;
			socklen_t len = sizeof type;
			if (getsockopt(3 + i, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
			    type == SOCK_STREAM)
				fd = 3 + i;
		}
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return fd;
}

/* --listen ADDR --port N (numeric: IPv4, IPv6 with or without []). */
static int bind_listen(const char *listen_addr, int64_t port)
{
	char host[64], serv[8];
	snprintf(host, sizeof host, "%s", listen_addr);
	char *h = host;
	size_t hl = strlen(h);
	if (hl > 2 && h[0] == '[' && h[hl - 1] == ']')
		h[hl - 1] = '\0', h++;
	snprintf(serv, sizeof serv, "%lld", (long long)port);
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM},
			*ai = NULL;
	if (getaddrinfo(h, serv, &hints, &ai) != 0) {
		hv_log_error("--listen %s: not an IPv4 or IPv6 address", listen_addr);
		return -EINVAL;
	}
	_hv_close_ int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, r = 0;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0)
		r = hv_log_errno(-errno, "Cannot listen on %s port %lld", listen_addr,
				 (long long)port);
	freeaddrinfo(ai);
	return r < 0 ? r : HV_TAKE_FD(fd);
}

/* inetd's shape: a process per connection. The parent only accepts and
 * forks (it reads nothing a client sends); each child confines itself
 * once its pty and session are set up (relay.c). */
static int accept_loop(int lfd)
{
	signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
	for (;;) {
		int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				if (errno != EINTR && errno != ECONNABORTED)
					sleep(1); /* out of resources: let connections end */
				continue;
			}
			return hv_log_errno(-errno, "accept");
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			signal(SIGCHLD, SIG_DFL);
			_exit(ts_serve_connection(conn));
		}
		if (pid < 0)
			hv_log_warn("fork: %m: connection dropped");
		close(conn);
	}
}

int ts_main(const ts_service *svc, int argc, char **argv)
{
	const hv_option *tables[] = {svc->options, NULL};
	hv_cmdline cmd = {.name = svc->name, .summary = svc->summary, .tables = tables};
	int first, r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	if (ts_opts.login_socket && ts_opts.no_auth) {
		fprintf(stderr, "%s: --login-socket and --no-auth exclude each other\n", svc->name);
		hv_options_usage(&cmd, stderr);
		return 2;
	}
	hv_log_set_ident(svc->name);
	bool handed = getenv("LISTEN_FDS") != NULL;
	int fd = take_listen_fd();
	if (handed && fd < 0) {
		hv_log_error("LISTEN_FDS names no stream socket");
		return 1;
	}
	if (fd >= 0) {
		int listening = 0;
		socklen_t len = sizeof listening;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && !listening)
			return ts_serve_connection(fd);
	} else if ((fd = bind_listen(ts_opts.listen, ts_opts.port)) < 0) {
		return 1;
	}
	hv_log_info("accepting telnet connections%s", ts_opts.no_auth ? " (--no-auth)" : "");
	return accept_loop(fd) < 0 ? 1 : 0;
}
