/* client.h — the RFC 2131 client state machine of one interface.
 *
 *   INIT -> SELECTING -> REQUESTING -> BOUND -> RENEWING (T1, unicast)
 *        -> REBINDING (T2, broadcast) -> expiry: INIT
 *   INIT-REBOOT (a saved lease) -> REBOOTING -> BOUND, or INIT
 *   REQUESTING -ACK-> PROBING (ARP, arp_probe_ms; 0: none) -> BOUND, or
 *     DECLINE and INIT after 10 s when another host answers for it
 *   NAK anywhere -> the address is removed, INIT after a back-off
 *   stop -> RELEASE, address removed (unless keep_on_stop)
 *
 * Retransmissions: 4, 8, 16, 32, 64 s (then 64) with ±1 s of jitter; in
 * RENEWING/REBINDING half the time left to T2/expiry, at least 60 s. The
 * address is set with the lease's lifetimes, so the kernel removes it if
 * the client dies. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <haven/loop.h>
#include <haven/rtnl.h>

#include "lease.h"

enum dhc_state {
	DHC_INIT, DHC_SELECTING, DHC_REQUESTING, DHC_BOUND, DHC_RENEWING, DHC_REBINDING,
	DHC_INIT_REBOOT, DHC_REBOOTING, DHC_STOPPED,
	DHC_PROBING, /* after the ACK of a new address: the RFC 5227 ARP probe */
};
const char *dhc_state_name(enum dhc_state s);

struct dhc_config {
	const char *ifname;
	int lease_dirfd;      /* -1: no saved lease */
	bool keep_on_stop;    /* no RELEASE: keep address and saved lease */
	const char *hostname; /* option 12, may be NULL */
	uint32_t route_metric;
	unsigned arp_probe_ms; /* how long a new address is probed; 0: not */
};

typedef struct dhc_client dhc_client;
typedef void (*dhc_change_fn)(dhc_client *c, void *userdata);

/* Opens the sockets (needs CAP_NET_RAW and CAP_NET_ADMIN): before the
 * sandbox. The interface is brought up if it is down. */
int dhc_client_new(hv_loop *loop, const struct dhc_config *cfg, dhc_client **out);
/* INIT, or INIT-REBOOT from the saved lease. */
int dhc_client_start(dhc_client *c);
/* RELEASE (unless keep_on_stop), remove the address and routes. */
void dhc_client_stop(dhc_client *c);
void dhc_client_free(dhc_client *c);
HV_DEFINE_CLEANUP(dhc_client *, dhc_client_free)
void dhc_client_on_change(dhc_client *c, dhc_change_fn fn, void *userdata);

struct dhc_status {
	enum dhc_state state;
	const char *ifname;
	int ifindex;
	bool has_lease;
	struct dhc_lease lease;
	uint64_t bound_ns;   /* CLOCK_MONOTONIC when the lease's clock started */
	uint32_t changes;    /* bumped on every state change */
	uint32_t sent[DHC_INFORM + 1], received[DHC_INFORM + 1];
	uint32_t ignored;    /* messages dropped: malformed, other xid, unexpected */
};
const struct dhc_status *dhc_client_status(const dhc_client *c);
