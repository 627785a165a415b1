/* net — NetworkServer from the shell: list interfaces, change one, watch
 * changes. A thin layer on the generated NetworkServer client.
 *
 * Exit status: 0 done, 1 the request failed (the kernel refused, the
 * service is unreachable), 2 usage or an invalid address, route or MTU,
 * 3 no such interface, 4 DHCP unavailable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/ipc.h>

#include "cli.h"
#include "net-client.h"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_NO_SUCH_INTERFACE = 3, EXIT_NO_DHCP = 4 };

static const char *socket_path;
static int json;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: net [--socket PATH] COMMAND\n"
		"  list [--json] [IFACE]   interfaces: index, name, flags, MTU, state, MAC,\n"
		"                          addresses with lifetimes, routes\n"
		"  set IFACE up | down\n"
		"  set IFACE mtu N\n"
		"  set IFACE addr A/P      add a static address (IPv4 or IPv6)\n"
		"  set IFACE del-addr A/P\n"
		"  set IFACE route DEST [via GW] [metric N]      DEST: default or A/P\n"
		"  set IFACE del-route DEST [via GW] [metric N]\n"
		"  set IFACE dhcp on | off\n"
		"  watch                   one line per link, address or route change\n"
		"Changes are applied and kept in ConfigServer's Network domain (a warning\n"
		"says when it could not be kept).\n"
		"Exit status: 0 ok, 1 failure, 2 usage or invalid value, 3 no such\n"
		"interface, 4 DHCP unavailable.\n"
		"NetworkServer is reached at the portal \"" NET_CLIENT_PORTAL "\" ($HAVEN_PORTAL_DIR,\n"
		"else $XDG_RUNTIME_DIR/haven/portal) or --socket PATH.\n" CLI_TIMEOUT_HELP);
}

/* The service's typed errors as exit codes. */
static int fail(hv_conn *c, int r, const char *what)
{
	cli_fail(c, r, what);
	switch (r) {
	case NETWORK_SERVER_ERR_NO_SUCH_INTERFACE: return EXIT_NO_SUCH_INTERFACE;
	case NETWORK_SERVER_ERR_INVALID_ADDRESS:
	case NETWORK_SERVER_ERR_INVALID_ROUTE:
	case NETWORK_SERVER_ERR_INVALID_MTU: return EXIT_USAGE;
	case NETWORK_SERVER_ERR_DHCP_UNAVAILABLE: return EXIT_NO_DHCP;
	}
	return EXIT_FAILED;
}

static void print_lifetime(const char *what, uint32_t s)
{
	if (s == UINT32_MAX)
		printf(" %s forever", what);
	else
		printf(" %s %us", what, s);
}

static void print_route(const network_server_route *r, const char *indent)
{
	char b1[12], b2[12];
	printf("%s%s", indent, r->destination);
	if (r->prefix && strcmp(r->destination, "default"))
		printf("/%u", r->prefix);
	if (r->gateway[0])
		printf(" via %s", r->gateway);
	if (r->interface[0])
		printf(" dev %s", r->interface);
	printf(" proto %s scope %s", net_client_protocol_name(r->protocol, b1), net_client_scope_name(r->scope, b2));
	if (r->metric)
		printf(" metric %u", r->metric);
	if (r->table != 254)
		printf(" table %u", r->table);
	if (r->type != 1)
		printf(" type %s", net_client_type_name(r->type, b1));
	putchar('\n');
}

static void print_iface(const network_server_interface *f)
{
	printf("%u: %s: <%s%s> mtu %u state %s", f->index, f->name, f->up ? "UP" : "DOWN",
	       f->carrier ? ",LOWER_UP" : "", f->mtu, net_client_state_name(f->state));
	if (f->mac[0])
		printf(" mac %s", f->mac);
	if (f->dhcp)
		printf(" dhcp");
	putchar('\n');
	char b[12];
	for (size_t i = 0; i < f->addresses.count; i++) {
		const network_server_address *a = &f->addresses.items[i];
		printf("    %s %s/%u scope %s", net_client_family_name(a->family), a->address, a->prefix,
		       net_client_scope_name(a->scope, b));
		print_lifetime("valid", a->valid_lifetime);
		print_lifetime("preferred", a->preferred_lifetime);
		putchar('\n');
	}
	for (size_t i = 0; i < f->routes.count; i++)
		print_route(&f->routes.items[i], "    route ");
}

static void json_route(const network_server_route *r)
{
	char b1[12], b2[12], b3[12];
	printf("{\"family\":\"%s\",\"destination\":", net_client_family_name(r->family));
	cli_json_string(stdout, r->destination);
	printf(",\"prefix\":%u,\"gateway\":", r->prefix);
	cli_json_string(stdout, r->gateway);
	printf(",\"dev\":");
	cli_json_string(stdout, r->interface);
	printf(",\"table\":%u,\"metric\":%u,\"protocol\":\"%s\",\"scope\":\"%s\",\"type\":\"%s\"}", r->table,
	       r->metric, net_client_protocol_name(r->protocol, b1), net_client_scope_name(r->scope, b2),
	       net_client_type_name(r->type, b3));
}

