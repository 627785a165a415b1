/* test-model.c — NetworkServer's rtnetlink parser (rtmsg.c), model
 * (state.c) and text forms (addr.c) on messages built here with libmnl:
 * what each kind of message changes, what a repeat or a stranger changes
 * (nothing), what a link's removal takes with it, lifetimes counted down,
 * malformed attributes refused, and the address/route syntax. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "addr.h"
#include "check.h"
#include "netlink.h"

static char buf[8192];

static struct nlmsghdr *link_msg(uint16_t type, int index, const char *name, uint32_t mtu)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = index;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nlh;
}

static struct nlmsghdr *addr_msg(uint16_t type, int index, const uint8_t a[4], uint8_t prefix, uint32_t valid)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	*ifa = (struct ifaddrmsg){.ifa_family = AF_INET, .ifa_prefixlen = prefix, .ifa_index = (uint32_t)index};
	mnl_attr_put(nlh, IFA_LOCAL, 4, a);
	struct ifa_cacheinfo ci = {.ifa_valid = valid, .ifa_prefered = valid};
	mnl_attr_put(nlh, IFA_CACHEINFO, sizeof ci, &ci);
	return nlh;
}

static struct nlmsghdr *route_msg(uint16_t type, int oif, uint8_t table, const uint8_t dst[4], uint8_t len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	*rtm = (struct rtmsg){.rtm_family = AF_INET, .rtm_dst_len = len, .rtm_table = table,
			      .rtm_protocol = RTPROT_STATIC, .rtm_type = RTN_UNICAST};
	mnl_attr_put(nlh, RTA_DST, 4, dst);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	return nlh;
}

/* Parse and apply: the change, or the parser's refusal (<0, or 100 + 1
 * for an ignored message). */
static int apply(nws_state *s, const struct nlmsghdr *nlh, uint64_t now, nws_msg *m)
{
	int r = nws_msg_parse(nlh, m);
	if (r != 0)
		return r < 0 ? r : 101;
	return nws_state_apply(s, m, now);
}

static void test_model(void)
{
	nws_state s = {0};
	nws_msg m;
	const uint8_t a[4] = {10, 9, 0, 1}, net[4] = {10, 20, 0, 0};
	CHECK_EQ(apply(&s, link_msg(RTM_NEWLINK, 7, "veth0", 1500), 0, &m), NWS_ADDED);
	CHECK_EQ(apply(&s, link_msg(RTM_NEWLINK, 7, "veth0", 1500), 0, &m), NWS_NONE);
	CHECK_EQ(apply(&s, link_msg(RTM_NEWLINK, 7, "veth0", 1400), 0, &m), NWS_CHANGED);
	/* A notification without the name keeps the one known. */
	CHECK_EQ(apply(&s, link_msg(RTM_NEWLINK, 7, NULL, 1300), 0, &m), NWS_CHANGED);
	REQUIRE(nws_state_find_name(&s, "veth0"));
	CHECK_EQ(nws_state_find(&s, 7)->link.mtu, 1300);
	CHECK_EQ(apply(&s, link_msg(RTM_NEWLINK, 3, "eth0", 1500), 0, &m), NWS_ADDED);
	CHECK_EQ(s.ifaces[0].link.index, 3); /* kept in index order */

	uint64_t t0 = 1000000000000ull;
	CHECK_EQ(apply(&s, addr_msg(RTM_NEWADDR, 7, a, 24, 100), t0, &m), NWS_ADDED);
	CHECK_EQ(apply(&s, addr_msg(RTM_NEWADDR, 7, a, 24, 100), t0, &m), NWS_NONE);
	CHECK_EQ(apply(&s, addr_msg(RTM_NEWADDR, 7, a, 24, 90), t0, &m), NWS_CHANGED);
	CHECK_EQ(apply(&s, addr_msg(RTM_NEWADDR, 99, a, 24, 90), t0, &m), NWS_NONE); /* no such link */
	const nws_iface *f = nws_state_find(&s, 7);
	REQUIRE(f && f->naddrs == 1);
	CHECK_EQ(nws_lifetime_left(f->addrs[0].valid, f->addr_seen_ns[0], t0 + 30000000000ull), 60);
	CHECK_EQ(nws_lifetime_left(f->addrs[0].valid, f->addr_seen_ns[0], t0 + 300000000000ull), 0);
	CHECK_EQ(nws_lifetime_left(NWS_FOREVER, t0, t0 + 300000000000ull), NWS_FOREVER);

	CHECK_EQ(apply(&s, route_msg(RTM_NEWROUTE, 7, RT_TABLE_MAIN, net, 16), 0, &m), NWS_ADDED);
	CHECK_EQ(apply(&s, route_msg(RTM_NEWROUTE, 3, RT_TABLE_MAIN, net, 16), 0, &m), NWS_ADDED);
	CHECK_EQ(apply(&s, route_msg(RTM_NEWROUTE, 7, RT_TABLE_LOCAL, a, 32), 0, &m), 101);
	CHECK_EQ(s.nroutes, 2);
	CHECK_EQ(apply(&s, addr_msg(RTM_DELADDR, 7, a, 24, 0), 0, &m), NWS_REMOVED);
	CHECK_EQ(apply(&s, addr_msg(RTM_DELADDR, 7, a, 24, 0), 0, &m), NWS_NONE);

	/* A link's removal takes its routes, and says its name. */
	CHECK_EQ(apply(&s, addr_msg(RTM_NEWADDR, 7, a, 24, 100), t0, &m), NWS_ADDED);
	CHECK_EQ(apply(&s, link_msg(RTM_DELLINK, 7, NULL, 0), 0, &m), NWS_REMOVED);
	CHECK_STR(m.link.name, "veth0");
	CHECK(!nws_state_find(&s, 7));
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.nroutes, 1);
	CHECK_EQ(s.routes[0].oif, 3);
	nws_state_clear(&s);
}

