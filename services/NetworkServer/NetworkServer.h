/* NetworkServer.h — what the parts of NetworkServer share: the service's
 * state (the kernel's model, the desired configuration, the connections
 * that reach the kernel and ConfigServer), the handlers, and main.c's
 * hooks. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <haven/ipc.h>
#include <haven/options.h>
#include <haven/util.h>

#include "NetworkServer.ipc.h"
#include "addr.h"
#include "state.h"

/* The Network domain in ConfigServer: one group per interface name, with
 * these keys (docs/networkserver.md). */
#define NWS_DOMAIN "Network"
#define NWS_KEY_UP "up"		      /* true / false */
#define NWS_KEY_MTU "mtu"	      /* decimal */
#define NWS_KEY_ADDRESSES "addresses" /* "A/P A/P ..." */
#define NWS_KEY_ROUTES "routes"	      /* "DEST [via GW] [metric N], ..." */
#define NWS_KEY_DHCP "dhcp"	      /* true / false */

/* One interface's configuration as the Network domain has it. */
typedef struct nws_config {
	char name[16];
	int up;	      /* -1 unset, 0, 1 */
	uint32_t mtu; /* 0 unset */
	hv_strv addresses;
	hv_strv routes;
	bool dhcp;
} nws_config;

typedef struct nws_service nws_service;
typedef struct nws_cfgconn nws_cfgconn;
typedef struct nws_dhcp nws_dhcp;
struct hv_rtnl;

struct nws_service {
	hv_server *srv;
	hv_loop *loop;
	nws_state state;
	struct nws_netlink *netlink;
	struct hv_rtnl *rtnl;	 /* requests to the kernel */
	nws_config *configs;	 /* desired, by interface name */
	size_t nconfigs;
	nws_cfgconn *cfg;	 /* ConfigServer, asynchronous */
	nws_dhcp *dhcp;
};
extern nws_service nws;

/* Per-connection state. */
typedef struct nws_client {
	bool subscribed;
} nws_client;

extern const network_server_handlers nws_handlers;

/* The events (NetworkServer.c): tell subscribers of a model change. */
void nws_announce(const nws_msg *m, nws_change change, void *userdata);

/* --- the desired configuration (config.c) ------------------------------ */
nws_config *nws_config_get(const char *name, bool create);
/* A link appeared (or was renamed): apply the configuration of its name. */
void nws_config_link_added(const char *name);
/* Apply c to the kernel where it differs (links it names that exist). */
void nws_config_apply(const nws_config *c);
/* Persist key of c's group (async); done(persisted, ud) when ConfigServer
 * answered, or at once with false when it is not connected. */
typedef void (*nws_persist_cb)(bool persisted, void *ud);
void nws_config_persist(const nws_config *c, const char *key, nws_persist_cb done, void *ud);
int nws_config_start(const char *socket_path);
void nws_config_stop(void);

/* --- kernel changes (apply.c): negative errno from the kernel --------- */
int nws_kernel_set_up(uint32_t index, bool up);
int nws_kernel_set_mtu(uint32_t index, uint32_t mtu);
int nws_kernel_address(uint32_t index, const nws_prefix *p, bool add);
int nws_kernel_route(uint32_t index, const nws_route_spec *r, bool add);

/* --- DHCP (dhcp.c) ------------------------------------------------------ */
/* Start or stop the DHCP client of an interface: -ENOTSUP when none can be
 * started (DHCPClient is not built yet). */
int nws_dhcp_set(const char *name, bool on);
void nws_dhcp_stop_all(void);
/* DNS servers learned per interface ("IFACE ADDRESS"). */
const hv_strv *nws_dns_servers(void);

/* --- the process (process.c) ------------------------------------------- */
struct nws_options {
	const char *config_socket;
	const char *dhcp_client;
	const char *resolv_conf; /* NULL: not written (the default) */
};
extern struct nws_options nws_opts;
extern const hv_option nws_options[];
int nws_setup(hv_server *srv);
int nws_ready(hv_server *srv);
void nws_teardown(int exit_code);
