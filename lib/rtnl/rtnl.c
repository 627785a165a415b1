/* lib/rtnl: synchronous rtnetlink requests on libmnl (haven/rtnl.h).
 *
 * Each call builds one message in a stack buffer, sends it with NLM_F_ACK
 * and a fresh sequence number, and reads until the kernel's ACK (or error)
 * for that sequence arrives; a GET's answer is handed to a callback on the
 * way. The socket joins no multicast group, so only answers arrive. */
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "haven/rtnl.h"

/* Large enough for a link's RTM_NEWLINK with its statistics. */
#define RTNL_BUF_SIZE 32768

struct hv_rtnl {
	struct mnl_socket *nl;
	unsigned portid;
	unsigned seq;
};

int hv_rtnl_open(hv_rtnl **out)
{
	hv_rtnl *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!r->nl || mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno ? errno : EIO;
		if (r->nl)
			mnl_socket_close(r->nl);
		free(r);
		return -e;
	}
	/* Errors of refused requests carry only the header, not the request. */
	int one = 1;
	mnl_socket_setsockopt(r->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(r->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = (unsigned)time(NULL);
	*out = r;
	return 0;
}

void hv_rtnl_close(hv_rtnl *rtnl)
{
	if (!rtnl)
		return;
	mnl_socket_close(rtnl->nl);
	free(rtnl);
}

int hv_rtnl_fd(const hv_rtnl *rtnl) { return mnl_socket_get_fd(rtnl->nl); }

static struct nlmsghdr *begin(void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return nlh;
}

/* Sends nlh and reads answers until its ACK; cb (may be NULL) sees the
 * data messages. Returns 0 or the negative errno the kernel answered. */
static int transact(hv_rtnl *rtnl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char *buf = malloc(RTNL_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	nlh->nlmsg_seq = ++rtnl->seq;
	if (mnl_socket_sendto(rtnl->nl, nlh, nlh->nlmsg_len) < 0) {
		int e = -errno;
		free(buf);
		return e;
	}
	int ret;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(rtnl->nl, buf, RTNL_BUF_SIZE);
		if (n < 0) {
			ret = errno == EINTR ? MNL_CB_OK : -errno;
			if (ret < 0)
				break;
			continue;
		}
		errno = 0;
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, rtnl->portid, cb, data);
		if (ret == MNL_CB_ERROR) {
			/* The kernel's error. Every answer is read before the
			 * next request goes out, so an answer to another
			 * sequence (libmnl's -EPROTO) cannot happen. */
			ret = errno ? -errno : -EIO;
			break;
		}
		if (ret == MNL_CB_STOP) {
			ret = 0;
			break;
		}
	}
	free(buf);
	return ret;
}

/* ---- links ---- */

struct link_get_ctx {
	struct hv_rtnl_link *out;
	bool seen;
};

static int link_attr(const struct nlattr *a, void *data)
{
	struct hv_rtnl_link *l = data;
	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME: {
		const char *s = mnl_attr_get_str(a);
		size_t len = strnlen(s, mnl_attr_get_payload_len(a));
		if (len >= sizeof(l->name))
			len = sizeof(l->name) - 1;
		memcpy(l->name, s, len);
		l->name[len] = '\0';
		break;
	}
	case IFLA_MTU:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			l->mtu = mnl_attr_get_u32(a);
		break;
	case IFLA_ADDRESS: {
		size_t len = mnl_attr_get_payload_len(a);
		if (len > sizeof(l->hwaddr))
			len = sizeof(l->hwaddr);
		memcpy(l->hwaddr, mnl_attr_get_payload(a), len);
		l->hwaddr_len = (uint8_t)len;
		break;
	}
	}
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_get_ctx *ctx = data;
	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return MNL_CB_OK;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	memset(ctx->out, 0, sizeof(*ctx->out));
	ctx->out->ifindex = ifi->ifi_index;
	ctx->out->flags = ifi->ifi_flags;
	ctx->out->type = ifi->ifi_type;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr, ctx->out);
	ctx->seen = true;
	return MNL_CB_OK;
}

