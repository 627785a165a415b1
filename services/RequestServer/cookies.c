/* cookies.c — the cookie jar kept across restarts (--cookie-file): read
 * into the share handle's jar at start (libcurl's Netscape format, line
 * by line through CURLOPT_COOKIELIST), written back at a clean exit
 * without the session cookies (RFC 6265: they end with the session), by
 * a durable atomic replace. The jar itself is libcurl's RFC 6265 engine. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

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

static int fill_jar(int fd, void *userdata)
{
	struct curl_slist *l = userdata;
	static const char head[] = "# Netscape HTTP Cookie File (RequestServer)\n";
	int r = hv_write_full(fd, head, sizeof(head) - 1);
	for (; r >= 0 && l; l = l->next) {
		r = hv_write_full(fd, l->data, strlen(l->data));
		if (r >= 0)
			r = hv_write_full(fd, "\n", 1);
	}
	return r;
}

void rqs_cookies_save(void)
{
	if (!rqs_opts.cookie_file || !rqs.share)
		return;
	CURL *e = jar_handle();
	if (!e)
		return;
	curl_easy_setopt(e, CURLOPT_COOKIELIST, "SESS"); /* session cookies end here */
	struct curl_slist *list = NULL;
	curl_easy_getinfo(e, CURLINFO_COOKIELIST, &list);
	int r = rqs_replace_kept_file(rqs_opts.cookie_file, fill_jar, list);
	if (r < 0)
		hv_log_errno(r, "writing the cookie jar %s", rqs_opts.cookie_file);
	curl_slist_free_all(list);
	curl_easy_cleanup(e);
}
