/* LookupServer.h — what main.c needs from the resolver (LookupServer.c). */
#pragma once

#include <stdint.h>

#include <haven/ipc.h>
#include <haven/options.h>
#include <haven/util.h>

#include "LookupServer.ipc.h"

extern const lookup_server_handlers lks_handlers;

/* The configuration main.c's options fill in. */
struct lks_config {
	const char *const *nameservers; /* "IP" or "IP:PORT" ("[v6]:PORT"); NULL-terminated, may be empty */
	const char *resolv_conf;	/* used when there are no nameservers */
	const char *hosts;		/* NULL: none */
	const char *trust_anchor;	/* NULL: the root key, when it exists */
	uint64_t cache_size;		/* entries */
	uint64_t timeout_ms;		/* a lookup's deadline */
};

/* Build the resolver (before the sandbox: reads the files, creates the
 * libunbound context) and attach it to srv. */
int lks_open(hv_server *srv, const struct lks_config *cfg);
void lks_close(int exit_code);
/* The TCP ports of the nameservers (53 for resolv.conf's), for the
 * sandbox's connect rules; returns how many (at most max). */
size_t lks_nameserver_ports(unsigned *ports, size_t max);

/* The process around the handlers (process.c): option values and table,
 * and main.c's service hooks. */
struct lks_options {
	hv_strv nameservers;
	const char *hosts, *hosts_dir, *resolv_conf, *trust_anchor, *root_key;
	int64_t cache_size, timeout_ms;
};
extern struct lks_options lks_opts;
extern const hv_option lks_options[];
int lks_setup(hv_server *srv);
void lks_teardown(int exit_code);
