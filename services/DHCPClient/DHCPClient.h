/* DHCPClient.h — what main.c describes: options, the setup/teardown
 * hooks and the handlers of DHCPClient.ipc. */
#pragma once

#include <haven/service.h>

#include "DHCPClient.ipc.h"

struct dhc_options {
	const char *interface;
	const char *lease_dir;
	const char *hostname;
	bool foreground;
	bool keep;
	int metric;
	int arp_probe_ms;
};
extern struct dhc_options dhc_opts;
extern const hv_option dhc_option_table[];
extern const dhcp_client_handlers dhc_handlers;

int dhc_setup(hv_server *srv);
void dhc_teardown(int exit_code);
/* hv_service_main, with a socket of its own when started by hand without
 * --socket or a manager's sockets: /run/haven/dhcp/IFACE.sock. */
int dhc_main(const hv_service *svc, int argc, char **argv);
