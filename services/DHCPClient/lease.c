/* lease.c — a granted lease: validation of the ACK, and its saved copy
 * (text, "key=value" lines, so a person can read it). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>
#include <haven/util.h>

#include "lease.h"

#define LEASE_FILE_MAX 8192

static uint8_t mask_len(uint32_t mask)
{
	return (uint8_t)__builtin_popcount(mask);
}

int dhc_lease_from_ack(const struct dhc_msg *m, struct dhc_lease *l)
{
	if (!m->yiaddr || !m->has_lease || m->lease == 0 || !m->has_server_id)
		return -EINVAL;
	uint32_t h = ntohl(m->yiaddr);
	if ((h >> 24) == 0 || (h >> 24) == 127 || (h >> 28) >= 14 || h == 0xffffffffu)
		return -EINVAL; /* 0/8, loopback, multicast, reserved, broadcast */
	memset(l, 0, sizeof(*l));
	l->addr = m->yiaddr;
	l->server_id = m->server_id;
	/* Without option 1, the classful mask (RFC 2131 leaves it open). */
	l->prefix = m->has_subnet ? mask_len(m->subnet) : (h >> 31) == 0 ? 8 : (h >> 30) == 2 ? 16 : 24;
	if (l->prefix > 30)
		l->broadcast = 0;
	else if (m->has_broadcast)
		l->broadcast = m->broadcast;
	else
		l->broadcast = htonl(h | (0xffffffffu >> l->prefix));
	l->n_routers = m->n_routers;
	memcpy(l->routers, m->routers, sizeof(l->routers));
	l->n_dns = m->n_dns;
	memcpy(l->dns, m->dns, sizeof(l->dns));
	l->n_routes = m->n_routes;
	memcpy(l->routes, m->routes, sizeof(l->routes));
	memcpy(l->domain, m->domain, sizeof(l->domain));
	l->mtu = m->mtu;
	l->lease = m->lease;
	if (m->has_t1 && m->has_t2 && m->t1 < m->t2 && m->t2 < m->lease) {
		l->t1 = m->t1;
		l->t2 = m->t2;
	} else if (m->has_t1 && !m->has_t2 && m->t1 < m->lease) {
		l->t1 = m->t1;
		l->t2 = (uint32_t)((uint64_t)m->lease * 7 / 8);
		if (l->t2 <= l->t1)
			l->t2 = l->t1 + (m->lease - l->t1) / 2;
	} else {
		l->t1 = m->lease / 2;
		l->t2 = (uint32_t)((uint64_t)m->lease * 7 / 8);
	}
	l->acquired = time(NULL);
	return 0;
}

static void put_addr(FILE *f, const char *key, uint32_t a)
{
	char s[INET_ADDRSTRLEN];
	fprintf(f, "%s=%s\n", key, inet_ntop(AF_INET, &a, s, sizeof(s)));
}

struct save_ctx {
	const struct dhc_lease *l;
};

static int fill(int fd, void *userdata)
{
	const struct dhc_lease *l = ((struct save_ctx *)userdata)->l;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "# DHCPClient lease (docs/dhcpclient.md)\n");
	put_addr(f, "address", l->addr);
	fprintf(f, "prefix=%u\n", l->prefix);
	put_addr(f, "server", l->server_id);
	if (l->broadcast)
		put_addr(f, "broadcast", l->broadcast);
	for (unsigned i = 0; i < l->n_routers; i++)
		put_addr(f, "router", l->routers[i]);
	for (unsigned i = 0; i < l->n_dns; i++)
		put_addr(f, "dns", l->dns[i]);
	for (unsigned i = 0; i < l->n_routes; i++) {
		char d[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
		fprintf(f, "route=%s/%u,%s\n", inet_ntop(AF_INET, &l->routes[i].dst, d, sizeof(d)),
			l->routes[i].len, inet_ntop(AF_INET, &l->routes[i].gw, g, sizeof(g)));
	}
	if (l->domain[0])
		fprintf(f, "domain=%s\n", l->domain);
	if (l->mtu)
		fprintf(f, "mtu=%u\n", l->mtu);
	fprintf(f, "lease=%u\nt1=%u\nt2=%u\nacquired=%lld\n", l->lease, l->t1, l->t2,
		(long long)l->acquired);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	int r = hv_write_full(fd, buf, len);
	free(buf);
	return r;
}

static void file_name(char *out, size_t cap, const char *ifname)
{
	snprintf(out, cap, "%s.lease", ifname);
}

