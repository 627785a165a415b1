/* LookupServer — the system's resolver: the hosts file, a cache, then the
 * nameservers through libunbound (DNSSEC-validating).
 *
 *   LookupServer [--socket PATH] [--nameserver IP[:PORT]]... [--hosts FILE]
 *                [--resolv-conf FILE] [--trust-anchor FILE]
 *
 * Sandbox: reads only the hosts file's directory (an editor replaces the
 * file by rename), resolv.conf and the trust anchor; TCP only to the
 * nameservers' ports (UDP is beyond Landlock); no exec, no new files. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>

#include <haven/sandbox.h>
#include <haven/service.h>
#include <haven/util.h>

#include "LookupServer.h"

static hv_strv nameservers;
static const char *hosts = "/etc/hosts";
static const char *resolv_conf = "/etc/resolv.conf";
static const char *trust_anchor;
static const char *root_key = "/usr/share/dns/root.key";
static const char *hosts_dir;
static int64_t cache_size = 10000;
static int64_t timeout_ms = 5000;

static int add_nameserver(const char *arg, void *target) { return hv_strv_push(target, arg); }

static int setup(hv_server *srv)
{
	static char dir[PATH_MAX];
	if (hosts && !*hosts)
		hosts = NULL; /* --hosts "": no hosts file */
	if (hosts) {
		snprintf(dir, sizeof(dir), "%s", hosts);
		hosts_dir = dirname(dir);
	}
	if (nameservers.n)
		resolv_conf = NULL;
	if (trust_anchor)
		root_key = NULL;
	struct lks_config cfg = {
		.nameservers = (const char *const *)nameservers.v,
		.resolv_conf = resolv_conf,
		.hosts = hosts,
		.trust_anchor = trust_anchor,
		.cache_size = (uint64_t)cache_size,
		.timeout_ms = (uint64_t)timeout_ms,
	};
	int r = lks_open(srv, &cfg);
	unsigned ports[16];
	size_t n = lks_nameserver_ports(ports, 16);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = hv_unveil_tcp(ports[i], "c");
	return r;
}

static void teardown(int exit_code)
{
	lks_close(exit_code);
	hv_strv_clear(&nameservers);
}

static const hv_service lookup_server = {
	.name = "LookupServer",
	.summary = "Serves LookupServer.ipc: name lookups from the hosts file, a cache and\n"
		   "the nameservers, validated with DNSSEC.",
	.endpoint = &lookup_server_endpoint,
	.handlers = &lks_handlers,
	.options = (const hv_option[]){
		HV_OPT_CUSTOM("nameserver", "IP[:PORT]", add_nameserver, &nameservers,
			      "a nameserver to ask (repeatable; default: resolv.conf's)"),
		HV_OPT_STRING("hosts", "FILE", &hosts, "the hosts file (default /etc/hosts; \"\": none)"),
		HV_OPT_STRING("resolv-conf", "FILE", &resolv_conf, "nameservers when none is given\n"
			      "(default /etc/resolv.conf)"),
		HV_OPT_STRING("trust-anchor", "FILE", &trust_anchor, "DS or DNSKEY lines to validate from\n"
			      "(default: the root key, " "/usr/share/dns/root.key)"),
		HV_OPT_INT("cache-size", "N", &cache_size, 1, 10000000, "answers cached (default 10000)"),
		HV_OPT_INT("timeout", "MS", &timeout_ms, 10, 600000, "a lookup's deadline (default 5000)"),
		{0}},
	.setup = setup,
	.teardown = teardown,
	.unveil = (const hv_unveil_rule[]){
		HV_UNVEIL_IF_EXISTS(hosts_dir, "r"),
		HV_UNVEIL_IF_EXISTS(resolv_conf, "r"),
		HV_UNVEIL_IF_EXISTS(trust_anchor, "r"),
		HV_UNVEIL_IF_EXISTS(root_key, "r"),
		{0}},
	/* inet, not dns: libunbound binds its UDP sockets to random ports. */
	.pledge = "stdio rpath inet thread",
};

int main(int argc, char **argv) { return hv_service_main(&lookup_server, argc, argv); }
