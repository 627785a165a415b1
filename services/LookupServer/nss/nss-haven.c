/* nss-haven.c — libnss_haven.so.2: glibc's host lookups (getaddrinfo,
 * gethostbyname*, gethostbyaddr, getent hosts) answered by LookupServer,
 * so that unmodified programs resolve through it ("hosts: haven" in
 * nsswitch.conf; docs/lookupserver.md).
 *
 * The module lives inside arbitrary processes (threads, signal handlers
 * of their own, fork without exec): it keeps no state between calls — each
 * lookup connects, makes its synchronous calls and closes — and exports
 * nothing but the _nss_haven_* entry points (nss-haven.map).
 *
 * LookupServer not reachable: UNAVAIL, so "haven [UNAVAIL=continue] files
 * dns" falls back; no such name: NOTFOUND (HOST_NOT_FOUND); no address of
 * that family: NOTFOUND (NO_DATA); timeout or server failure: TRYAGAIN
 * (TRY_AGAIN); a bogus DNSSEC answer: NOTFOUND with NO_RECOVERY (it must
 * not be retried elsewhere into an address); buffer too small: TRYAGAIN
 * with errno ERANGE (glibc calls again with a bigger one). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <nss.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "LookupClient.h"

#define NSS_HAVEN_TIMEOUT_MS 10000 /* beyond LookupServer's own deadline */

#define EXPORT __attribute__((visibility("default")))

/* What one family's lookup found: the addresses and the canonical name. */
struct found {
	enum nss_status status;
	int herrno;
	char canon[1025];
	struct {
		int family;
		unsigned char a[16];
	} addr[64];
	size_t naddr;
	int32_t ttl;
};

static enum nss_status from_status(uint8_t st, int *herrno)
{
	switch (st) {
	case LOOKUP_SERVER_STATUS_OK: *herrno = 0; return NSS_STATUS_SUCCESS;
	case LOOKUP_SERVER_STATUS_NO_SUCH_NAME: *herrno = HOST_NOT_FOUND; return NSS_STATUS_NOTFOUND;
	case LOOKUP_SERVER_STATUS_NO_DATA: *herrno = NO_DATA; return NSS_STATUS_NOTFOUND;
	case LOOKUP_SERVER_STATUS_BOGUS: *herrno = NO_RECOVERY; return NSS_STATUS_NOTFOUND;
	case LOOKUP_SERVER_STATUS_REFUSED: *herrno = NO_RECOVERY; return NSS_STATUS_UNAVAIL;
	default: *herrno = TRY_AGAIN; return NSS_STATUS_TRYAGAIN;
	}
}

static hv_conn *connect_lookup(void)
{
	hv_conn *c = NULL;
	if (lookup_client_connect(NULL, &c) < 0)
		return NULL;
	hv_conn_set_timeout(c, NSS_HAVEN_TIMEOUT_MS);
	return c;
}

/* Look name up for A and/or AAAA (af AF_INET, AF_INET6 or AF_UNSPEC),
 * addresses in LookupServer's order, IPv6 first for AF_UNSPEC as glibc's
 * dns module gives them. */
