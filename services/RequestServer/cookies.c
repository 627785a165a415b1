/* cookies.c — the cookie jar kept across restarts (--cookie-file): read
 * into the share handle's jar at start (libcurl's Netscape format, line
 * by line through CURLOPT_COOKIELIST), written back at a clean exit
 * without the session cookies (RFC 6265: they end with the session), by
 * a durable atomic replace. The jar itself is libcurl's RFC 6265 engine. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <haven/log.h>

#include "RequestServer.h"

/* A jar larger than this is not one the service wrote. */
#define RQS_MAX_COOKIE_FILE (8u << 20)

static CURL *jar_handle(void)
{
	CURL *e = curl_easy_init();
	if (e) {
		curl_easy_setopt(e, CURLOPT_SHARE, rqs.share);
		curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
	}
	return e;
}

int rqs_cookies_load(void)
{
	if (!rqs_opts.cookie_file)
		return 0;
	_hv_free_ uint8_t *data = NULL;
	size_t len;
	int r = hv_read_file_at(AT_FDCWD, rqs_opts.cookie_file, O_NOFOLLOW, RQS_MAX_COOKIE_FILE, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return hv_log_errno(r, "reading the cookie jar %s", rqs_opts.cookie_file);
	CURL *e = jar_handle();
	if (!e)
		return -ENOMEM;
	unsigned n = 0;
	for (char *line = (char *)data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* "#HttpOnly_" lines are cookies; other '#' lines are comments. */
		if (*line && (*line != '#' || !strncmp(line, "#HttpOnly_", 10))) {
			curl_easy_setopt(e, CURLOPT_COOKIELIST, line);
			n++;
		}
	}
	curl_easy_cleanup(e);
	hv_log_debug("%u cookies from %s", n, rqs_opts.cookie_file);
	return 0;
}

/* One line of libcurl's Netscape format: "[#HttpOnly_]domain TAB
 * include-subdomains TAB path TAB secure TAB expires TAB name TAB value".
 * The fields point into line (tabs replaced). */
struct cookie_line {
	char *domain, *path, *name, *value;
	bool subdomains, secure, http_only;
	int64_t expires;
};

static bool split_line(char *line, struct cookie_line *c)
{
	char *f[7];
	for (int i = 0; i < 7; i++) {
		f[i] = line;
		line = i < 6 ? strchr(line, '\t') : NULL;
		if (i < 6 && !line)
			return false;
		if (line)
			*line++ = '\0';
	}
	c->http_only = !strncmp(f[0], "#HttpOnly_", 10);
	c->domain = f[0] + (c->http_only ? 10 : 0);
	c->domain += *c->domain == '.';
	c->subdomains = !strcmp(f[1], "TRUE");
	c->path = f[2];
	c->secure = !strcmp(f[3], "TRUE");
	c->expires = strtoll(f[4], NULL, 10);
	c->name = f[5];
	c->value = f[6];
	return true;
}

/* domain is d or under it; "" matches everything. */
static bool domain_matches(const char *d, const char *domain)
{
	size_t n = strlen(d), m = strlen(domain);
	if (!m || !strcasecmp(d, domain))
		return true;
	return n > m && d[n - m - 1] == '.' && !strcasecmp(d + n - m, domain);
}

static struct curl_slist *jar_lines(void)
{
	struct curl_slist *list = NULL;
	CURL *e = jar_handle();
	if (e) {
		curl_easy_getinfo(e, CURLINFO_COOKIELIST, &list);
		curl_easy_cleanup(e);
	}
	return list;
}

int rqs_cookies_list(hv_call *call, const char *domain, hv_vec_request_server_cookie *out)
{
	struct curl_slist *list = jar_lines();
	size_t n = 0;
	for (struct curl_slist *l = list; l; l = l->next)
		n++;
	/* Allocated with the call: freed after the reply is sent. */
	out->items = hv_call_calloc(call, n ? n : 1, sizeof(*out->items));
	out->count = 0;
	int r = out->items ? 0 : -ENOMEM;
	for (struct curl_slist *l = list; r == 0 && l; l = l->next) {
		struct cookie_line c;
		if (!split_line(l->data, &c) || !domain_matches(c.domain, domain))
			continue;
		request_server_cookie *k = &out->items[out->count];
		*k = (request_server_cookie){
			.domain = hv_call_strdup(call, c.domain), .include_subdomains = c.subdomains,
			.path = hv_call_strdup(call, c.path), .name = hv_call_strdup(call, c.name),
			.value = hv_call_strdup(call, c.value), .secure = c.secure, .http_only = c.http_only,
			.expires = c.expires};
		if (!k->domain || !k->path || !k->name || !k->value)
			r = -ENOMEM;
		out->count++;
	}
	curl_slist_free_all(list);
	return r;
}

/* What goes into the kept jar: no session cookies (expires 0). */
static int fill_jar(int fd, void *userdata)
{
	struct curl_slist *l = userdata;
	static const char head[] = "# Netscape HTTP Cookie File (RequestServer)\n";
	int r = hv_write_full(fd, head, sizeof(head) - 1);
	for (; r >= 0 && l; l = l->next) {
		const char *t = l->data;
		for (int tabs = 0; *t && tabs < 4; t++)
			tabs += *t == '\t';
		if (*t == '0' && t[1] == '\t')
			continue; /* a session cookie: RFC 6265 ends it with the session */
		r = hv_write_full(fd, l->data, strlen(l->data));
		if (r >= 0)
			r = hv_write_full(fd, "\n", 1);
	}
	return r;
}

static void write_jar(void)
{
	if (!rqs_opts.cookie_file || !rqs.share)
		return;
	struct curl_slist *list = jar_lines();
	int r = rqs_replace_kept_file(rqs_opts.cookie_file, fill_jar, list);
	if (r < 0)
		hv_log_errno(r, "writing the cookie jar %s", rqs_opts.cookie_file);
	curl_slist_free_all(list);
}

int rqs_cookies_clear(const char *domain, uint32_t *removed)
{
	/* libcurl removes all or nothing: take them all out, put back the
	 * ones that stay. */
	struct curl_slist *list = jar_lines();
	CURL *e = jar_handle();
	if (!e)
		return curl_slist_free_all(list), -ENOMEM;
	curl_easy_setopt(e, CURLOPT_COOKIELIST, "ALL");
	*removed = 0;
	for (struct curl_slist *l = list; l; l = l->next) {
		_hv_free_ char *copy = strdup(l->data);
		struct cookie_line c;
		if (copy && split_line(copy, &c) && domain_matches(c.domain, domain))
			(*removed)++;
		else
			curl_easy_setopt(e, CURLOPT_COOKIELIST, l->data);
	}
	curl_easy_cleanup(e);
	curl_slist_free_all(list);
	if (*removed)
		write_jar();
	return 0;
}

void rqs_cookies_save(void)
{
	write_jar();
}
