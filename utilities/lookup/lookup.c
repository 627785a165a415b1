/* lookup — ask LookupServer.
 *
 *   lookup [--socket PATH] [--json] NAME [TYPE...]
 *   lookup [--socket PATH] [--json] -x ADDRESS
 *   lookup [--socket PATH] [--json] stats | flush
 *
 * Exit codes: 0 every type answered (records or "no data"), 1 the name does
 * not exist, 2 usage, 3 a lookup failed (server failure, timeout, refused),
 * 4 DNSSEC validation failed (bogus), 5 the service cannot be reached or
 * refused the request. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <haven/options.h>

#include "LookupClient.h"
#include "cli.h"

enum { EXIT_NXDOMAIN = 1, EXIT_USAGE = 2, EXIT_FAILED = 3, EXIT_BOGUS = 4, EXIT_SERVICE = 5 };

static const char *socket_path;
static bool json, reverse;

static const hv_option options[] = {
	HV_OPT_STRING("socket", "PATH", &socket_path, "LookupServer's socket (default: its portal)"),
	HV_OPT_FLAG("json", &json, "print JSON"),
	HV_OPT_FLAG("reverse", &reverse, "(-x) reverse lookup: the argument is an address"),
	{0},
};

static void print_json_answer(const char *name, const lookup_server_answer *a)
{
	printf("{\"name\":");
	cli_json_string(stdout, name);
	printf(",\"type\":\"%s\",\"status\":\"%s\",\"validation\":\"%s\",\"source\":\"%s\",\"ttl\":%u,"
	       "\"canonical_name\":",
	       lookup_client_type_name(a->type), lookup_client_status_id(a->status),
	       lookup_client_validation_name(a->validation), lookup_client_source_name(a->source), a->ttl);
	cli_json_string(stdout, a->canonical_name);
	printf(",\"why\":");
	cli_json_string(stdout, a->why);
	printf(",\"records\":[");
	for (size_t i = 0; i < a->records.count; i++) {
		const lookup_server_record *r = &a->records.items[i];
		printf("%s{\"type\":\"%s\",\"ttl\":%u,\"value\":", i ? "," : "", lookup_client_type_name(r->type), r->ttl);
		cli_json_string(stdout, r->value);
		putchar('}');
	}
	printf("]}");
}

/* name TTL IN TYPE value, as dig prints; a failure on stderr. */
static void print_answer(const char *name, const lookup_server_answer *a)
{
	if (a->status == LOOKUP_SERVER_STATUS_OK) {
		for (size_t i = 0; i < a->records.count; i++)
			printf("%s\t%u\tIN\t%s\t%s\n", a->canonical_name[0] ? a->canonical_name : name,
			       a->records.items[i].ttl, lookup_client_type_name(a->records.items[i].type),
			       a->records.items[i].value);
		return;
	}
	if (a->status == LOOKUP_SERVER_STATUS_NO_DATA) {
		fprintf(stderr, "lookup: %s has no %s records\n", name, lookup_client_type_name(a->type));
		return;
	}
	fprintf(stderr, "lookup: %s %s: %s%s%s\n", name, lookup_client_type_name(a->type),
		lookup_client_status_name(a->status), a->why[0] ? ": " : "", a->why);
}

/* The worst status decides the exit code. */
static int exit_code(const lookup_server_answer *a, size_t n)
{
	int code = 0;
	for (size_t i = 0; i < n; i++) {
		int c = 0;
		switch (a[i].status) {
		case LOOKUP_SERVER_STATUS_OK:
		case LOOKUP_SERVER_STATUS_NO_DATA: c = 0; break;
		case LOOKUP_SERVER_STATUS_NO_SUCH_NAME: c = EXIT_NXDOMAIN; break;
		case LOOKUP_SERVER_STATUS_BOGUS: c = EXIT_BOGUS; break;
		default: c = EXIT_FAILED; break;
		}
		if (c > code)
			code = c;
	}
	return code;
}

static int print_answers(const char *name, const lookup_server_answer *a, size_t n)
{
	if (json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		if (json) {
			printf("%s", i ? "," : "");
			print_json_answer(name, &a[i]);
		} else
			print_answer(name, &a[i]);
	}
	if (json)
		printf("]\n");
	return exit_code(a, n);
}

/* One line (cli.h: the service's words, or that it did not answer within
 * the call timeout); the exit code says which kind of failure. */