static int link_query(hv_rtnl *rtnl, int ifindex, const char *name, struct hv_rtnl_link *out)
{
	char buf[512];
	struct nlmsghdr *nlh = begin(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* The statistics are not wanted; they make the answer large. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	struct link_get_ctx ctx = {.out = out};
	int r = transact(rtnl, nlh, link_cb, &ctx);
	if (r < 0)
		return r;
	return ctx.seen ? 0 : -ENODEV;
}

int hv_rtnl_link_index(hv_rtnl *rtnl, const char *name)
{
	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	struct hv_rtnl_link l;
	int r = link_query(rtnl, 0, name, &l);
	return r < 0 ? r : l.ifindex;
}

int hv_rtnl_link_get(hv_rtnl *rtnl, int ifindex, struct hv_rtnl_link *out)
{
	if (ifindex <= 0)
		return -EINVAL;
	return link_query(rtnl, ifindex, NULL, out);
}

static int link_set(hv_rtnl *rtnl, int ifindex, unsigned flags, unsigned change, uint32_t mtu)
{
	if (ifindex <= 0)
		return -EINVAL;
	char buf[512];
	struct nlmsghdr *nlh = begin(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return transact(rtnl, nlh, NULL, NULL);
}

int hv_rtnl_link_set_up(hv_rtnl *rtnl, int ifindex, bool up)
{
	return link_set(rtnl, ifindex, up ? IFF_UP : 0, IFF_UP, 0);
}

int hv_rtnl_link_set_mtu(hv_rtnl *rtnl, int ifindex, uint32_t mtu)
{
	if (mtu == 0)
		return -EINVAL;
	return link_set(rtnl, ifindex, 0, 0, mtu);
}

/* ---- addresses ---- */

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static int addr_msg(void *buf, uint16_t type, uint16_t flags, const struct hv_rtnl_addr *a,
		    struct nlmsghdr **out)
{
	size_t alen = addr_len(a->family);
	if (!alen || a->ifindex <= 0 || a->prefixlen > alen * 8)
		return -EINVAL;
	struct nlmsghdr *nlh = begin(buf, type, flags);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)a->family;
	ifa->ifa_prefixlen = a->prefixlen;
	ifa->ifa_index = (uint32_t)a->ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put(nlh, IFA_LOCAL, alen, a->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, a->addr);
	*out = nlh;
	return 0;
}

int hv_rtnl_addr_add(hv_rtnl *rtnl, const struct hv_rtnl_addr *a, unsigned flags)
{
	char buf[512];
	struct nlmsghdr *nlh;
	uint16_t nlflags = NLM_F_CREATE | ((flags & HV_RTNL_REPLACE) ? NLM_F_REPLACE : NLM_F_EXCL);
	int r = addr_msg(buf, RTM_NEWADDR, nlflags, a, &nlh);
	if (r < 0)
		return r;
	if (a->has_broadcast) {
		if (a->family != AF_INET)
			return -EINVAL;
		mnl_attr_put(nlh, IFA_BROADCAST, 4, a->broadcast);
	}
	uint32_t valid = a->valid_lft, preferred = a->preferred_lft;
	if (valid == 0 && preferred == 0)
		valid = preferred = HV_RTNL_FOREVER;
	if (valid == 0 || preferred > valid)
		return -EINVAL;
	struct ifa_cacheinfo ci = {.ifa_valid = valid, .ifa_prefered = preferred};
	mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(ci), &ci);
	if (a->flags)
		mnl_attr_put_u32(nlh, IFA_FLAGS, a->flags);
	return transact(rtnl, nlh, NULL, NULL);
}

int hv_rtnl_addr_del(hv_rtnl *rtnl, const struct hv_rtnl_addr *a)
{
	char buf[512];
	struct nlmsghdr *nlh;
	int r = addr_msg(buf, RTM_DELADDR, 0, a, &nlh);
	if (r < 0)
		return r;
	return transact(rtnl, nlh, NULL, NULL);
}

/* ---- routes ---- */

static int route_msg(void *buf, uint16_t type, uint16_t flags, const struct hv_rtnl_route *rt,
		     struct nlmsghdr **out)
{
	size_t alen = addr_len(rt->family);
	if (!alen || rt->dst_len > alen * 8 || rt->ifindex < 0 || (!rt->ifindex && !rt->has_gateway))
		return -EINVAL;
	struct nlmsghdr *nlh = begin(buf, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)rt->family;
	rtm->rtm_dst_len = rt->dst_len;
	uint32_t table = rt->table ? rt->table : RT_TABLE_MAIN;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rtm->rtm_type = RTN_UNICAST;
	if (type == RTM_NEWROUTE) {
		rtm->rtm_protocol = rt->protocol ? rt->protocol : RTPROT_BOOT;
		rtm->rtm_scope = rt->scope ? rt->scope
			       : (rt->family == AF_INET && !rt->has_gateway) ? RT_SCOPE_LINK
									     : RT_SCOPE_UNIVERSE;
	} else {
		/* As `ip route del`: any scope, the protocol only if given. */
		rtm->rtm_protocol = rt->protocol;
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	}
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (rt->dst_len)
		mnl_attr_put(nlh, RTA_DST, alen, rt->dst);
	if (rt->has_gateway)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, rt->gateway);
	if (rt->has_prefsrc)
		mnl_attr_put(nlh, RTA_PREFSRC, alen, rt->prefsrc);
	if (rt->ifindex)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)rt->ifindex);
	if (rt->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, rt->metric);
	*out = nlh;
	return 0;
}

int hv_rtnl_route_add(hv_rtnl *rtnl, const struct hv_rtnl_route *rt, unsigned flags)
{
	char buf[512];
	struct nlmsghdr *nlh;
	uint16_t nlflags = NLM_F_CREATE | ((flags & HV_RTNL_REPLACE) ? NLM_F_REPLACE : NLM_F_EXCL);
	int r = route_msg(buf, RTM_NEWROUTE, nlflags, rt, &nlh);
	return r < 0 ? r : transact(rtnl, nlh, NULL, NULL);
}

int hv_rtnl_route_del(hv_rtnl *rtnl, const struct hv_rtnl_route *rt)
{
	char buf[512];
	struct nlmsghdr *nlh;
	int r = route_msg(buf, RTM_DELROUTE, 0, rt, &nlh);
	return r < 0 ? r : transact(rtnl, nlh, NULL, NULL);
}
