/* LookupServer — the system's resolver: the hosts file, a cache, then the
 * nameservers through libunbound (DNSSEC-validating).
 *
 *   LookupServer [--socket PATH] [--nameserver IP[:PORT]]... [--hosts FILE]
 *                [--resolv-conf FILE] [--trust-anchor FILE]
 *
 * Sandbox: reads only the hosts file's directory (an editor replaces the
 * file by rename), resolv.conf and the trust anchor; TCP only to the
 * nameservers' ports (UDP is beyond Landlock); no exec, no new files. */
#include <haven/service.h>

#include "LookupServer.h"

static const hv_service lookup_server = {
	.name = "LookupServer",
	.summary = "Serves LookupServer.ipc: name lookups from the hosts file, a cache and\n"
		   "the nameservers, validated with DNSSEC.",
	.endpoint = &lookup_server_endpoint,
	.handlers = &lks_handlers,
	.options = lks_options,
	.setup = lks_setup,
	.teardown = lks_teardown,
	.unveil = (const hv_unveil_rule[]){
		HV_UNVEIL_IF_EXISTS(lks_opts.hosts_dir, "r"),
		HV_UNVEIL_IF_EXISTS(lks_opts.resolv_conf, "r"),
		HV_UNVEIL_IF_EXISTS(lks_opts.trust_anchor, "r"),
		HV_UNVEIL_IF_EXISTS(lks_opts.root_key, "r"),
		{0}},
	/* inet, not dns: libunbound binds its UDP sockets to random ports. */
	.pledge = "stdio rpath inet thread",
};

int main(int argc, char **argv) { return hv_service_main(&lookup_server, argc, argv); }
