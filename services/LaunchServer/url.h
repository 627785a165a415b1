/* url.h — the URLs LaunchServer accepts: RFC 3986 schemes, no control
 * characters or spaces anywhere, file: URLs local (no host but
 * "localhost") and percent-decoded to a path. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct lch_url {
	char scheme[64]; /* lowercased */
	char *path;	 /* file: URLs: the decoded local path (malloc'd), else NULL */
};

/* -EINVAL with the reason in why (a static string) for a bad URL. */
int lch_url_parse(const char *url, struct lch_url *out, const char **why);
void lch_url_clear(struct lch_url *u);
/* file:// URL of an absolute path (everything but unreserved characters
 * and '/' percent-encoded), malloc'd. */
char *lch_url_from_path(const char *path);
/* url without its #fragment, malloc'd (SerenityOS compares allowlisted
 * URLs so). */
char *lch_url_strip_fragment(const char *url);
