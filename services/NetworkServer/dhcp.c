/* dhcp.c — a DHCPClient per interface configured for DHCP, and the DNS
 * servers they learn. DHCPClient is not in the tree yet: asking for DHCP
 * is refused with DhcpUnavailable (-ENOTSUP here) rather than pretending,
 * and the DNS server list stays empty. */
#include "NetworkServer.h"

#include <errno.h>

static hv_strv dns_servers;

int nws_dhcp_set(const char *name, bool on)
{
	/* Turning DHCP off where no client runs is already true. */
	return on ? -ENOTSUP : 0;
}

void nws_dhcp_stop_all(void) { hv_strv_clear(&dns_servers); }

const hv_strv *nws_dns_servers(void) { return &dns_servers; }
