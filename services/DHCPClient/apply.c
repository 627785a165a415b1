/* apply.c — a lease onto the interface (apply.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include <haven/log.h>

#include "apply.h"

static struct hv_rtnl_addr to_addr(int ifindex, const struct dhc_lease *l, uint32_t remaining)
{
	struct hv_rtnl_addr a = {.family = AF_INET, .ifindex = ifindex, .prefixlen = l->prefix,
				 .valid_lft = remaining, .preferred_lft = remaining};
	memcpy(a.addr, &l->addr, 4);
	if (l->broadcast) {
		a.has_broadcast = true;
		memcpy(a.broadcast, &l->broadcast, 4);
	}
	return a;
}

/* The routes of a lease, in order: fills r[], returns the count. */
static unsigned routes_of(int ifindex, const struct dhc_lease *l, uint32_t metric,
			  struct hv_rtnl_route *r)
{
	unsigned n = 0;
	struct hv_rtnl_route base = {.family = AF_INET, .ifindex = ifindex, .metric = metric,
				     .protocol = RTPROT_DHCP, .has_prefsrc = true};
	memcpy(base.prefsrc, &l->addr, 4);
	if (l->n_routes) {
		for (unsigned i = 0; i < l->n_routes; i++) {
			r[n] = base;
			memcpy(r[n].dst, &l->routes[i].dst, 4);
			r[n].dst_len = l->routes[i].len;
			if (l->routes[i].gw) {
				r[n].has_gateway = true;
				memcpy(r[n].gateway, &l->routes[i].gw, 4);
			}
			n++;
		}
	} else if (l->n_routers) {
		r[n] = base;
		r[n].has_gateway = true;
		memcpy(r[n].gateway, &l->routers[0], 4);
		n++;
	}
	return n;
}

int dhc_apply(hv_rtnl *rt, int ifindex, const struct dhc_lease *l, uint32_t remaining,
	      uint32_t metric)
{
	char s[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &l->addr, s, sizeof(s));
	if (remaining == 0)
		remaining = 1;
	struct hv_rtnl_addr a = to_addr(ifindex, l, l->lease == UINT32_MAX ? HV_RTNL_FOREVER : remaining);
	int first = hv_rtnl_addr_add(rt, &a, HV_RTNL_REPLACE);
	if (first < 0)
		return hv_log_errno(first, "failed to set address %s/%u", s, l->prefix);
	if (l->mtu >= 576) {
		int r = hv_rtnl_link_set_mtu(rt, ifindex, l->mtu);
		if (r < 0)
			hv_log_warn("failed to set MTU %u: %s", l->mtu, strerror(-r));
	}
	struct hv_rtnl_route routes[DHC_MAX_ROUTES + 1];
	unsigned n = routes_of(ifindex, l, metric, routes);
	for (unsigned i = 0; i < n; i++) {
		int r = hv_rtnl_route_add(rt, &routes[i], HV_RTNL_REPLACE);
		if (r < 0) {
			char d[INET_ADDRSTRLEN];
			hv_log_warn("failed to add route %s/%u: %s",
				    inet_ntop(AF_INET, routes[i].dst, d, sizeof(d)), routes[i].dst_len,
				    strerror(-r));
			if (!first)
				first = r;
		}
	}
	return first;
}

void dhc_unapply(hv_rtnl *rt, int ifindex, const struct dhc_lease *l, uint32_t metric)
{
	struct hv_rtnl_route routes[DHC_MAX_ROUTES + 1];
	unsigned n = routes_of(ifindex, l, metric, routes);
	for (unsigned i = 0; i < n; i++)
		hv_rtnl_route_del(rt, &routes[i]);
	struct hv_rtnl_addr a = to_addr(ifindex, l, 1);
	hv_rtnl_addr_del(rt, &a);
}