static void lookup(const char *name, int af, struct found *f)
{
	memset(f, 0, sizeof(*f));
	hv_conn *c = connect_lookup();
	if (!c) {
		f->status = NSS_STATUS_UNAVAIL;
		f->herrno = NO_RECOVERY;
		return;
	}
	lookup_server_record_type t[2];
	size_t nt = 0;
	if (af != AF_INET)
		t[nt++] = LOOKUP_SERVER_RECORD_TYPE_AAAA;
	if (af != AF_INET6)
		t[nt++] = LOOKUP_SERVER_RECORD_TYPE_A;
	hv_vec_lookup_server_record_type types = {.items = t, .count = nt};
	hv_vec_lookup_server_answer ans;
	int r = lookup_server_lookup(c, name, types, &ans);
	if (r < 0) {
		/* A name LookupServer calls invalid exists nowhere. */
		f->status = r == -ETIMEDOUT ? NSS_STATUS_TRYAGAIN : NSS_STATUS_NOTFOUND;
		f->herrno = r == -ETIMEDOUT ? TRY_AGAIN : HOST_NOT_FOUND;
		hv_conn_close(c);
		return;
	}
	/* The best outcome across the families: an address wins; else the
	 * first answer's reason (a missing AAAA is NO_DATA, not an error). */
	f->status = NSS_STATUS_NOTFOUND;
	f->herrno = HOST_NOT_FOUND;
	f->ttl = INT32_MAX;
	for (size_t i = 0; i < ans.count; i++) {
		const lookup_server_answer *a = &ans.items[i];
		int herrno;
		enum nss_status st = from_status(a->status, &herrno);
		if (i == 0 || (st == NSS_STATUS_NOTFOUND && herrno == NO_DATA && f->naddr == 0 &&
			       f->status == NSS_STATUS_NOTFOUND))
			f->status = st, f->herrno = herrno;
		if (a->status != LOOKUP_SERVER_STATUS_OK)
			continue;
		if (!f->canon[0] && a->canonical_name[0])
			snprintf(f->canon, sizeof f->canon, "%s", a->canonical_name);
		for (size_t j = 0; j < a->records.count && f->naddr < 64; j++) {
			const lookup_server_record *rec = &a->records.items[j];
			size_t want = rec->type == LOOKUP_SERVER_RECORD_TYPE_A ? 4 : 16;
			if ((rec->type != LOOKUP_SERVER_RECORD_TYPE_A && rec->type != LOOKUP_SERVER_RECORD_TYPE_AAAA) ||
			    rec->rdata.len != want)
				continue;
			f->addr[f->naddr].family = want == 4 ? AF_INET : AF_INET6;
			memcpy(f->addr[f->naddr].a, rec->rdata.data, want);
			f->naddr++;
			if ((int32_t)rec->ttl < f->ttl)
				f->ttl = (int32_t)rec->ttl;
		}
	}
	if (f->naddr) {
		f->status = NSS_STATUS_SUCCESS;
		f->herrno = 0;
	}
	if (!f->canon[0])
		snprintf(f->canon, sizeof f->canon, "%s", name);
	/* Presentation names end with a dot; glibc's do not. */
	size_t cl = strlen(f->canon);
	if (cl > 1 && f->canon[cl - 1] == '.')
		f->canon[cl - 1] = 0;
	hv_conn_close(c);
}