int dhc_lease_save(int dirfd, const char *ifname, const struct dhc_lease *l)
{
	char name[64];
	file_name(name, sizeof(name), ifname);
	struct save_ctx ctx = {l};
	return hv_replace_file_at(dirfd, name, 0600, 0, fill, &ctx, NULL);
}

int dhc_lease_remove(int dirfd, const char *ifname)
{
	char name[64];
	file_name(name, sizeof(name), ifname);
	return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

static bool get_addr(const char *v, uint32_t *out)
{
	return inet_pton(AF_INET, v, out) == 1;
}

static bool get_uint(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || end == v || *end || n > max || *v == '-')
		return false;
	*out = n;
	return true;
}

static bool get_route(const char *v, struct dhc_route *r)
{
	char d[INET_ADDRSTRLEN + 4];
	const char *slash = strchr(v, '/'), *comma = strchr(v, ',');
	unsigned long long len;
	if (!slash || !comma || comma < slash || (size_t)(slash - v) >= sizeof(d))
		return false;
	memcpy(d, v, (size_t)(slash - v));
	d[slash - v] = '\0';
	char lens[8];
	if ((size_t)(comma - slash - 1) >= sizeof(lens))
		return false;
	memcpy(lens, slash + 1, (size_t)(comma - slash - 1));
	lens[comma - slash - 1] = '\0';
	if (!get_addr(d, &r->dst) || !get_uint(lens, 32, &len) || !get_addr(comma + 1, &r->gw))
		return false;
	r->len = (uint8_t)len;
	return true;
}

/* One "key=value" line into l; false when it is not understood. */
static bool load_line(char *key, char *v, struct dhc_lease *l)
{
	unsigned long long n;
	if (!strcmp(key, "address"))
		return get_addr(v, &l->addr);
	if (!strcmp(key, "server"))
		return get_addr(v, &l->server_id);
	if (!strcmp(key, "broadcast"))
		return get_addr(v, &l->broadcast);
	if (!strcmp(key, "router"))
		return l->n_routers < DHC_MAX_ROUTERS && get_addr(v, &l->routers[l->n_routers++]);
	if (!strcmp(key, "dns"))
		return l->n_dns < DHC_MAX_DNS && get_addr(v, &l->dns[l->n_dns++]);
	if (!strcmp(key, "route"))
		return l->n_routes < DHC_MAX_ROUTES && get_route(v, &l->routes[l->n_routes++]);
	if (!strcmp(key, "domain"))
		return strlen(v) < sizeof(l->domain) && strcpy(l->domain, v);
	if (!strcmp(key, "prefix") && get_uint(v, 32, &n))
		return l->prefix = (uint8_t)n, true;
	if (!strcmp(key, "mtu") && get_uint(v, 65535, &n))
		return l->mtu = (uint16_t)n, true;
	if (!strcmp(key, "lease") && get_uint(v, UINT32_MAX, &n))
		return l->lease = (uint32_t)n, true;
	if (!strcmp(key, "t1") && get_uint(v, UINT32_MAX, &n))
		return l->t1 = (uint32_t)n, true;
	if (!strcmp(key, "t2") && get_uint(v, UINT32_MAX, &n))
		return l->t2 = (uint32_t)n, true;
	if (!strcmp(key, "acquired") && get_uint(v, INT64_MAX, &n))
		return l->acquired = (time_t)n, true;
	return false;
}

int dhc_lease_load(int dirfd, const char *ifname, struct dhc_lease *out)
{
	char name[64];
	file_name(name, sizeof(name), ifname);
	_hv_free_ uint8_t *data = NULL;
	size_t len;
	int r = hv_read_file_at(dirfd, name, O_NOFOLLOW, LEASE_FILE_MAX, &data, &len);
	if (r < 0)
		return r;
	struct dhc_lease l = {0};
	char *text = (char *)data, *save = NULL;
	text[len] = '\0';
	unsigned lineno = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#')
			continue;
		char *eq = strchr(line, '=');
		if (eq)
			*eq = '\0';
		if (!eq || !load_line(line, eq + 1, &l))
			return hv_log_errno(-EBADMSG, "%s:%u: not a lease line", name, lineno);
	}
	if (!l.addr || !l.lease || !l.server_id)
		return hv_log_errno(-EBADMSG, "%s: no address, server or lease time", name);
	if (l.lease != UINT32_MAX && l.acquired + (time_t)l.lease <= time(NULL))
		return -ESTALE;
	*out = l;
	return 0;
}
