/* apply.h — a lease onto the interface through lib/rtnl: the address
 * with the lease's lifetimes, the routes (option 121 when given, which
 * replaces option 3 as RFC 3442 says, else a default route through the
 * first router), the MTU. */
#pragma once

#include <haven/rtnl.h>

#include "lease.h"

/* Sets (or refreshes: replace) what the lease says. remaining: seconds of
 * the lease still to run. 0 or the first negative errno (all is tried). */
int dhc_apply(hv_rtnl *rt, int ifindex, const struct dhc_lease *l, uint32_t remaining,
	      uint32_t metric);
/* Removes the lease's address and routes; what is already gone is fine. */
void dhc_unapply(hv_rtnl *rt, int ifindex, const struct dhc_lease *l, uint32_t metric);
