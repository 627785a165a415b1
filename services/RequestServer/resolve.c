/* resolve.c — host names through LookupServer, never libcurl's resolver:
 * an asynchronous lookup (A and AAAA) on the service's loop, its addresses
 * handed to libcurl as a CURLOPT_RESOLVE entry for that host and port.
 * The connection to LookupServer is made on first need and again after it
 * went away (LookupServer is respawned by its manager); a lookup that
 * cannot be asked is a Dns error that says LookupServer is unreachable. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <haven/log.h>

#include "LookupClient.h"
#include "RequestServer.h"

struct lookup {
	struct rqs_request *r;
	char *host, *port;
};

static int lookup_conn(hv_conn **out)
{
	if (rqs.lookup && !hv_conn_is_open(rqs.lookup)) {
		hv_conn_close(rqs.lookup);
		rqs.lookup = NULL;
	}
	if (!rqs.lookup) {
		int r = rqs_opts.lookup_socket ? hv_conn_connect(rqs.loop, rqs_opts.lookup_socket, &rqs.lookup)
					       : hv_conn_connect_portal(rqs.loop, LOOKUP_CLIENT_PORTAL, &rqs.lookup);
		if (r < 0)
			return r;
	}
	*out = rqs.lookup;
	return 0;
}

/* "host:port:addr,[v6addr],..." from the answers, or NULL with *why. */
static char *resolve_entry(const struct lookup *l, const lookup_server_lookup_rep *rep, const char **why)
{
	size_t cap = strlen(l->host) + strlen(l->port) + 8, len;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	len = (size_t)snprintf(s, cap, "%s:%s:", l->host, l->port);
	size_t n = 0;
	*why = "no address";
	for (size_t i = 0; i < rep->answers.count; i++) {
		const lookup_server_answer *a = &rep->answers.items[i];
		if (a->status != LOOKUP_SERVER_STATUS_OK) {
			if (a->status != LOOKUP_SERVER_STATUS_NO_DATA)
				*why = lookup_client_status_name(a->status);
			continue;
		}
		for (size_t j = 0; j < a->records.count; j++) {
			const lookup_server_record *rec = &a->records.items[j];
			bool v6 = rec->type == LOOKUP_SERVER_RECORD_TYPE_AAAA;
			if (!v6 && rec->type != LOOKUP_SERVER_RECORD_TYPE_A)
				continue;
			size_t need = len + strlen(rec->value) + 4;
			if (need > cap) {
				char *p = realloc(s, cap = need * 2);
				if (!p)
					return free(s), NULL;
				s = p;
			}
			len += (size_t)snprintf(s + len, cap - len, v6 ? "%s[%s]" : "%s%s", n ? "," : "", rec->value);
			n++;
		}
	}
	if (!n)
		return free(s), NULL;
	return s;
}

static void lookup_free(struct lookup *l)
{
	free(l->host);
	free(l->port);
	free(l);
}

static void on_lookup(hv_conn *c, int status, const lookup_server_lookup_rep *rep, void *ud)
{
	struct lookup *l = ud;
	struct rqs_request *r = l->r;
	r->state = RQS_IDLE;
	if (r->finished) {
		/* Stopped, or its client left, while the lookup was out. */
		rqs_request_free(r);
		return lookup_free(l);
	}
	if (status < 0) {
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_DNS, "%s: LookupServer failed the lookup: %s",
				 l->host, hv_conn_strerror(c, status));
		return lookup_free(l);
	}
	const char *why = "no address";
	char *entry = resolve_entry(l, rep, &why);
	struct curl_slist *list = entry ? curl_slist_append(NULL, entry) : NULL;
	free(entry);
	if (!list)
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_DNS, "%s: %s", l->host, why);
	else
		rqs_request_resolved(r, list);
	lookup_free(l);
}

void rqs_resolve(struct rqs_request *r, const char *host, const char *port)
{
	hv_conn *c;
	int e = lookup_conn(&c);
	if (e < 0)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_DNS,
					"%s: LookupServer is unreachable (%s): %s", host,
					rqs_opts.lookup_socket ? rqs_opts.lookup_socket : "portal " LOOKUP_CLIENT_PORTAL,
					strerror(-e));
	struct lookup *l = calloc(1, sizeof(*l));
	if (!l || !(l->host = strdup(host)) || !(l->port = strdup(port))) {
		if (l)
			lookup_free(l);
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "out of memory");
	}
	l->r = r;
	lookup_server_record_type types[] = {LOOKUP_SERVER_RECORD_TYPE_AAAA, LOOKUP_SERVER_RECORD_TYPE_A};
	hv_vec_lookup_server_record_type tv = {.items = types, .count = 2};
	/* The host as the URL has it; a bracketed IPv6 literal never gets here. */
	r->state = RQS_RESOLVING;
	e = lookup_server_lookup_async(c, host, tv, on_lookup, l);
	if (e < 0) {
		r->state = RQS_IDLE;
		lookup_free(l);
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_DNS, "%s: LookupServer is unreachable: %s", host,
				 strerror(-e));
	}
}

void rqs_resolve_close(void)
{
	if (rqs.lookup)
		hv_conn_close(rqs.lookup);
	rqs.lookup = NULL;
}
