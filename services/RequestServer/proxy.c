/* proxy.c — which proxy a request goes through: its own (start_request's
 * `proxy`; "" for none), else --proxy, else the environment the service
 * was started with, by curl's rules: http_proxy (lower case only: an
 * HTTP_PROXY variable can come from a CGI request's "Proxy:" header),
 * https_proxy or HTTPS_PROXY, then all_proxy or ALL_PROXY; no_proxy or
 * NO_PROXY lists hosts reached directly ("*": all; "example.test" also
 * matches its subdomains). Decided here, not by libcurl, because the host
 * the service connects to must be looked up through LookupServer first. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "RequestServer.h"

static const char *env2(const char *lower, const char *upper)
{
	const char *v = getenv(lower);
	if ((!v || !*v) && upper)
		v = getenv(upper);
	return v && *v ? v : NULL;
}

static bool no_proxy_matches(const char *list, const char *host)
{
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']')
		host++, hl -= 2;
	for (const char *p = list; *p;) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		const char *e = p;
		size_t en = n;
		if (en && *e == '.')
			e++, en--;
		if (en == 1 && *e == '*')
			return true;
		if (en && hl >= en && !strncasecmp(host + hl - en, e, en) && (hl == en || host[hl - en - 1] == '.'))
			return true;
		p += n;
	}
	return false;
}

const char *rqs_proxy_for(const struct rqs_request *r, const char *scheme, const char *host)
{
	if (r->proxy)
		return r->proxy;
	if (rqs_opts.proxy)
		return rqs_opts.proxy;
	const char *p = !strcmp(scheme, "https") ? env2("https_proxy", "HTTPS_PROXY") : env2("http_proxy", NULL);
	if (!p)
		p = env2("all_proxy", "ALL_PROXY");
	const char *no = env2("no_proxy", "NO_PROXY");
	if (!p || (no && no_proxy_matches(no, host)))
		return "";
	return p;
}
