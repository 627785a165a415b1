/* DHCPClient — the RFC 2131 DHCP client of one interface: discovers a
 * server, takes a lease, sets the address (with the lease's lifetimes)
 * and routes through rtnetlink, renews at T1 (unicast), rebinds at T2
 * (broadcast), restarts at expiry or on a NAK, keeps the lease for
 * INIT-REBOOT and releases it on a clean stop. get_status tells how it
 * stands.
 *
 *   DHCPClient --interface IFACE [--lease-dir DIR] [--foreground] [--socket PATH]
 *
 * Sandbox: its packet, UDP and netlink sockets are opened in setup; then
 * no exec, no files but the lease directory. */
#include <haven/service.h>

#include "DHCPClient.h"

static const hv_service dhcp_client = {
	.name = "DHCPClient",
	.summary = "Serves DHCPClient.ipc: the DHCP client of one interface (RFC 2131).",
	.endpoint = &dhcp_client_endpoint,
	.handlers = &dhc_handlers,
	.options = dhc_option_table,
	.setup = dhc_setup,
	.teardown = dhc_teardown,
	.unveil = (const hv_unveil_rule[]){HV_UNVEIL(dhc_opts.lease_dir, "rwc"), {0}},
	/* bpf: the packet socket (opened in setup; its filter changes with
	 * the state); inet: sendto() with an address (UDP, netlink), the
	 * UDP socket of RENEWING and RELEASE, bind; rpath wpath cpath: the
	 * lease file, replaced atomically. */
	.pledge = "stdio inet bpf rpath wpath cpath",
};

int main(int argc, char **argv) { return dhc_main(&dhcp_client, argc, argv); }