static void json_iface(const network_server_interface *f)
{
	printf("{\"index\":%u,\"name\":", f->index);
	cli_json_string(stdout, f->name);
	printf(",\"mac\":");
	cli_json_string(stdout, f->mac);
	printf(",\"mtu\":%u,\"up\":%s,\"carrier\":%s,\"state\":\"%s\",\"dhcp\":%s,\"addresses\":[", f->mtu,
	       f->up ? "true" : "false", f->carrier ? "true" : "false", net_client_state_name(f->state),
	       f->dhcp ? "true" : "false");
	char b[12];
	for (size_t i = 0; i < f->addresses.count; i++) {
		const network_server_address *a = &f->addresses.items[i];
		printf("%s{\"family\":\"%s\",\"address\":\"%s\",\"prefix\":%u,\"scope\":\"%s\","
		       "\"flags\":%u,\"valid_lifetime\":%u,\"preferred_lifetime\":%u}",
		       i ? "," : "", net_client_family_name(a->family), a->address, a->prefix,
		       net_client_scope_name(a->scope, b), a->flags, a->valid_lifetime, a->preferred_lifetime);
	}
	printf("],\"routes\":[");
	for (size_t i = 0; i < f->routes.count; i++) {
		printf("%s", i ? "," : "");
		json_route(&f->routes.items[i]);
	}
	printf("]}");
}

static int connect_service(hv_conn **c) { return cli_connect(NULL, NET_CLIENT_PORTAL, socket_path, c) < 0 ? -1 : 0; }

static int cmd_list(int argc, char **argv, void *userdata)
{
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] == '-' || only)
			return cli_usage_error("list: unexpected \"%s\"", argv[i]);
		else
			only = argv[i];
	}
	hv_conn *c = NULL;
	if (connect_service(&c) < 0)
		return EXIT_FAILED;
	hv_vec_network_server_interface v = {0};
	network_server_interface one;
	int r = only ? network_server_get(c, only, &one) : network_server_list(c, &v);
	if (r < 0) {
		r = fail(c, r, only ? only : "list");
		hv_conn_close(c);
		return r;
	}
	if (only)
		v = (hv_vec_network_server_interface){.items = &one, .count = 1};
	if (json)
		printf("[");
	for (size_t i = 0; i < v.count; i++) {
		if (json) {
			printf("%s", i ? "," : "");
			json_iface(&v.items[i]);
		} else
			print_iface(&v.items[i]);
	}
	if (json)
		printf("]\n");
	hv_conn_close(c);
	return 0;
}

/* "DEST [via GW] [metric N]" from argv. */
static int parse_route_args(int argc, char **argv, const char **dst, const char **gw, uint32_t *metric)
{
	if (argc < 1)
		return -EINVAL;
	*dst = argv[0];
	*gw = "";
	*metric = 0;
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			return -EINVAL;
		uint64_t m;
		if (!strcmp(argv[i], "via"))
			*gw = argv[i + 1];
		else if (!strcmp(argv[i], "metric") && hv_parse_u64(argv[i + 1], UINT32_MAX, &m) == 0)
			*metric = (uint32_t)m;
		else
			return -EINVAL;
	}
	return 0;
}

