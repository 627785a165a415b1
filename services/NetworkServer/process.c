/* process.c — NetworkServer's process around its handlers: options,
 * main.c's hooks (the model from the kernel before the sockets are taken;
 * ConfigServer and the link up after), and the clean stop. */
#include "NetworkServer.h"

#include <errno.h>
#include <stdlib.h>

#include <haven/log.h>
#include <haven/rtnl.h>

#include "netlink.h"

struct nws_options nws_opts;

const hv_option nws_options[] = {
	HV_OPT_STRING("config-socket", "PATH", &nws_opts.config_socket,
		      "ConfigServer's socket (default: its portal, \"config\")"),
	{0},
};

int nws_setup(hv_server *srv)
{
	nws.srv = srv;
	nws.loop = hv_server_loop(srv);
	hv_server_set_userdata(srv, &nws);
	/* The requests' socket now: the sandbox may forbid opening one later. */
	int r = hv_rtnl_open(&nws.rtnl);
	if (r < 0)
		return hv_log_errno(r, "Failed to open a netlink socket");
	r = nws_netlink_open(nws.loop, &nws.state, nws_announce, NULL, &nws.netlink);
	if (r < 0)
		return hv_log_errno(r, "Failed to read links, addresses and routes from the kernel");
	hv_log_info("%zu interfaces, %zu routes", nws.state.n, nws.state.nroutes);
	return 0;
}

/* ConfigServer's settings are read from the loop, once it runs. */
int nws_ready(hv_server *srv) { return nws_config_start(nws_opts.config_socket); }

void nws_teardown(int exit_code)
{
	nws_dhcp_stop_all();
	nws_config_stop();
	nws_netlink_close(nws.netlink);
	if (nws.rtnl)
		hv_rtnl_close(nws.rtnl);
	nws_state_clear(&nws.state);
	nws = (nws_service){0};
}
