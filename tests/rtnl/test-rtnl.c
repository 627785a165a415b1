/* tests/rtnl: lib/rtnl against the running kernel, inside a network
 * namespace this test makes for itself (unshare(CLONE_NEWNET)): the
 * machine's own links, addresses and routes are never seen or touched,
 * and the namespace vanishes with the process. What the library did is
 * checked with iproute2 (`ip -o addr`, `ip route`), an independent
 * reader. Skipped (77) where network namespaces are refused. */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "haven/rtnl.h"
#include "haven/util.h"

/* The output of a shell command (static buffer, truncated at 8 KiB). */
static const char *sh(const char *cmd)
{
	static char out[8192];
	out[0] = '\0';
	FILE *f = popen(cmd, "r");
	if (!f)
		return out;
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

static void ip4(uint8_t *dst, const char *s) { REQUIRE(inet_pton(AF_INET, s, dst) == 1); }

static void test_links(hv_rtnl *rt, int *ifindex)
{
	CHECK_EQ(hv_rtnl_link_index(rt, "lo"), 1);
	CHECK_EQ(hv_rtnl_link_index(rt, "hv-nosuch"), -ENODEV);
	CHECK_EQ(hv_rtnl_link_index(rt, "a-name-far-too-long-for-ifnamsiz"), -EINVAL);
	REQUIRE(system("ip link add hvt0 address 02:00:00:aa:bb:01 type veth peer name hvt1") == 0);
	int idx = hv_rtnl_link_index(rt, "hvt0");
	REQUIRE(idx > 1);
	*ifindex = idx;

	struct hv_rtnl_link l;
	CHECK_EQ(hv_rtnl_link_get(rt, idx, &l), 0);
	CHECK_EQ(l.ifindex, idx);
	CHECK_STR(l.name, "hvt0");
	CHECK_EQ(l.hwaddr_len, 6);
	CHECK(memcmp(l.hwaddr, "\x02\x00\x00\xaa\xbb\x01", 6) == 0);
	CHECK_EQ(l.mtu, 1500);
	CHECK(!(l.flags & IFF_UP));
	CHECK_EQ(hv_rtnl_link_get(rt, 99999, &l), -ENODEV);

	CHECK_EQ(hv_rtnl_link_set_mtu(rt, idx, 1400), 0);
	CHECK_EQ(hv_rtnl_link_set_up(rt, idx, true), 0);
	const char *o = sh("ip -o link show dev hvt0");
	CHECK_MSG(strstr(o, "mtu 1400") && strstr(o, ",UP"), "link: %s", o);
	CHECK_EQ(hv_rtnl_link_get(rt, idx, &l), 0);
	CHECK(l.flags & IFF_UP);
	CHECK_EQ(l.mtu, 1400);
	CHECK_EQ(hv_rtnl_link_set_mtu(rt, idx, 10), -EINVAL); /* below the device's minimum */
	CHECK_EQ(hv_rtnl_link_set_mtu(rt, 99999, 1400), -ENODEV);
	CHECK_EQ(hv_rtnl_link_set_up(rt, idx, false), 0);
	o = sh("ip -o link show dev hvt0");
	CHECK_MSG(!strstr(o, ",UP"), "still up: %s", o);
	CHECK_EQ(hv_rtnl_link_set_up(rt, idx, true), 0);
	CHECK_EQ(hv_rtnl_link_set_up(rt, hv_rtnl_link_index(rt, "hvt1"), true), 0);
}

static void test_addresses(hv_rtnl *rt, int idx)
{
	struct hv_rtnl_addr a = {.family = AF_INET, .ifindex = idx, .prefixlen = 24,
				 .has_broadcast = true, .valid_lft = 100, .preferred_lft = 50};
	ip4(a.addr, "10.9.8.7");
	ip4(a.broadcast, "10.9.8.255");
	CHECK_EQ(hv_rtnl_addr_add(rt, &a, 0), 0);
	const char *o = sh("ip -o -4 addr show dev hvt0");
	CHECK_MSG(strstr(o, "inet 10.9.8.7/24 brd 10.9.8.255"), "addr: %s", o);
	/* Lifetimes count down from the moment of the add: 100 or 99. */
	CHECK_MSG(strstr(o, "valid_lft 100sec") || strstr(o, "valid_lft 99sec"), "valid: %s", o);
	CHECK_MSG(strstr(o, "preferred_lft 50sec") || strstr(o, "preferred_lft 49sec"), "pref: %s", o);

	CHECK_EQ(hv_rtnl_addr_add(rt, &a, 0), -EEXIST);
	a.valid_lft = 3000;
	a.preferred_lft = 2000;
	CHECK_EQ(hv_rtnl_addr_add(rt, &a, HV_RTNL_REPLACE), 0);
	o = sh("ip -o -4 addr show dev hvt0");
	CHECK_MSG(strstr(o, "valid_lft 3000sec") || strstr(o, "valid_lft 2999sec"), "renewed: %s", o);

	/* Refused before asking: preferred > valid, broadcast on IPv6, prefix. */
	a.preferred_lft = 4000;
	CHECK_EQ(hv_rtnl_addr_add(rt, &a, HV_RTNL_REPLACE), -EINVAL);
	a.preferred_lft = 2000;
	a.prefixlen = 33;
	CHECK_EQ(hv_rtnl_addr_add(rt, &a, 0), -EINVAL);
	a.prefixlen = 24;

	/* A second permanent address (zero lifetimes = forever), IPv6 too. */
	struct hv_rtnl_addr b = {.family = AF_INET, .ifindex = idx, .prefixlen = 32};
	ip4(b.addr, "10.77.0.1");
	CHECK_EQ(hv_rtnl_addr_add(rt, &b, 0), 0);
	struct hv_rtnl_addr c = {.family = AF_INET6, .ifindex = idx, .prefixlen = 64,
				 .flags = IFA_F_NODAD, .valid_lft = 600, .preferred_lft = 600};
	REQUIRE(inet_pton(AF_INET6, "fd00:1::5", c.addr) == 1);
	CHECK_EQ(hv_rtnl_addr_add(rt, &c, 0), 0);
	o = sh("ip -o addr show dev hvt0");
	CHECK_MSG(strstr(o, "inet 10.77.0.1/32") && strstr(o, "valid_lft forever"), "perm: %s", o);
	CHECK_MSG(strstr(o, "inet6 fd00:1::5/64"), "v6: %s", o);
	CHECK_EQ(hv_rtnl_addr_del(rt, &c), 0);
	CHECK_EQ(hv_rtnl_addr_del(rt, &b), 0);
	CHECK_EQ(hv_rtnl_addr_del(rt, &b), -EADDRNOTAVAIL);
	o = sh("ip -o addr show dev hvt0");
	CHECK_MSG(!strstr(o, "10.77.0.1") && !strstr(o, "fd00:1::5"), "deleted: %s", o);
	CHECK_MSG(strstr(o, "10.9.8.7/24"), "the first stays: %s", o);

	/* The kernel drops an address whose valid lifetime runs out. */
	struct hv_rtnl_addr d = {.family = AF_INET, .ifindex = idx, .prefixlen = 32,
				 .valid_lft = 1, .preferred_lft = 1};
	ip4(d.addr, "10.66.0.1");
	CHECK_EQ(hv_rtnl_addr_add(rt, &d, 0), 0);
	CHECK_MSG(strstr(sh("ip -o addr show dev hvt0"), "10.66.0.1"), "short-lived address added");
	/* Expiry runs from the kernel's address worker (checked about once a
	 * second): wait for it, bounded, without asserting when. */
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
		gone = !strstr(sh("ip -o addr show dev hvt0"), "10.66.0.1");
	}
	CHECK_MSG(gone, "an address with valid_lft 1 outlived its lifetime");

	struct hv_rtnl_addr bad = a;
	bad.ifindex = 99999;
	CHECK_EQ(hv_rtnl_addr_add(rt, &bad, 0), -ENODEV);
	bad.family = AF_UNIX;
	CHECK_EQ(hv_rtnl_addr_add(rt, &bad, 0), -EINVAL);
}

