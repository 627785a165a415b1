/* rtmsg.c — rtnetlink messages decoded into nws_msg records (rtmsg.h).
 * libmnl validates each attribute's length against its type before we
 * read it; anything else malformed is -EBADMSG, never a partial record. */
#include "rtmsg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

size_t nws_family_len(uint8_t family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* The attributes of one message, indexed by type (each seen once: the
 * last one wins, as in iproute2). */
#define NWS_ATTR_MAX 64
typedef struct attrs {
	const struct nlattr *a[NWS_ATTR_MAX];
} attrs;

static int collect(const struct nlattr *attr, void *data)
{
	uint16_t type = mnl_attr_get_type(attr);
	if (type < NWS_ATTR_MAX)
		((attrs *)data)->a[type] = attr;
	return MNL_CB_OK;
}

static int parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, attrs *out)
{
	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < mnl_nlmsg_size(hdrlen))
		return -EBADMSG;
	return mnl_attr_parse(nlh, (unsigned)hdrlen, collect, out) == MNL_CB_OK ? 0 : -EBADMSG;
}

static int get_u32(const struct nlattr *a, uint32_t *out)
{
	if (!a)
		return 0;
	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return -EBADMSG;
	*out = mnl_attr_get_u32(a);
	return 0;
}

static int get_u8(const struct nlattr *a, uint8_t *out)
{
	if (!a)
		return 0;
	if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
		return -EBADMSG;
	*out = mnl_attr_get_u8(a);
	return 0;
}

/* An address attribute of exactly the family's size. */
static int get_addr(const struct nlattr *a, uint8_t family, uint8_t out[16], bool *present)
{
	if (!a)
		return 0;
	size_t len = nws_family_len(family);
	if (len == 0 || mnl_attr_get_payload_len(a) != len)
		return -EBADMSG;
	memcpy(out, mnl_attr_get_payload(a), len);
	if (present)
		*present = true;
	return 0;
}

static int parse_link(const struct nlmsghdr *nlh, nws_link *l)
{
	attrs at;
	if (parse_attrs(nlh, sizeof(struct ifinfomsg), &at) < 0)
		return -EBADMSG;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	memset(l, 0, sizeof(*l));
	if (ifi->ifi_index <= 0)
		return -EBADMSG;
	l->index = (uint32_t)ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	const struct nlattr *name = at.a[IFLA_IFNAME];
	if (name) {
		/* NUL-terminated within the attribute, and a real interface name. */
		if (mnl_attr_validate(name, MNL_TYPE_NUL_STRING) < 0)
			return -EBADMSG;
		const char *s = mnl_attr_get_str(name);
		size_t n = strnlen(s, mnl_attr_get_payload_len(name));
		if (n == 0 || n >= IFNAMSIZ)
			return -EBADMSG;
		memcpy(l->name, s, n);
	}
	const struct nlattr *mac = at.a[IFLA_ADDRESS];
	if (mac) {
		size_t n = mnl_attr_get_payload_len(mac);
		if (n > NWS_MAC_MAX)
			return -EBADMSG;
		memcpy(l->mac, mnl_attr_get_payload(mac), n);
		l->mac_len = (uint8_t)n;
	}
	if (get_u32(at.a[IFLA_MTU], &l->mtu) < 0 || get_u8(at.a[IFLA_OPERSTATE], &l->operstate) < 0)
		return -EBADMSG;
	return 0;
}

static int parse_addr(const struct nlmsghdr *nlh, nws_addr *ad)
{
	attrs at;
	if (parse_attrs(nlh, sizeof(struct ifaddrmsg), &at) < 0)
		return -EBADMSG;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	memset(ad, 0, sizeof(*ad));
	size_t len = nws_family_len(ifa->ifa_family);
	if (len == 0 || ifa->ifa_prefixlen > len * 8 || ifa->ifa_index == 0)
		return -EBADMSG;
	ad->index = ifa->ifa_index;
	ad->family = ifa->ifa_family;
	ad->prefix = ifa->ifa_prefixlen;
	ad->scope = ifa->ifa_scope;
	ad->flags = ifa->ifa_flags;
	ad->valid = ad->preferred = NWS_FOREVER;
	/* IFA_LOCAL is the address itself on point-to-point links, where
	 * IFA_ADDRESS is the peer; elsewhere they are equal. */
	bool have = false;
	if (get_addr(at.a[IFA_ADDRESS], ad->family, ad->addr, &have) < 0 ||
	    get_addr(at.a[IFA_LOCAL], ad->family, ad->addr, &have) < 0 || !have)
		return -EBADMSG;
	if (get_u32(at.a[IFA_FLAGS], &ad->flags) < 0)
		return -EBADMSG;
	const struct nlattr *ci = at.a[IFA_CACHEINFO];
	if (ci) {
		if (mnl_attr_validate2(ci, MNL_TYPE_UNSPEC, sizeof(struct ifa_cacheinfo)) < 0)
			return -EBADMSG;
		const struct ifa_cacheinfo *c = mnl_attr_get_payload(ci);
		ad->valid = c->ifa_valid;
		ad->preferred = c->ifa_prefered;
	}
	return 0;
}

/* 1 for routes nobody configures by hand: the `local` table (local and
 * broadcast addresses) and cached clones. */
static int parse_route(const struct nlmsghdr *nlh, nws_route *rt)
{
	attrs at;
	if (parse_attrs(nlh, sizeof(struct rtmsg), &at) < 0)
		return -EBADMSG;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	memset(rt, 0, sizeof(*rt));
	size_t len = nws_family_len(rtm->rtm_family);
	if (len == 0 || rtm->rtm_dst_len > len * 8)
		return -EBADMSG;
	rt->family = rtm->rtm_family;
	rt->dst_len = rtm->rtm_dst_len;
	rt->protocol = rtm->rtm_protocol;
	rt->scope = rtm->rtm_scope;
	rt->type = rtm->rtm_type;
	rt->table = rtm->rtm_table;
	if (get_u32(at.a[RTA_TABLE], &rt->table) < 0 || get_u32(at.a[RTA_OIF], &rt->oif) < 0 ||
	    get_u32(at.a[RTA_PRIORITY], &rt->metric) < 0 ||
	    get_addr(at.a[RTA_DST], rt->family, rt->dst, NULL) < 0 ||
	    get_addr(at.a[RTA_GATEWAY], rt->family, rt->gw, &rt->has_gw) < 0)
		return -EBADMSG;
	if (rt->table == RT_TABLE_LOCAL || (rtm->rtm_flags & RTM_F_CLONED))
		return 1;
	return 0;
}

int nws_msg_parse(const struct nlmsghdr *nlh, nws_msg *out)
{
	int r;
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		out->kind = NWS_MSG_LINK;
		r = parse_link(nlh, &out->link);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		out->kind = NWS_MSG_ADDR;
		r = parse_addr(nlh, &out->addr);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		out->kind = NWS_MSG_ROUTE;
		r = parse_route(nlh, &out->route);
		break;
	default:
		return 1;
	}
	out->del = nlh->nlmsg_type == RTM_DELLINK || nlh->nlmsg_type == RTM_DELADDR ||
		   nlh->nlmsg_type == RTM_DELROUTE;
	return r;
}