/* Carve n bytes aligned for pointers out of the caller's buffer. */
static void *carve(char **buf, size_t *left, size_t n)
{
	uintptr_t p = (uintptr_t)*buf, aligned = (p + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
	size_t pad = aligned - p;
	if (pad + n > *left)
		return NULL;
	*buf += pad + n;
	*left -= pad + n;
	return (void *)aligned;
}

static enum nss_status too_small(int *errnop, int *herrnop)
{
	*errnop = ERANGE;
	*herrnop = NETDB_INTERNAL;
	return NSS_STATUS_TRYAGAIN;
}

static enum nss_status failed(const struct found *f, int *errnop, int *herrnop)
{
	*errnop = f->status == NSS_STATUS_UNAVAIL ? ECONNREFUSED : f->status == NSS_STATUS_TRYAGAIN ? EAGAIN : ENOENT;
	*herrnop = f->herrno;
	return f->status;
}

EXPORT enum nss_status _nss_haven_gethostbyname4_r(const char *name, struct gaih_addrtuple **pat, char *buffer,
						   size_t buflen, int *errnop, int *herrnop, int32_t *ttlp);
EXPORT enum nss_status _nss_haven_gethostbyname4_r(const char *name, struct gaih_addrtuple **pat, char *buffer,
						   size_t buflen, int *errnop, int *herrnop, int32_t *ttlp)
{
	struct found f;
	lookup(name, AF_UNSPEC, &f);
	if (f.status != NSS_STATUS_SUCCESS)
		return failed(&f, errnop, herrnop);
	char *canon = carve(&buffer, &buflen, strlen(f.canon) + 1);
	if (!canon)
		return too_small(errnop, herrnop);
	strcpy(canon, f.canon);
	struct gaih_addrtuple *prev = NULL, *first = NULL;
	for (size_t i = 0; i < f.naddr; i++) {
		struct gaih_addrtuple *t = carve(&buffer, &buflen, sizeof(*t));
		if (!t)
			return too_small(errnop, herrnop);
		memset(t, 0, sizeof(*t));
		t->name = i == 0 ? canon : NULL;
		t->family = f.addr[i].family;
		memcpy(t->addr, f.addr[i].a, t->family == AF_INET ? 4 : 16);
		if (prev)
			prev->next = t;
		else
			first = t;
		prev = t;
	}
	/* *pat may point at a tuple the caller provides: fill it first. */
	if (*pat) {
		**pat = *first;
	} else {
		*pat = first;
	}
	if (ttlp)
		*ttlp = f.ttl;
	*errnop = 0;
	*herrnop = 0;
	return NSS_STATUS_SUCCESS;
}

/* A hostent of family af from f (only that family's addresses). */
static enum nss_status fill_hostent(const struct found *f, int af, struct hostent *h, char *buffer, size_t buflen,
				    int *errnop, int *herrnop)
{
	size_t alen = af == AF_INET ? 4 : 16, n = 0;
	for (size_t i = 0; i < f->naddr; i++)
		n += f->addr[i].family == af;
	if (!n) {
		*errnop = ENOENT;
		*herrnop = NO_DATA;
		return NSS_STATUS_NOTFOUND;
	}
	char *name = carve(&buffer, &buflen, strlen(f->canon) + 1);
	char **aliases = carve(&buffer, &buflen, sizeof(char *));
	char **list = carve(&buffer, &buflen, (n + 1) * sizeof(char *));
	char *data = carve(&buffer, &buflen, n * alen);
	if (!name || !aliases || !list || !data)
		return too_small(errnop, herrnop);
	strcpy(name, f->canon);
	aliases[0] = NULL;
	size_t k = 0;
	for (size_t i = 0; i < f->naddr; i++) {
		if (f->addr[i].family != af)
			continue;
		list[k] = data + k * alen;
		memcpy(list[k], f->addr[i].a, alen);
		k++;
	}
	list[k] = NULL;
	*h = (struct hostent){.h_name = name, .h_aliases = aliases, .h_addrtype = af, .h_length = (int)alen,
			      .h_addr_list = list};
	*errnop = 0;
	*herrnop = 0;
	return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_haven_gethostbyname3_r(const char *name, int af, struct hostent *host, char *buffer,
						   size_t buflen, int *errnop, int *herrnop, int32_t *ttlp,
						   char **canonp);
EXPORT enum nss_status _nss_haven_gethostbyname3_r(const char *name, int af, struct hostent *host, char *buffer,
						   size_t buflen, int *errnop, int *herrnop, int32_t *ttlp,
						   char **canonp)
{
	if (af != AF_INET && af != AF_INET6) {
		*errnop = EAFNOSUPPORT;
		*herrnop = NO_RECOVERY;
		return NSS_STATUS_UNAVAIL;
	}
	struct found f;
	lookup(name, af, &f);
	if (f.status != NSS_STATUS_SUCCESS)
		return failed(&f, errnop, herrnop);
	enum nss_status st = fill_hostent(&f, af, host, buffer, buflen, errnop, herrnop);
	if (st == NSS_STATUS_SUCCESS) {
		if (ttlp)
			*ttlp = f.ttl;
		if (canonp)
			*canonp = host->h_name;
	}
	return st;
}

EXPORT enum nss_status _nss_haven_gethostbyname2_r(const char *name, int af, struct hostent *host, char *buffer,
						   size_t buflen, int *errnop, int *herrnop);
EXPORT enum nss_status _nss_haven_gethostbyname2_r(const char *name, int af, struct hostent *host, char *buffer,
						   size_t buflen, int *errnop, int *herrnop)
{
	return _nss_haven_gethostbyname3_r(name, af, host, buffer, buflen, errnop, herrnop, NULL, NULL);
}

EXPORT enum nss_status _nss_haven_gethostbyname_r(const char *name, struct hostent *host, char *buffer,
						  size_t buflen, int *errnop, int *herrnop);
EXPORT enum nss_status _nss_haven_gethostbyname_r(const char *name, struct hostent *host, char *buffer,
						  size_t buflen, int *errnop, int *herrnop)
{
	return _nss_haven_gethostbyname3_r(name, AF_INET, host, buffer, buflen, errnop, herrnop, NULL, NULL);
}

EXPORT enum nss_status _nss_haven_gethostbyaddr2_r(const void *addr, socklen_t len, int af, struct hostent *host,
						   char *buffer, size_t buflen, int *errnop, int *herrnop,
						   int32_t *ttlp);
EXPORT enum nss_status _nss_haven_gethostbyaddr2_r(const void *addr, socklen_t len, int af, struct hostent *host,
						   char *buffer, size_t buflen, int *errnop, int *herrnop,
						   int32_t *ttlp)
{
	char text[INET6_ADDRSTRLEN];
	if ((af != AF_INET && af != AF_INET6) || len != (af == AF_INET ? 4u : 16u) ||
	    !inet_ntop(af, addr, text, sizeof text)) {
		*errnop = EAFNOSUPPORT;
		*herrnop = NO_RECOVERY;
		return NSS_STATUS_UNAVAIL;
	}
	hv_conn *c = connect_lookup();
	if (!c) {
		*errnop = ECONNREFUSED;
		*herrnop = NO_RECOVERY;
		return NSS_STATUS_UNAVAIL;
	}
	lookup_server_answer a;
	int r = lookup_server_lookup_address(c, text, &a);
	enum nss_status st;
	if (r < 0) {
		st = r == -ETIMEDOUT ? NSS_STATUS_TRYAGAIN : NSS_STATUS_NOTFOUND;
		*herrnop = r == -ETIMEDOUT ? TRY_AGAIN : HOST_NOT_FOUND;
		*errnop = -r;
	} else if ((st = from_status(a.status, herrnop)) != NSS_STATUS_SUCCESS || !a.records.count) {
		*errnop = ENOENT;
		if (st == NSS_STATUS_SUCCESS)
			st = NSS_STATUS_NOTFOUND, *herrnop = NO_DATA;
	} else {
		/* The first name is the host's; the others its aliases. */
		size_t n = a.records.count, need = 0;
		for (size_t i = 0; i < n; i++)
			need += strlen(a.records.items[i].value) + 1;
		char **aliases = carve(&buffer, &buflen, n * sizeof(char *));
		char **list = carve(&buffer, &buflen, 2 * sizeof(char *));
		char *names = carve(&buffer, &buflen, need);
		char *data = carve(&buffer, &buflen, len);
		if (!aliases || !list || !names || !data) {
			hv_conn_close(c);
			return too_small(errnop, herrnop);
		}
		for (size_t i = 0; i < n; i++) {
			size_t l = strlen(a.records.items[i].value);
			memcpy(names, a.records.items[i].value, l + 1);
			if (l > 1 && names[l - 1] == '.')
				names[l - 1] = 0;
			if (i)
				aliases[i - 1] = names;
			else
				host->h_name = names;
			names += l + 1;
		}
		aliases[n - 1] = NULL;
		memcpy(data, addr, len);
		list[0] = data;
		list[1] = NULL;
		host->h_aliases = aliases;
		host->h_addrtype = af;
		host->h_length = (int)len;
		host->h_addr_list = list;
		if (ttlp)
			*ttlp = (int32_t)a.ttl;
		*errnop = 0;
		*herrnop = 0;
	}
	hv_conn_close(c);
	return st;
}

EXPORT enum nss_status _nss_haven_gethostbyaddr_r(const void *addr, socklen_t len, int af, struct hostent *host,
						  char *buffer, size_t buflen, int *errnop, int *herrnop);
EXPORT enum nss_status _nss_haven_gethostbyaddr_r(const void *addr, socklen_t len, int af, struct hostent *host,
						  char *buffer, size_t buflen, int *errnop, int *herrnop)
{
	return _nss_haven_gethostbyaddr2_r(addr, len, af, host, buffer, buflen, errnop, herrnop, NULL);
}
