/* DHCPClient.c — the service around the state machine: options, the
 * lease directory, the client started in setup (sockets before the
 * sandbox), RELEASE in teardown, and the handler of DHCPClient.ipc. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>
#include <haven/util.h>

#include "DHCPClient.h"
#include "client.h"

struct dhc_options dhc_opts = {.metric = 1024, .arp_probe_ms = 100};

const hv_option dhc_option_table[] = {
	HV_OPT_STRING("interface", "IFACE", &dhc_opts.interface, "the interface to configure (required)"),
	HV_OPT_STRING("lease-dir", "DIR", &dhc_opts.lease_dir,
		      "where the lease is kept for INIT-REBOOT (default $XDG_STATE_HOME/haven/dhcp)"),
	HV_OPT_STRING("hostname", "NAME", &dhc_opts.hostname, "sent to the server (option 12)"),
	HV_OPT_INT("metric", "N", &dhc_opts.metric, 0, 65535, "metric of the lease's routes (1024)"),
	HV_OPT_INT("arp-probe", "MS", &dhc_opts.arp_probe_ms, 0, 10000,
		   "probe a new address by ARP this long, DECLINE it if taken (100; 0: no probe)"),
	HV_OPT_FLAG("keep", &dhc_opts.keep,
		    "on stop, keep the address and the saved lease (no RELEASE)"),
	HV_OPT_FLAG("foreground", &dhc_opts.foreground,
		    "accepted for udhcpc/dhcpcd habits: the client never daemonizes"),
	{0},
};

static dhc_client *client;
static int lease_dirfd = -1;

int dhc_setup(hv_server *srv)
{
	if (!dhc_opts.interface || !*dhc_opts.interface || strlen(dhc_opts.interface) >= IFNAMSIZ)
		return hv_log_errno(-EINVAL, "DHCPClient: --interface IFACE is required");
	static char *default_dir;
	int r;
	if (!dhc_opts.lease_dir) {
		if ((r = hv_xdg_path(HV_XDG_STATE, "haven/dhcp", &default_dir)) < 0)
			return hv_log_errno(r, "DHCPClient: no --lease-dir and no $XDG_STATE_HOME or $HOME");
		dhc_opts.lease_dir = default_dir;
	}
	r = hv_mkdir_p(dhc_opts.lease_dir, 0700);
	if (r < 0)
		return hv_log_errno(r, "DHCPClient: failed to create %s", dhc_opts.lease_dir);
	lease_dirfd = open(dhc_opts.lease_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lease_dirfd < 0)
		return hv_log_errno(-errno, "DHCPClient: failed to open %s", dhc_opts.lease_dir);
	struct dhc_config cfg = {.ifname = dhc_opts.interface, .lease_dirfd = lease_dirfd,
				 .keep_on_stop = dhc_opts.keep, .hostname = dhc_opts.hostname,
				 .route_metric = (uint32_t)dhc_opts.metric,
				 .arp_probe_ms = (unsigned)dhc_opts.arp_probe_ms};
	if ((r = dhc_client_new(hv_server_loop(srv), &cfg, &client)) < 0)
		return r;
	return dhc_client_start(client);
}

void dhc_teardown(int exit_code)
{
	dhc_client_stop(client);
	dhc_client_free(client);
	client = NULL;
	hv_close(&lease_dirfd);
}

static const char *addr_str(hv_call *call, uint32_t a)
{
	char *s = hv_call_alloc(call, INET_ADDRSTRLEN);
	if (!s)
		return "";
	return a ? inet_ntop(AF_INET, &a, s, INET_ADDRSTRLEN) : "";
}

static const char **addr_list(hv_call *call, const uint32_t *a, unsigned n)
{
	const char **v = hv_call_alloc(call, (n ? n : 1) * sizeof(*v));
	for (unsigned i = 0; v && i < n; i++)
		v[i] = addr_str(call, a[i]);
	return v;
}

static void fill_lease(hv_call *call, const struct dhc_status *st, dhcp_client_status *out)
{
	const struct dhc_lease *l = &st->lease;
	out->address = addr_str(call, l->addr);
	out->prefix = l->prefix;
	out->server = addr_str(call, l->server_id);
	out->broadcast = addr_str(call, l->broadcast);
	out->routers.items = addr_list(call, l->routers, l->n_routers);
	out->routers.count = out->routers.items ? l->n_routers : 0;
	out->dns.items = addr_list(call, l->dns, l->n_dns);
	out->dns.count = out->dns.items ? l->n_dns : 0;
	dhcp_client_route *routes = hv_call_alloc(call, (l->n_routes + 1u) * sizeof(*routes));
	for (unsigned i = 0; routes && i < l->n_routes; i++) {
		char *d = hv_call_alloc(call, INET_ADDRSTRLEN + 4);
		if (!d)
			return;
		char a[INET_ADDRSTRLEN];
		snprintf(d, INET_ADDRSTRLEN + 4, "%s/%u",
			 inet_ntop(AF_INET, &l->routes[i].dst, a, sizeof(a)), l->routes[i].len);
		routes[i].destination = d;
		routes[i].gateway = addr_str(call, l->routes[i].gw);
	}
	out->routes.items = routes;
	out->routes.count = routes ? l->n_routes : 0;
	out->domain = l->domain;
	out->mtu = l->mtu;
	out->lease_time = l->lease;
	out->t1 = l->t1;
	out->t2 = l->t2;
	uint64_t now = hv_now_ns(), end = st->bound_ns + (uint64_t)l->lease * 1000000000ull;
	out->remaining = l->lease == UINT32_MAX ? UINT32_MAX
			 : now >= end		 ? 0
						 : (uint32_t)((end - now) / 1000000000ull);
}

static int on_get_status(hv_call *call, const dhcp_client_get_status_req *req,
			 dhcp_client_get_status_rep *rep)
{
	if (!client)
		return hv_call_fail(call, -ENODEV, "no client");
	const struct dhc_status *st = dhc_client_status(client);
	dhcp_client_status *s = &rep->status;
	s->interface = st->ifname;
	s->ifindex = (uint32_t)st->ifindex;
	s->state = dhc_state_name(st->state);
	s->changes = st->changes;
	s->ignored = st->ignored;
	s->bound = st->has_lease;
	s->address = s->server = s->broadcast = s->domain = "";
	if (st->has_lease)
		fill_lease(call, st, s);
	return 0;
}

const dhcp_client_handlers dhc_handlers = {
	.get_status = on_get_status,
};

int dhc_main(const hv_service *svc, int argc, char **argv)
{
	int r = hv_service_parse(svc, argc, argv);
	if (r != 1)
		return hv_options_exit_code(r);
	if (hv_service_socket_path() || getenv("LISTEN_FDS") || getenv("HAVEN_HANDOFF_FD") ||
	    !dhc_opts.interface)
		return hv_service_run(svc);
	/* By hand, without a socket: one of its own, per interface. */
	static char path[128], *args[256];
	snprintf(path, sizeof(path), "/run/haven/dhcp/%s.sock", dhc_opts.interface);
	if ((r = hv_mkdir_p("/run/haven/dhcp", 0755)) < 0)
		return hv_log_errno(r, "DHCPClient: failed to create /run/haven/dhcp"), 1;
	if (argc > 250)
		return 2;
	for (int i = 0; i < argc; i++)
		args[i] = argv[i];
	args[argc] = "--socket";
	args[argc + 1] = path;
	return hv_service_main(svc, argc + 2, args);
}