static void test_routes(hv_rtnl *rt, int idx)
{
	struct hv_rtnl_route r = {.family = AF_INET, .ifindex = idx, .dst_len = 16,
				  .has_gateway = true, .metric = 50, .protocol = RTPROT_STATIC};
	ip4(r.dst, "10.20.0.0");
	ip4(r.gateway, "10.9.8.1");
	CHECK_EQ(hv_rtnl_route_add(rt, &r, 0), 0);
	CHECK_EQ(hv_rtnl_route_add(rt, &r, 0), -EEXIST);
	CHECK_EQ(hv_rtnl_route_add(rt, &r, HV_RTNL_REPLACE), 0);

	struct hv_rtnl_route def = {.family = AF_INET, .ifindex = idx, .has_gateway = true,
				    .has_prefsrc = true, .metric = 1024, .protocol = RTPROT_DHCP};
	ip4(def.gateway, "10.9.8.1");
	ip4(def.prefsrc, "10.9.8.7");
	CHECK_EQ(hv_rtnl_route_add(rt, &def, 0), 0);
	/* A link route (no gateway: scope link) in another table. */
	struct hv_rtnl_route lnk = {.family = AF_INET, .ifindex = idx, .dst_len = 32, .table = 100};
	ip4(lnk.dst, "192.0.2.9");
	CHECK_EQ(hv_rtnl_route_add(rt, &lnk, 0), 0);

	const char *o = sh("ip route show");
	CHECK_MSG(strstr(o, "10.20.0.0/16 via 10.9.8.1 dev hvt0 proto static metric 50"), "route: %s", o);
	CHECK_MSG(strstr(o, "default via 10.9.8.1 dev hvt0 proto dhcp src 10.9.8.7 metric 1024"),
		  "default: %s", o);
	o = sh("ip route show table 100");
	CHECK_MSG(strstr(o, "192.0.2.9 dev hvt0 scope link"), "table 100: %s", o);

	/* A gateway that is not on any link. */
	struct hv_rtnl_route far = r;
	ip4(far.dst, "10.30.0.0");
	ip4(far.gateway, "172.31.1.1");
	CHECK_EQ(hv_rtnl_route_add(rt, &far, 0), -ENETUNREACH);

	CHECK_EQ(hv_rtnl_route_del(rt, &r), 0);
	CHECK_EQ(hv_rtnl_route_del(rt, &r), -ESRCH);
	CHECK_EQ(hv_rtnl_route_del(rt, &def), 0);
	CHECK_EQ(hv_rtnl_route_del(rt, &lnk), 0);
	o = sh("ip route show table all");
	CHECK_MSG(!strstr(o, "10.20.0.0") && !strstr(o, "default") && !strstr(o, "192.0.2.9"),
		  "routes left: %s", o);

	struct hv_rtnl_route bad = {.family = AF_INET, .dst_len = 8};
	CHECK_EQ(hv_rtnl_route_add(rt, &bad, 0), -EINVAL); /* neither oif nor gateway */
	bad.ifindex = idx;
	bad.dst_len = 33;
	CHECK_EQ(hv_rtnl_route_add(rt, &bad, 0), -EINVAL);
}

int main(void)
{
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "skipped: no network namespace (%s)\n", strerror(errno));
		return 77;
	}
	_hv_cleanup_(hv_rtnl_closep) hv_rtnl *rt = NULL;
	REQUIRE_EQ(hv_rtnl_open(&rt), 0);
	REQUIRE(hv_rtnl_fd(rt) >= 0);
	int idx = 0;
	test_links(rt, &idx);
	test_addresses(rt, idx);
	test_routes(rt, idx);
	return check_result();
}
