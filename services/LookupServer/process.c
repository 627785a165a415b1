/* process.c — LookupServer's process around its handlers: the option
 * values and table, and main.c's service hooks (open the resolver with
 * them, let it reach only its nameservers' TCP ports; close it). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <haven/sandbox.h>
#include <haven/util.h>

#include "LookupServer.h"

struct lks_options lks_opts = {
	.hosts = "/etc/hosts",
	.resolv_conf = "/etc/resolv.conf",
	.root_key = "/usr/share/dns/root.key",
	.cache_size = 10000,
	.timeout_ms = 5000,
};

static int add_nameserver(const char *arg, void *target) { return hv_strv_push(target, arg); }

const hv_option lks_options[] = {
	HV_OPT_CUSTOM("nameserver", "IP[:PORT]", add_nameserver, &lks_opts.nameservers,
		      "a nameserver to ask (repeatable; default: resolv.conf's)"),
	HV_OPT_STRING("hosts", "FILE", &lks_opts.hosts, "the hosts file (default /etc/hosts; \"\": none)"),
	HV_OPT_STRING("resolv-conf", "FILE", &lks_opts.resolv_conf, "nameservers when none is given\n"
		      "(default /etc/resolv.conf)"),
	HV_OPT_STRING("trust-anchor", "FILE", &lks_opts.trust_anchor, "DS or DNSKEY lines to validate from\n"
		      "(default: the root key, /usr/share/dns/root.key)"),
	HV_OPT_INT("cache-size", "N", &lks_opts.cache_size, 1, 10000000, "answers cached (default 10000)"),
	HV_OPT_INT("timeout", "MS", &lks_opts.timeout_ms, 10, 600000, "a lookup's deadline (default 5000)"),
	{0},
};

int lks_setup(hv_server *srv)
{
	static char dir[PATH_MAX];
	struct lks_options *o = &lks_opts;
	if (o->hosts && !*o->hosts)
		o->hosts = NULL; /* --hosts "": no hosts file */
	if (o->hosts) {
		snprintf(dir, sizeof(dir), "%s", o->hosts);
		o->hosts_dir = dirname(dir);
	}
	if (o->nameservers.n)
		o->resolv_conf = NULL;
	if (o->trust_anchor)
		o->root_key = NULL;
	struct lks_config cfg = {
		.nameservers = (const char *const *)o->nameservers.v,
		.resolv_conf = o->resolv_conf,
		.hosts = o->hosts,
		.trust_anchor = o->trust_anchor,
		.cache_size = (uint64_t)o->cache_size,
		.timeout_ms = (uint64_t)o->timeout_ms,
	};
	int r = lks_open(srv, &cfg);
	unsigned ports[16];
	size_t n = lks_nameserver_ports(ports, 16);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = hv_unveil_tcp(ports[i], "c");
	return r;
}

void lks_teardown(int exit_code)
{
	lks_close(exit_code);
	hv_strv_clear(&lks_opts.nameservers);
}
