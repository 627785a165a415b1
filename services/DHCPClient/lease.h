/* lease.h — what a server granted, and its durable copy for INIT-REBOOT
 * (one file per interface, "IFACE.lease" in the lease directory, replaced
 * atomically and durably with hv_replace_file_at). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "packet.h"

struct dhc_lease {
	uint32_t addr, server_id, broadcast; /* network order */
	uint8_t prefix;
	uint8_t n_routers, n_dns, n_routes;
	uint32_t routers[DHC_MAX_ROUTERS];
	uint32_t dns[DHC_MAX_DNS];
	struct dhc_route routes[DHC_MAX_ROUTES];
	char domain[256];
	uint16_t mtu;
	uint32_t lease, t1, t2; /* seconds; lease UINT32_MAX: infinite */
	time_t acquired;        /* wall clock, for the saved copy */
};

/* The lease an ACK grants, or -EINVAL (logged by the caller) for one this
 * client refuses: no address, no lease time, a lease of 0 seconds.
 * T1/T2 from options 58/59 when they are ordered (T1 < T2 < lease), else
 * 0.5 and 0.875 of the lease. */
int dhc_lease_from_ack(const struct dhc_msg *ack, struct dhc_lease *out);

int dhc_lease_save(int dirfd, const char *ifname, const struct dhc_lease *l);
/* Reads the saved lease: 0, -ENOENT when none, -EBADMSG for a damaged
 * file (file:line logged), -ESTALE when it has expired. */
int dhc_lease_load(int dirfd, const char *ifname, struct dhc_lease *out);
int dhc_lease_remove(int dirfd, const char *ifname);