static void test_malformed(void)
{
	nws_msg m;
	/* An MTU of two bytes. */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 2;
	mnl_attr_put_u16(nlh, IFLA_MTU, 1500);
	CHECK_EQ(nws_msg_parse(nlh, &m), -EBADMSG);
	/* A name of 16 bytes and more. */
	CHECK_EQ(nws_msg_parse(link_msg(RTM_NEWLINK, 2, "abcdefghijklmnop", 1500), &m), -EBADMSG);
	/* Prefix 33 on IPv4. */
	const uint8_t a[4] = {10, 0, 0, 1};
	CHECK_EQ(nws_msg_parse(addr_msg(RTM_NEWADDR, 2, a, 33, 0), &m), -EBADMSG);
	/* An IPv4 address of 3 bytes. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	*ifa = (struct ifaddrmsg){.ifa_family = AF_INET, .ifa_prefixlen = 8, .ifa_index = 2};
	mnl_attr_put(nlh, IFA_LOCAL, 3, a);
	CHECK_EQ(nws_msg_parse(nlh, &m), -EBADMSG);
	/* A message shorter than its header. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	CHECK_EQ(nws_msg_parse(nlh, &m), -EBADMSG);
	/* A buffer claiming a length beyond 2^31 ends the walk, not the process. */
	nws_state s = {0};
	nlh = link_msg(RTM_NEWLINK, 2, "x", 1500);
	nlh->nlmsg_len = 0xfffffffdu;
	CHECK_EQ(nws_netlink_feed(&s, buf, 64, NULL, NULL, NULL), 0);
	CHECK_EQ(s.n, 0);
}

static void test_text(void)
{
	nws_prefix p;
	char t[NWS_TEXT_MAX];
	CHECK_EQ(nws_prefix_parse("10.9.0.1/24", true, &p), 0);
	nws_prefix_format(&p, t);
	CHECK_STR(t, "10.9.0.1/24");
	CHECK_EQ(nws_prefix_parse("fd00:0009::1/64", true, &p), 0);
	nws_prefix_format(&p, t);
	CHECK_STR(t, "fd00:9::1/64");
	CHECK_EQ(nws_prefix_parse("10.9.0.1/33", true, &p), -ERANGE);
	CHECK_EQ(nws_prefix_parse("10.9.0.1/99", true, &p), -ERANGE);
	CHECK_EQ(nws_prefix_parse("fd00::1/129", true, &p), -ERANGE);
	CHECK_EQ(nws_prefix_parse("10.9.0.1/+24", true, &p), -ERANGE);
	CHECK_EQ(nws_prefix_parse("10.9.0.1/", true, &p), -ERANGE);
	CHECK_EQ(nws_prefix_parse("10.9.0.1", true, &p), -ERANGE);
	CHECK_EQ(nws_prefix_parse("10.9.0.300/24", true, &p), -EINVAL);
	CHECK_EQ(nws_prefix_parse("eth0/24", true, &p), -EINVAL);
	CHECK_EQ(nws_prefix_parse("10.9.0.1", false, &p), 0);
	CHECK_EQ(p.len, 32);

	nws_route_spec r;
	CHECK_EQ(nws_route_parse_line("default via 10.9.0.254 metric 5", &r), 0);
	CHECK_EQ(r.dst.len, 0);
	CHECK(r.has_gw);
	CHECK_EQ(r.metric, 5);
	nws_route_format(&r, t);
	CHECK_STR(t, "default via 10.9.0.254 metric 5");
	CHECK_EQ(nws_route_parse_line("default via fd00::1", &r), 0);
	CHECK_EQ(r.dst.family, AF_INET6);
	CHECK_EQ(nws_route_parse_line("10.20.0.0/16", &r), 0);
	nws_route_format(&r, t);
	CHECK_STR(t, "10.20.0.0/16");
	CHECK_EQ(nws_route_parse_line("10.20.0.0/16 via fd00::1", &r), -EINVAL);
	CHECK_EQ(nws_route_parse_line("10.20.0.0/16 via", &r), -EINVAL);
	CHECK_EQ(nws_route_parse_line("10.20.0.0/16 dev eth0", &r), -EINVAL);
	CHECK_EQ(nws_route_parse_line("10.20.0.0/40", &r), -ERANGE);
	CHECK_EQ(nws_route_parse_line("", &r), -EINVAL);
}

int main(void)
{
	test_model();
	test_malformed();
	test_text();
	return check_result();
}
