/* NetworkServer — the machine's network configuration: interfaces, their
 * addresses and routes, as the kernel has them (rtnetlink, changes by
 * anyone included), changed on request and kept in ConfigServer's Network
 * domain, which is applied at start and whenever it changes.
 *
 *   NetworkServer [--socket PATH] [--config-socket PATH]
 *
 * Needs CAP_NET_ADMIN (SystemServer's AmbientCapabilities=) and nothing
 * else: no files, netlink and Unix sockets only. */
#include <haven/service.h>

#include "NetworkServer.h"

static const hv_service network_server = {
	.name = "NetworkServer",
	.summary = "Serves NetworkServer.ipc: interfaces, addresses and routes, their\n"
		   "changes as events, and a configuration kept in ConfigServer.",
	.endpoint = &network_server_endpoint,
	.handlers = &nws_handlers,
	.options = nws_options,
	.conn_size = sizeof(nws_client),
	.setup = nws_setup,
	.ready = nws_ready,
	.teardown = nws_teardown,
	.unveil = (const hv_unveil_rule[]){{0}},
	/* inet: the NETLINK_ROUTE sockets; unix: ConfigServer. */
	.pledge = "stdio inet unix",
};

int main(int argc, char **argv) { return hv_service_main(&network_server, argc, argv); }
