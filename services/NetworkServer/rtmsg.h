/* rtmsg.h — rtnetlink messages (RTM_NEWLINK/DELLINK, NEWADDR/DELADDR,
 * NEWROUTE/DELROUTE) decoded into plain records. Netlink input comes from
 * outside the service (the kernel, on behalf of whoever changed something),
 * so every attribute is length-checked (libmnl's validation) before it is
 * read; fuzz/NetworkServer runs this parser. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* No lifetime: a static address (the kernel's INFINITY_LIFE_TIME). */
#define NWS_FOREVER UINT32_MAX
#define NWS_MAC_MAX 32

typedef struct nws_link {
	uint32_t index;
	char name[IFNAMSIZ];
	uint8_t mac[NWS_MAC_MAX];
	uint8_t mac_len;
	uint32_t mtu;
	uint32_t flags;	   /* IFF_* */
	uint8_t operstate; /* IF_OPER_* */
} nws_link;

typedef struct nws_addr {
	uint32_t index;
	uint8_t family, prefix, scope;
	uint32_t flags; /* IFA_F_*, IFA_FLAGS when present */
	uint8_t addr[16];
	uint32_t valid, preferred; /* seconds, as of the message */
} nws_addr;

typedef struct nws_route {
	uint8_t family, dst_len, protocol, scope, type;
	uint32_t table;
	uint32_t oif; /* 0: none */
	uint8_t dst[16], gw[16];
	bool has_gw;
	uint32_t metric;
} nws_route;

typedef enum nws_msg_kind { NWS_MSG_LINK, NWS_MSG_ADDR, NWS_MSG_ROUTE } nws_msg_kind;

typedef struct nws_msg {
	nws_msg_kind kind;
	bool del; /* RTM_DEL* */
	union {
		nws_link link;
		nws_addr addr;
		nws_route route;
	};
} nws_msg;

struct nlmsghdr;
/* Decode one message (its nlmsg_len already checked against the buffer,
 * as mnl_nlmsg_ok does). 0: *out filled; 1: a message of another type, or
 * a route of the `local` table (nothing a person configures), ignored;
 * -EBADMSG: malformed (short header, bad attribute, unknown family). */
int nws_msg_parse(const struct nlmsghdr *nlh, nws_msg *out);

/* Address bytes of a family: 4 or 16, 0 for another family. */
size_t nws_family_len(uint8_t family);