static int on_off(const char *s, bool *out)
{
	if (!strcmp(s, "on"))
		*out = true;
	else if (!strcmp(s, "off"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* do_set's "bad usage, already said" (a value no call returns). */
#define USAGE (-1000000)

/* One set request; r: its result, *persisted its answer. */
static int do_set(hv_conn *c, const char *iface, const char *what, int argc, char **argv, bool *persisted)
{
	const char *dst, *gw;
	uint32_t metric;
	uint64_t n;
	bool b;
	if ((!strcmp(what, "up") || !strcmp(what, "down")) && argc == 0)
		return network_server_set_up(c, iface, what[0] == 'u', persisted);
	if (!strcmp(what, "mtu") && argc == 1) {
		if (hv_parse_u64(argv[0], UINT32_MAX, &n) < 0)
			return cli_usage_error("set %s mtu: \"%s\" is not a number", iface, argv[0]), USAGE;
		return network_server_set_mtu(c, iface, (uint32_t)n, persisted);
	}
	if (!strcmp(what, "addr") && argc == 1)
		return network_server_add_address(c, iface, argv[0], persisted);
	if (!strcmp(what, "del-addr") && argc == 1)
		return network_server_del_address(c, iface, argv[0], persisted);
	if (!strcmp(what, "route") || !strcmp(what, "del-route")) {
		if (parse_route_args(argc, argv, &dst, &gw, &metric) < 0)
			return cli_usage_error("set %s %s DEST [via GW] [metric N]", iface, what), USAGE;
		return what[0] == 'r' ? network_server_add_route(c, iface, dst, gw, metric, persisted)
				      : network_server_del_route(c, iface, dst, gw, metric, persisted);
	}
	if (!strcmp(what, "dhcp") && argc == 1) {
		if (on_off(argv[0], &b) < 0)
			return cli_usage_error("set %s dhcp on|off, not \"%s\"", iface, argv[0]), USAGE;
		return network_server_set_dhcp(c, iface, b, persisted);
	}
	return cli_usage_error("set %s: unknown setting \"%s\" (or wrong arguments)", iface, what), USAGE;
}

static int cmd_set(int argc, char **argv, void *userdata)
{
	hv_conn *c = NULL;
	if (connect_service(&c) < 0)
		return EXIT_FAILED;
	bool persisted = false;
	int r = do_set(c, argv[1], argv[2], argc - 3, argv + 3, &persisted);
	if (r == USAGE)
		r = EXIT_USAGE; /* do_set said why */
	else if (r < 0)
		r = fail(c, r, argv[1]);
	else if (!persisted)
		fprintf(stderr, "net: %s: applied, but not kept: ConfigServer did not store it\n", argv[1]);
	hv_conn_close(c);
	return r;
}

/* --- watch ------------------------------------------------------------------ */
static void print_event_addr(const char *what, const char *name, const network_server_address *a)
{
	printf("address %s %s %s/%u", what, name, a->address, a->prefix);
	print_lifetime("valid", a->valid_lifetime);
	putchar('\n');
}

static int on_link_changed(hv_call *call, const network_client_link_changed_req *req)
{
	const network_server_interface *f = &req->interface;
	printf("link %s %s carrier %s mtu %u state %s\n", f->name, f->up ? "up" : "down", f->carrier ? "on" : "off",
	       f->mtu, net_client_state_name(f->state));
	return 0;
}

static int on_link_removed(hv_call *call, const network_client_link_removed_req *req)
{
	printf("link %s removed\n", req->name);
	return 0;
}

static int on_address_added(hv_call *call, const network_client_address_added_req *req)
{
	print_event_addr("added", req->name, &req->address);
	return 0;
}

static int on_address_removed(hv_call *call, const network_client_address_removed_req *req)
{
	print_event_addr("removed", req->name, &req->address);
	return 0;
}

static int on_route_added(hv_call *call, const network_client_route_added_req *req)
{
	print_route(&req->route, "route added ");
	return 0;
}

static int on_route_removed(hv_call *call, const network_client_route_removed_req *req)
{
	print_route(&req->route, "route removed ");
	return 0;
}

static int on_dns(hv_call *call, const network_client_dns_servers_changed_req *req)
{
	printf("dns %s", req->name);
	for (size_t i = 0; i < req->servers.count; i++)
		printf(" %s", req->servers.items[i]);
	putchar('\n');
	return 0;
}

static const network_client_handlers watch_handlers = NETWORK_CLIENT_HANDLERS(
	on_link_changed, on_link_removed, on_address_added, on_address_removed, on_route_added,
	on_route_removed, on_dns);

static int cmd_watch(int argc, char **argv, void *userdata)
{
	hv_conn *c = NULL;
	if (connect_service(&c) < 0)
		return EXIT_FAILED;
	int r = hv_conn_serve(c, &network_client_endpoint, &watch_handlers);
	if (r < 0 || (r = network_server_subscribe(c)) < 0) {
		r = fail(c, r, "cannot watch");
		hv_conn_close(c);
		return r;
	}
	/* Every event on its own line at once: a script reads them as they come. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A line a watcher can wait for before it changes anything. */
	fprintf(stderr, "net: watching\n");
	while ((r = hv_conn_dispatch(c, -1)) >= 0)
		;
	fprintf(stderr, "net: NetworkServer went away: %s\n", strerror(-r));
	hv_conn_close(c);
	return EXIT_FAILED;
}

static const hv_verb verbs[] = {
	{"list", 0, 2, cmd_list},
	{"set", 2, 7, cmd_set},
	{"watch", 0, 0, cmd_watch},
	{0},
};

int main(int argc, char **argv)
{
	cli_init("net", "NetworkServer", usage);
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			socket_path = argv[++i];
		else if (!strncmp(argv[i], "--socket=", 9))
			socket_path = argv[i] + 9;
		else
			return cli_usage_error("unknown option \"%s\"", argv[i]);
	}
	for (int k = i; k < argc; k++)
		if (!strcmp(argv[k], "--help")) {
			usage(stdout);
			return 0;
		}
	return cli_dispatch(argc - i, argv + i, verbs, NULL);
}
