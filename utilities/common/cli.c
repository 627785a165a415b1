/* cli.c — the connect, timeout and error helpers of Haven's CLIs (cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <haven/log.h>
#include <haven/util.h>

#include "cli.h"

static const char *prog_ = "haven";
static const char *service_ = "the service";
static void (*usage_)(FILE *f);

void cli_init(const char *prog, const char *service, void (*usage)(FILE *f))
{
	prog_ = prog;
	service_ = service;
	usage_ = usage;
	hv_log_set_ident(prog);
}

int cli_timeout_ms(void)
{
	static int timeout;
	if (timeout)
		return timeout;
	timeout = CLI_DEFAULT_TIMEOUT_MS;
	const char *s = getenv(CLI_TIMEOUT_ENV);
	int64_t v;
	if (!s || !*s)
		return timeout;
	if (!strcmp(s, "infinity") || !strcmp(s, "0"))
		timeout = -1;
	else if (hv_parse_i64(s, 1, INT32_MAX, &v) == 0)
		timeout = (int)v;
	else
		fprintf(stderr, "%s: ignoring %s=\"%s\" (want milliseconds, 0 or infinity); "
				"calls time out after %d s\n",
			prog_, CLI_TIMEOUT_ENV, s, CLI_DEFAULT_TIMEOUT_MS / 1000);
	return timeout;
}

void cli_adopt(hv_conn *c) { hv_conn_set_timeout(c, cli_timeout_ms()); }

/* The connect itself waits at most the call timeout: a frozen service's
 * listen queue fills up, and then connect() blocks (SO_SNDTIMEO bounds it
 * for AF_UNIX). */
static int connect_path(hv_loop *loop, const char *path, hv_conn **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	_hv_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int t = cli_timeout_ms();
	struct timeval tv = {.tv_sec = t > 0 ? t / 1000 : 0, .tv_usec = t > 0 ? t % 1000 * 1000 : 0};
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		if (errno != EINTR)
			return errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
	tv = (struct timeval){0};
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		return -errno;
	return hv_conn_from_fd(loop, HV_TAKE_FD(fd), out);
}

int cli_connect(hv_loop *loop, const char *portal, const char *socket_path, hv_conn **out)
{
	char path[4096] = "";
	int r = 0;
	if (socket_path)
		snprintf(path, sizeof path, "%s", socket_path);
	else
		r = hv_portal_path(portal, path, sizeof path);
	if (r == 0)
		r = connect_path(loop, path, out);
	if (r < 0) {
		fprintf(stderr, "%s: cannot reach %s: cannot connect to %s: %s\n", prog_, service_,
			path[0] ? path : portal,
			r == -ETIMEDOUT ? "the connection was not accepted in time" : strerror(-r));
		return r;
	}
	cli_adopt(*out);
	return 0;
}

/* "25 s", "1.5 s", "300 ms" */
static void print_duration(FILE *f, int ms)
{
	if (ms % 1000 == 0)
		fprintf(f, "%d s", ms / 1000);
	else if (ms > 1000)
		fprintf(f, "%d.%03d s", ms / 1000, ms % 1000);
	else
		fprintf(f, "%d ms", ms);
}

int cli_fail(hv_conn *c, int r, const char *what)
{
	const hv_ipc_error *e = c ? hv_conn_last_error(c) : NULL;
	if (r == -ETIMEDOUT && !(e && e->remote && e->code == r)) {
		fprintf(stderr, "%s: %s: %s did not answer within ", prog_, what, service_);
		print_duration(stderr, cli_timeout_ms());
		fprintf(stderr, " (%s)\n", CLI_TIMEOUT_ENV);
	} else {
		fprintf(stderr, "%s: %s: %s\n", prog_, what, hv_conn_strerror(c, r));
	}
	return 1;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog_);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (usage_)
		usage_(stderr);
	return HV_VERB_EXIT_USAGE;
}

int cli_dispatch(int argc, char **argv, const hv_verb *verbs, void *userdata)
{
	return hv_dispatch_verb(prog_, argc, argv, verbs, usage_, userdata);
}

void cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}
