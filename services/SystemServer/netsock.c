/* netsock.c — TCP and UDP sockets a definition declares (see netsock.h).
 *
 * The manager binds them (it may hold the right to bind a low port; the
 * service never needs to) and keeps them across restarts of the service,
 * so a client connecting while the service restarts waits in the backlog.
 */
#include "netsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <haven/util.h>

bool ss_netsock_is(const char *spec)
{
	return strncmp(spec, "tcp:", 4) == 0 || strncmp(spec, "udp:", 4) == 0;
}

static int parse_port(const char *s, unsigned *port)
{
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return -EINVAL;
	if (strlen(s) > 5 || atoi(s) < 1 || atoi(s) > 65535)
		return -ERANGE;
	*port = (unsigned)atoi(s);
	return 0;
}

/* Split "[v6]:port", "v4:port" or "port"; addr gets the text between. */
static int split(const char *v, char *addr, size_t size, unsigned *port, bool *v6)
{
	const char *colon;
	*v6 = false;
	if (v[0] == '[') {
		const char *end = strchr(v, ']');
		if (!end || end[1] != ':' || (size_t)(end - v - 1) >= size)
			return -EINVAL;
		snprintf(addr, size, "%.*s", (int)(end - v - 1), v + 1);
		*v6 = true;
		colon = end + 1;
	} else if ((colon = strrchr(v, ':'))) {
		if ((size_t)(colon - v) >= size || memchr(v, ':', (size_t)(colon - v)))
			return -EINVAL; /* an IPv6 address needs its brackets */
		snprintf(addr, size, "%.*s", (int)(colon - v), v);
	} else {
		snprintf(addr, size, "::");
		*v6 = true;
		return parse_port(v, port);
	}
	return parse_port(colon + 1, port);
}

int ss_netsock_parse(int type, const char *value, char *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned port;
	bool v6;
	int r = split(value, addr, sizeof addr, &port, &v6);
	if (r < 0)
		return r;
	unsigned char bin[sizeof(struct in6_addr)];
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) != 1)
		return -EINVAL;
	char canon[INET6_ADDRSTRLEN];
	inet_ntop(v6 ? AF_INET6 : AF_INET, bin, canon, sizeof canon);
	snprintf(out, SS_NETSOCK_SPEC_MAX, v6 ? "%s:[%s]:%u" : "%s:%s:%u",
		 type == SOCK_DGRAM ? "udp" : "tcp", canon, port);
	return 0;
}

typedef union {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
} netaddr;

/* A canonical spec back into a socket address. */
static int spec_addr(const char *spec, int *type, netaddr *a, socklen_t *len)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned port;
	bool v6;
	if (!ss_netsock_is(spec) || split(spec + 4, addr, sizeof addr, &port, &v6) < 0)
		return -EINVAL;
	*type = spec[0] == 'u' ? SOCK_DGRAM : SOCK_STREAM;
	memset(a, 0, sizeof *a);
	if (v6) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons((uint16_t)port);
		*len = sizeof a->in6;
		return inet_pton(AF_INET6, addr, &a->in6.sin6_addr) == 1 ? 0 : -EINVAL;
	}
	a->in.sin_family = AF_INET;
	a->in.sin_port = htons((uint16_t)port);
	*len = sizeof a->in;
	return inet_pton(AF_INET, addr, &a->in.sin_addr) == 1 ? 0 : -EINVAL;
}

int ss_netsock_open(const char *spec, int backlog, bool reuse_port)
{
	netaddr a;
	socklen_t len;
	int type;
	int r = spec_addr(spec, &type, &a, &len);
	if (r < 0)
		return r;
	_hv_close_ int fd = socket(a.sa.sa_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	/* A restarted manager rebinds at once, whatever TIME_WAIT remains. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0))
		return -errno;
	if (bind(fd, &a.sa, len) < 0)
		return -errno;
	if (type == SOCK_STREAM && listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0)
		return -errno;
	return HV_TAKE_FD(fd);
}

int ss_netsock_connect(const char *spec)
{
	netaddr a;
	socklen_t len;
	int type;
	int r = spec_addr(spec, &type, &a, &len);
	if (r < 0)
		return r;
	_hv_close_ int fd = socket(a.sa.sa_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A wildcard address is reached through loopback. */
	if (a.sa.sa_family == AF_INET && a.in.sin_addr.s_addr == htonl(INADDR_ANY))
		a.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (a.sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a.in6.sin6_addr))
		a.in6.sin6_addr = in6addr_loopback;
	if (connect(fd, &a.sa, len) < 0 && errno != EINPROGRESS)
		return -errno;
	return HV_TAKE_FD(fd);
}

void ss_netsock_fdname(const char *spec, char *out, size_t size)
{
	const char *port = strrchr(spec, ':');
	snprintf(out, size, "%.3s-%s", spec, port ? port + 1 : "");
}
