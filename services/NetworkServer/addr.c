/* addr.c — address and route text forms (addr.h), on inet_pton. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <haven/util.h>

static int parse_bare(const char *s, size_t n, nws_prefix *out)
{
	char buf[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->bytes) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->bytes) == 1)
		out->family = AF_INET6;
	else
		return -EINVAL;
	out->len = out->family == AF_INET ? 32 : 128;
	return 0;
}

int nws_prefix_parse(const char *s, bool need_prefix, nws_prefix *out)
{
	const char *slash = strchr(s, '/');
	if (!slash && need_prefix)
		return -ERANGE;
	int r = parse_bare(s, slash ? (size_t)(slash - s) : strlen(s), out);
	if (r < 0 || !slash)
		return r;
	uint64_t len;
	/* Digits only: hv_parse_u64 would take "+24" or " 24". */
	if (!slash[1] || strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
	    hv_parse_u64(slash + 1, out->len, &len) < 0)
		return -ERANGE;
	out->len = (uint8_t)len;
	return 0;
}

int nws_route_parse(const char *dst, const char *gw, uint32_t metric, nws_route_spec *out)
{
	memset(out, 0, sizeof(*out));
	out->metric = metric;
	nws_prefix g = {0};
	int r;
	if (gw && *gw) {
		if ((r = parse_bare(gw, strlen(gw), &g)) < 0)
			return r;
		out->has_gw = true;
		memcpy(out->gw, g.bytes, sizeof out->gw);
	}
	if (!strcmp(dst, "default"))
		out->dst.family = out->has_gw ? g.family : AF_INET;
	else if ((r = nws_prefix_parse(dst, false, &out->dst)) < 0)
		return r;
	if (out->has_gw && g.family != out->dst.family)
		return -EINVAL;
	return 0;
}

int nws_route_parse_line(const char *line, nws_route_spec *out)
{
	char copy[256];
	if (strlen(line) >= sizeof copy)
		return -EINVAL;
	strcpy(copy, line);
	const char *dst = NULL, *gw = "";
	uint64_t metric = 0;
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (!dst) {
			dst = w;
			continue;
		}
		char *v = strtok_r(NULL, " \t", &save);
		if (!v)
			return -EINVAL;
		if (!strcmp(w, "via"))
			gw = v;
		else if (!strcmp(w, "metric") && hv_parse_u64(v, UINT32_MAX, &metric) == 0)
			continue;
		else
			return -EINVAL;
	}
	return dst ? nws_route_parse(dst, gw, (uint32_t)metric, out) : -EINVAL;
}

void nws_addr_format(uint8_t family, const uint8_t *bytes, char *buf, size_t size)
{
	if (!inet_ntop(family, bytes, buf, (socklen_t)size))
		snprintf(buf, size, "?");
}

void nws_prefix_format(const nws_prefix *p, char *buf)
{
	char a[INET6_ADDRSTRLEN];
	nws_addr_format(p->family, p->bytes, a, sizeof a);
	snprintf(buf, NWS_TEXT_MAX, "%s/%u", a, p->len);
}

void nws_route_format(const nws_route_spec *r, char *buf)
{
	char d[NWS_TEXT_MAX], g[INET6_ADDRSTRLEN];
	if (r->dst.len == 0)
		snprintf(d, sizeof d, "default");
	else
		nws_prefix_format(&r->dst, d);
	int n = snprintf(buf, NWS_TEXT_MAX, "%s", d);
	if (r->has_gw) {
		nws_addr_format(r->dst.family, r->gw, g, sizeof g);
		n += snprintf(buf + n, NWS_TEXT_MAX - (size_t)n, " via %s", g);
	}
	if (r->metric)
		snprintf(buf + n, NWS_TEXT_MAX - (size_t)n, " metric %u", r->metric);
}
