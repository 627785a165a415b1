/* state.h — NetworkServer's model of the kernel's links, addresses and
 * routes, kept from the dumps at start and every notification after
 * (rtmsg.h). It is only ever what the kernel last said: nothing here is
 * desired state (that is config.c's). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmsg.h"

typedef struct nws_iface {
	nws_link link;
	nws_addr *addrs;
	size_t naddrs;
	uint64_t *addr_seen_ns; /* when each address's lifetimes were reported */
} nws_iface;

typedef struct nws_state {
	nws_iface *ifaces; /* in index order */
	size_t n;
	nws_route *routes;
	size_t nroutes;
} nws_state;

/* What applying a message changed. */
typedef enum nws_change {
	NWS_NONE,    /* nothing (a repeat, an unknown link's address) */
	NWS_ADDED,   /* a new link, address or route */
	NWS_CHANGED, /* a link's attributes, an address's lifetimes */
	NWS_REMOVED,
} nws_change;

/* Apply m as of now_ns. A link removed takes its addresses and routes
 * with it (the kernel does not always report each). -ENOMEM, or the
 * change. For NWS_REMOVED of a link, *m is completed with the name the
 * model had. */
int nws_state_apply(nws_state *s, nws_msg *m, uint64_t now_ns);
void nws_state_clear(nws_state *s);

nws_iface *nws_state_find(const nws_state *s, uint32_t index);
nws_iface *nws_state_find_name(const nws_state *s, const char *name);
/* An address's lifetime left at now_ns (NWS_FOREVER stays). */
uint32_t nws_lifetime_left(uint32_t reported, uint64_t seen_ns, uint64_t now_ns);
