/* tests/DHCPClient/test-packet.c — the parser and builder (packet.c) on
 * the fuzz seeds (fuzz/corpus/dhcp-options, made by hand from RFC 2132,
 * 3396 and 3442 examples): every option decoded, option overload read
 * from file and sname, a split option 121 concatenated, truncation
 * refused, a built DISCOVER read back through the UDP framing. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "packet.h"

static const char *dir;

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	REQUIRE(f);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static uint32_t a4(const char *s)
{
	uint32_t v;
	REQUIRE(inet_pton(AF_INET, s, &v) == 1);
	return v;
}

static void test_ack(void)
{
	uint8_t b[2048];
	size_t n = load("ack", b, sizeof(b));
	struct dhc_msg m;
	REQUIRE_EQ(dhc_parse(b, n, &m), 0);
	CHECK_EQ(m.type, DHC_ACK);
	CHECK_EQ(m.xid, 0x1234);
	CHECK(m.yiaddr == a4("10.0.0.5"));
	CHECK(m.has_server_id && m.server_id == a4("10.0.0.1"));
	CHECK(m.has_subnet && m.subnet == a4("255.255.255.0"));
	CHECK(m.has_lease && m.lease == 120);
	CHECK(m.has_t1 && m.t1 == 60 && m.has_t2 && m.t2 == 105);
	CHECK_EQ(m.n_routers, 1);
	CHECK_EQ(m.n_dns, 2);
	CHECK(m.dns[1] == a4("10.0.0.2"));
	CHECK_STR(m.domain, "example.test");
	CHECK_EQ(m.mtu, 1500);
	CHECK_EQ(m.n_routes, 2);
	CHECK(m.routes[0].dst == a4("192.168.1.0") && m.routes[0].len == 24 &&
	      m.routes[0].gw == a4("10.0.0.1"));
	CHECK(m.routes[1].dst == 0 && m.routes[1].len == 0 && m.routes[1].gw == a4("10.0.0.1"));
}

static void test_overload_concat_truncated(void)
{
	uint8_t b[2048];
	struct dhc_msg m;
	size_t n = load("overload", b, sizeof(b));
	REQUIRE_EQ(dhc_parse(b, n, &m), 0);
	CHECK_STR(m.domain, "over");          /* from sname */
	CHECK_EQ(m.n_routers, 1);             /* from file */
	n = load("concat", b, sizeof(b));
	REQUIRE_EQ(dhc_parse(b, n, &m), 0);
	CHECK_EQ(m.n_routes, 1);              /* 121 split in two instances */
	CHECK(m.routes[0].dst == a4("10.0.0.0") && m.routes[0].len == 8);
	n = load("truncated", b, sizeof(b));
	CHECK_EQ(dhc_parse(b, n, &m), -EBADMSG);
	n = load("nak", b, sizeof(b));
	REQUIRE_EQ(dhc_parse(b, n, &m), 0);
	CHECK_EQ(m.type, DHC_NAK);
	CHECK_STR(m.message, "address not available");
	CHECK_EQ(dhc_parse(b, 200, &m), -EBADMSG);
	b[0] = 1;
	CHECK_EQ(dhc_parse(b, n, &m), -EPROTO);
}

static void test_build_roundtrip(void)
{
	struct dhc_req q = {.type = DHC_REQUEST, .xid = 0xabcdef01, .requested_ip = a4("10.0.0.5"),
			    .server_id = a4("10.0.0.1"), .mac = {2, 0, 0, 0, 0, 1}, .hostname = "box"};
	uint8_t msg[DHC_MAX_MSG], pkt[28 + DHC_MAX_MSG];
	size_t len = dhc_build(&q, msg);
	CHECK(len >= 300);
	size_t plen = dhc_wrap_udp(0, 0xffffffff, msg, len, pkt);
	const uint8_t *payload;
	size_t got;
	/* The server side would see ports 68 -> 67: flip them to read it
	 * back through the client's checks (which want 67 -> 68). */
	uint8_t sw[4];
	memcpy(sw, pkt + 20, 2);
	memcpy(sw + 2, pkt + 22, 2);
	memcpy(pkt + 20, sw + 2, 2);
	memcpy(pkt + 22, sw, 2);
	CHECK_EQ(dhc_unwrap_udp(pkt, plen, false, &payload, &got), 0); /* the checksum is port-symmetric */
	CHECK_EQ(got, len);
	pkt[30] ^= 0xff; /* a payload byte: the UDP checksum no longer holds */
	CHECK_EQ(dhc_unwrap_udp(pkt, plen, false, &payload, &got), -EBADMSG);
	CHECK_EQ(dhc_unwrap_udp(pkt, plen, true, &payload, &got), 0); /* unfinished: not checked */
	pkt[8] ^= 1; /* the IP header checksum is always checked */
	CHECK_EQ(dhc_unwrap_udp(pkt, plen, true, &payload, &got), -EBADMSG);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2);
	dir = argv[1];
	test_ack();
	test_overload_concat_truncated();
	test_build_roundtrip();
	return check_result();
}