static int service_error(hv_conn *c, int r, const char *what)
{
	cli_fail(c, r, what);
	bool invalid = r == LOOKUP_SERVER_ERR_INVALID_NAME || r == LOOKUP_SERVER_ERR_INVALID_ADDRESS;
	return invalid ? EXIT_USAGE : EXIT_SERVICE;
}

static int do_stats(hv_conn *c)
{
	lookup_server_counters s;
	int r = lookup_server_stats(c, &s);
	if (r < 0)
		return service_error(c, r, "stats");
	const char *fmt = json ? "{\"lookups\":%llu,\"hosts_hits\":%llu,\"cache_hits\":%llu,\"cache_misses\":%llu,"
				 "\"network_queries\":%llu,\"failures\":%llu,\"bogus\":%llu,\"cache_entries\":%llu,"
				 "\"cache_capacity\":%llu,\"hosts_entries\":%llu,\"hosts_reloads\":%llu,\"nameservers\":%u}\n"
			       : "lookups          %llu\nhosts hits       %llu\ncache hits       %llu\ncache misses     %llu\n"
				 "network queries  %llu\nfailures         %llu\nbogus            %llu\ncache entries    %llu\n"
				 "cache capacity   %llu\nhosts entries    %llu\nhosts reloads    %llu\nnameservers      %u\n";
	printf(fmt, (unsigned long long)s.lookups, (unsigned long long)s.hosts_hits, (unsigned long long)s.cache_hits,
	       (unsigned long long)s.cache_misses, (unsigned long long)s.network_queries,
	       (unsigned long long)s.failures, (unsigned long long)s.bogus, (unsigned long long)s.cache_entries,
	       (unsigned long long)s.cache_capacity, (unsigned long long)s.hosts_entries,
	       (unsigned long long)s.hosts_reloads, s.nameservers);
	return 0;
}

static int do_lookup(hv_conn *c, char **args, int nargs)
{
	lookup_server_record_type types[16];
	if (nargs - 1 > 16) {
		fprintf(stderr, "lookup: at most 16 types\n");
		return EXIT_USAGE;
	}
	uint16_t t;
	for (int i = 1; i < nargs; i++)
		if (lookup_client_type_parse(args[i], &t) < 0) {
			fprintf(stderr, "lookup: unknown record type %s (A AAAA CNAME MX TXT SRV PTR NS SOA CAA)\n",
				args[i]);
			return EXIT_USAGE;
		} else
			types[i - 1] = t;
	hv_vec_lookup_server_record_type tv = {.items = types, .count = (size_t)nargs - 1};
	hv_vec_lookup_server_answer answers;
	int r = lookup_server_lookup(c, args[0], tv, &answers);
	if (r < 0)
		return service_error(c, r, args[0]);
	return print_answers(args[0], answers.items, answers.count);
}

static const hv_option *const tables[] = {options, NULL};
static const hv_cmdline cmd = {
	.name = "lookup",
	.args = "NAME [TYPE...] | -x ADDRESS | stats | flush",
	.summary = "Look names up through LookupServer. Exit: 0 answered, 1 no such name,\n"
		   "2 usage, 3 lookup failed, 4 DNSSEC bogus, 5 service unreachable or\n"
		   "the call failed.\n" CLI_TIMEOUT_HELP,
	.tables = tables,
	.min_args = 1,
	.max_args = 17,
};

static void usage(FILE *f) { hv_options_usage(&cmd, f); }

int main(int argc, char **argv)
{
	cli_init("lookup", "LookupServer", usage);
	int first = 0;
	/* -x, as dig and host spell it; the option parser knows long names. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-x"))
			argv[i] = (char *)"--reverse";
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	char **args = argv + first;
	int nargs = argc - first;
	bool verb = nargs == 1 && (!strcmp(args[0], "stats") || !strcmp(args[0], "flush"));
	if (reverse && nargs != 1) {
		fprintf(stderr, "lookup: -x takes one address\n");
		return EXIT_USAGE;
	}
	hv_conn *c = NULL;
	if (cli_connect(NULL, LOOKUP_CLIENT_PORTAL, socket_path, &c) < 0)
		return EXIT_SERVICE;
	if (reverse) {
		lookup_server_answer a;
		r = lookup_server_lookup_address(c, args[0], &a);
		r = r < 0 ? service_error(c, r, args[0]) : print_answers(args[0], &a, 1);
	} else if (verb && !strcmp(args[0], "stats"))
		r = do_stats(c);
	else if (verb) {
		r = lookup_server_flush(c);
		r = r < 0 ? service_error(c, r, "flush") : 0;
	} else
		r = do_lookup(c, args, nargs);
	hv_conn_close(c);
	return r;
}
