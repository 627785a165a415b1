/* apply.c — changes to the kernel, through lib/rtnl (haven/rtnl.h): one
 * request, one acknowledgement, on the service's private socket. The
 * kernel answers at once; this waits on no other process. */
#include "NetworkServer.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <haven/rtnl.h>
#include <linux/rtnetlink.h>

static int rtnl(hv_rtnl **out)
{
	int r = 0;
	if (!nws.rtnl)
		r = hv_rtnl_open(&nws.rtnl);
	*out = nws.rtnl;
	return r;
}

int nws_kernel_set_up(uint32_t index, bool up)
{
	hv_rtnl *h;
	int r = rtnl(&h);
	return r < 0 ? r : hv_rtnl_link_set_up(h, (int)index, up);
}

int nws_kernel_set_mtu(uint32_t index, uint32_t mtu)
{
	hv_rtnl *h;
	int r = rtnl(&h);
	return r < 0 ? r : hv_rtnl_link_set_mtu(h, (int)index, mtu);
}

int nws_kernel_address(uint32_t index, const nws_prefix *p, bool add)
{
	hv_rtnl *h;
	int r = rtnl(&h);
	if (r < 0)
		return r;
	struct hv_rtnl_addr a = {.family = p->family, .ifindex = (int)index, .prefixlen = p->len,
				 .valid_lft = HV_RTNL_FOREVER, .preferred_lft = HV_RTNL_FOREVER};
	memcpy(a.addr, p->bytes, sizeof a.addr);
	/* Adding one that is there refreshes it (a configuration applied
	 * again at start must not fail on what survived a restart). */
	return add ? hv_rtnl_addr_add(h, &a, HV_RTNL_REPLACE) : hv_rtnl_addr_del(h, &a);
}

int nws_kernel_route(uint32_t index, const nws_route_spec *rs, bool add)
{
	hv_rtnl *h;
	int r = rtnl(&h);
	if (r < 0)
		return r;
	struct hv_rtnl_route rt = {.family = rs->dst.family, .ifindex = (int)index, .dst_len = rs->dst.len,
				   .has_gateway = rs->has_gw, .metric = rs->metric,
				   .protocol = RTPROT_STATIC};
	memcpy(rt.dst, rs->dst.bytes, sizeof rt.dst);
	memcpy(rt.gateway, rs->gw, sizeof rt.gateway);
	return add ? hv_rtnl_route_add(h, &rt, HV_RTNL_REPLACE) : hv_rtnl_route_del(h, &rt);
}
