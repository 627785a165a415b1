/* haven/rtnl.h — a small synchronous rtnetlink client (on libmnl): the
 * set operations a network service needs — link index and attributes,
 * link up/down and MTU, IPv4/IPv6 addresses with lifetimes, routes.
 *
 * Every call sends one request with NLM_F_ACK and waits for the kernel's
 * answer on a private NETLINK_ROUTE socket (no multicast groups joined, so
 * nothing but answers arrives on it). Every function that can fail returns
 * 0 (or a positive value where said) or a negative errno: the kernel's own
 * error for a refused request (-EEXIST, -ENODEV, -EADDRNOTAVAIL, -ESRCH,
 * -ENETUNREACH, -EPERM without CAP_NET_ADMIN, ...), -EINVAL for arguments
 * this library rejects before asking.
 *
 * Not thread-safe: one hv_rtnl per thread. Dumps and monitoring of
 * kernel events are the caller's business (they need a loop of their own).
 * Documented in docs/rtnl.md. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct hv_rtnl hv_rtnl;

/* Lifetime meaning "never expires" (the kernel's INFINITY_LIFE_TIME). */
#define HV_RTNL_FOREVER UINT32_MAX

/* Flags for the add calls. */
enum {
	/* Replace an existing address/route with the same key instead of
	 * failing with -EEXIST (NLM_F_REPLACE): how a DHCP renewal refreshes
	 * an address's lifetimes. */
	HV_RTNL_REPLACE = 1u << 0,
};

/* Opens a NETLINK_ROUTE socket in the caller's network namespace. */
int hv_rtnl_open(hv_rtnl **out);
void hv_rtnl_close(hv_rtnl *rtnl);
static inline void hv_rtnl_closep(hv_rtnl **p)
{
	if (*p)
		hv_rtnl_close(*p);
}

/* The socket's fd (for a sandbox to keep, or to poll; answers are read by
 * the calls themselves). */
int hv_rtnl_fd(const hv_rtnl *rtnl);

/* ---- links ---- */

/* The index of the interface `name` (> 0), or -ENODEV, -EINVAL for a name
 * longer than IFNAMSIZ - 1. */
int hv_rtnl_link_index(hv_rtnl *rtnl, const char *name);

struct hv_rtnl_link {
	int ifindex;
	char name[16];          /* IFNAMSIZ */
	unsigned flags;         /* IFF_UP, IFF_RUNNING, IFF_LOWER_UP, ... */
	uint32_t mtu;
	uint16_t type;          /* ARPHRD_ETHER, ARPHRD_LOOPBACK, ... */
	uint8_t hwaddr[32];     /* IFLA_ADDRESS */
	uint8_t hwaddr_len;     /* 6 for Ethernet; 0 when the link has none */
};
/* Fills *out for the interface with index `ifindex`: -ENODEV if none. */
int hv_rtnl_link_get(hv_rtnl *rtnl, int ifindex, struct hv_rtnl_link *out);

/* Sets IFF_UP (up = true) or clears it. */
int hv_rtnl_link_set_up(hv_rtnl *rtnl, int ifindex, bool up);
/* Sets the link's MTU (the kernel refuses values outside the device's
 * range with -EINVAL). */
int hv_rtnl_link_set_mtu(hv_rtnl *rtnl, int ifindex, uint32_t mtu);

/* ---- addresses ---- */

struct hv_rtnl_addr {
	int family;             /* AF_INET or AF_INET6 */
	int ifindex;
	uint8_t addr[16];       /* 4 bytes used for AF_INET, network order */
	uint8_t prefixlen;      /* <= 32 (AF_INET), <= 128 (AF_INET6) */
	bool has_broadcast;     /* AF_INET only: IFA_BROADCAST */
	uint8_t broadcast[4];
	/* Seconds, HV_RTNL_FOREVER for none; 0/0 is read as forever/forever
	 * (a zero-filled struct means a permanent address). Sent as
	 * IFA_CACHEINFO: the kernel removes the address when valid_lft runs
	 * out, so an address a dead client set does not outlive its lease.
	 * preferred_lft must be <= valid_lft. */
	uint32_t valid_lft;
	uint32_t preferred_lft;
	/* Extra IFA_F_* flags (IFA_F_NODAD, IFA_F_NOPREFIXROUTE, ...), sent
	 * as IFA_FLAGS. */
	uint32_t flags;
};
/* Adds the address; flags: HV_RTNL_REPLACE or 0 (then -EEXIST if present). */
int hv_rtnl_addr_add(hv_rtnl *rtnl, const struct hv_rtnl_addr *a, unsigned flags);
/* Deletes the address (family, ifindex, addr, prefixlen are the key):
 * -EADDRNOTAVAIL if absent. */
int hv_rtnl_addr_del(hv_rtnl *rtnl, const struct hv_rtnl_addr *a);

/* ---- routes ---- */

struct hv_rtnl_route {
	int family;             /* AF_INET or AF_INET6 */
	int ifindex;            /* RTA_OIF; 0 for none (then a gateway is needed) */
	uint8_t dst[16];        /* network order; dst_len 0 = the default route */
	uint8_t dst_len;
	bool has_gateway;       /* RTA_GATEWAY */
	uint8_t gateway[16];
	bool has_prefsrc;       /* RTA_PREFSRC: the source address to prefer */
	uint8_t prefsrc[16];
	uint32_t metric;        /* RTA_PRIORITY; 0 = the kernel's default */
	uint32_t table;         /* 0 = RT_TABLE_MAIN */
	uint8_t protocol;       /* RTPROT_*; 0 = RTPROT_BOOT */
	/* RT_SCOPE_*; 0 picks what `ip route` picks: RT_SCOPE_LINK for an
	 * AF_INET route without gateway ("dev X"), universe otherwise. */
	uint8_t scope;
};
/* Adds the route; flags: HV_RTNL_REPLACE or 0 (then -EEXIST if present). */
int hv_rtnl_route_add(hv_rtnl *rtnl, const struct hv_rtnl_route *r, unsigned flags);
/* Deletes the route (dst/dst_len, table, metric, and oif/gateway when
 * given select it): -ESRCH if absent. */
int hv_rtnl_route_del(hv_rtnl *rtnl, const struct hv_rtnl_route *r);
