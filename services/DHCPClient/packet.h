/* packet.h — DHCPv4 messages (RFC 2131/2132): what the client builds and
 * what it reads from servers. Pure functions on bytes: no sockets, no
 * state; the option parser is the fuzz target (fuzz/DHCPClient).
 * Addresses are kept in network byte order (uint32_t as on the wire). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHC_SERVER_PORT 67
#define DHC_CLIENT_PORT 68
#define DHC_MAGIC 0x63825363u
/* The fixed BOOTP part before the magic cookie. */
#define DHC_FIXED_LEN 236
/* Largest message this client builds or accepts (an Ethernet MTU's worth:
 * it advertises 1500 in option 57). */
#define DHC_MAX_MSG 1500
#define DHC_MAX_ROUTERS 4
#define DHC_MAX_DNS 8
#define DHC_MAX_ROUTES 16

enum dhc_type {
	DHC_DISCOVER = 1, DHC_OFFER, DHC_REQUEST, DHC_DECLINE, DHC_ACK, DHC_NAK, DHC_RELEASE,
	DHC_INFORM,
};

enum dhc_opt {
	DHC_OPT_PAD = 0, DHC_OPT_SUBNET = 1, DHC_OPT_ROUTER = 3, DHC_OPT_DNS = 6,
	DHC_OPT_HOSTNAME = 12, DHC_OPT_DOMAIN = 15, DHC_OPT_MTU = 26, DHC_OPT_BROADCAST = 28,
	DHC_OPT_REQUESTED_IP = 50, DHC_OPT_LEASE = 51, DHC_OPT_OVERLOAD = 52,
	DHC_OPT_TYPE = 53, DHC_OPT_SERVER_ID = 54, DHC_OPT_PARAMS = 55, DHC_OPT_MESSAGE = 56,
	DHC_OPT_MAX_SIZE = 57, DHC_OPT_T1 = 58, DHC_OPT_T2 = 59, DHC_OPT_CLIENT_ID = 61,
	DHC_OPT_CLASSLESS_ROUTES = 121, DHC_OPT_END = 255,
};

struct dhc_route {
	uint32_t dst;    /* network order */
	uint8_t len;     /* prefix length */
	uint32_t gw;     /* 0: on link */
};

/* A server's message, decoded. Absent options leave their has_ false or
 * their count 0. */
struct dhc_msg {
	uint8_t op;
	uint32_t xid;
	uint32_t ciaddr, yiaddr, siaddr;
	uint8_t chaddr[16];
	uint8_t type;           /* option 53; 0 when absent */
	bool has_server_id, has_subnet, has_broadcast, has_lease, has_t1, has_t2;
	uint32_t server_id, subnet, broadcast;
	uint32_t lease, t1, t2; /* seconds */
	uint16_t mtu;           /* 0 when absent or below 68 */
	uint8_t n_routers, n_dns, n_routes;
	uint32_t routers[DHC_MAX_ROUTERS];
	uint32_t dns[DHC_MAX_DNS];
	struct dhc_route routes[DHC_MAX_ROUTES];
	char domain[256];       /* option 15, printable ASCII only, else "" */
	char message[256];      /* option 56 (a NAK's reason), sanitized */
};

/* Decodes a BOOTP/DHCP message (the UDP payload). Returns 0, or -EBADMSG
 * for a message too short, without the magic cookie, or with an option
 * running past its field (truncated), -EPROTO for a BOOTREQUEST. Options
 * are read in RFC 3396's order (options, then file and sname when option
 * 52 says so) and instances of one option are concatenated. Invalid
 * values of one option (a subnet of 3 bytes, a route with prefix 33) drop
 * that option, not the message. */
int dhc_parse(const uint8_t *buf, size_t len, struct dhc_msg *out);

/* What the client sends. */
struct dhc_req {
	uint8_t type;            /* DHC_DISCOVER, _REQUEST, _DECLINE, _RELEASE */
	uint32_t xid;
	uint16_t secs;
	uint32_t ciaddr;         /* RENEWING/REBINDING/RELEASE: our address */
	uint8_t mac[6];
	uint32_t requested_ip;   /* option 50 when non-zero */
	uint32_t server_id;      /* option 54 when non-zero */
	const char *hostname;    /* option 12 when non-NULL */
};
/* Writes the message into buf (at least DHC_MAX_MSG bytes): its length. */
size_t dhc_build(const struct dhc_req *req, uint8_t *buf);

/* The IPv4 + UDP headers around a payload for the packet socket:
 * src:68 -> dst:67, checksums computed. out needs 28 + len bytes; returns
 * the datagram's length. */
size_t dhc_wrap_udp(uint32_t src, uint32_t dst, const uint8_t *payload, size_t len, uint8_t *out);
/* Checks an IPv4 datagram from the packet socket (IP header on): IPv4,
 * UDP, not a fragment, header checksum, lengths, ports 67 -> 68, and the
 * UDP checksum unless csum_unfinished (the kernel's TP_STATUS_CSUMNOTREADY:
 * a veth or offloading NIC left it to hardware that never ran) or it is
 * 0. Sets payload and plen. 0 or -EBADMSG. */
int dhc_unwrap_udp(const uint8_t *pkt, size_t len, bool csum_unfinished, const uint8_t **payload,
		   size_t *plen);

/* The classic BPF program for the packet socket (SOCK_DGRAM, ETH_P_IP):
 * UDP, not a fragment, destination port 68. */
struct sock_fprog;
const struct sock_fprog *dhc_bpf_filter(void);

/* "DISCOVER", "OFFER", ...; "?" for others. */
const char *dhc_type_name(uint8_t type);
