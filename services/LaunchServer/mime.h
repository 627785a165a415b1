/* mime.h — a file's MIME type, as the shared-mime-info specification
 * recommends: globs2 (weights, case-sensitive globs, __NOGLOBS__) from
 * every XDG mime directory for the name, libmagic for the content,
 * aliases and subclasses to reconcile the two. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct lch_mime;

/* libmagic with its default database (file NULL) or file: opened once,
 * before the sandbox, and shared by every reload. */
int lch_magic_open(const char *file, void **out);
void lch_magic_close(void *magic);

/* Load globs2, aliases and subclasses of dirs[0..n) ("…/mime", the most
 * important first; missing files are skipped); magic (lch_magic_open) is
 * borrowed. A malformed globs2 line is logged with file:line and skipped. */
int lch_mime_load(const char *const *dirs, size_t n, void *magic, struct lch_mime **out);
void lch_mime_free(struct lch_mime *m);

/* The type whose alias `type` is, or type itself. */
const char *lch_mime_unalias(const struct lch_mime *m, const char *type);
/* type is parent or one of its descendants (subclasses file, text/ types under
 * text/plain, everything but inode/ types under application/octet-stream). */
bool lch_mime_is_a(const struct lch_mime *m, const char *type, const char *parent);
/* The direct parents of type (subclasses, and text/plain for text/ types), at
 * most max into out; how many. */
size_t lch_mime_parents(const struct lch_mime *m, const char *type, const char **out, size_t max);

/* By name only: the spec's glob match (highest weight, then longest
 * pattern). Fills types[0..max) with the distinct types that tie; returns
 * how many. */
size_t lch_mime_by_name(const struct lch_mime *m, const char *name, const char **types, size_t max);
/* By content: libmagic on data[0..len), canonicalized into buf. */
int lch_mime_by_content(const struct lch_mime *m, const void *data, size_t len, char *buf,
			size_t size);

/* The spec's recommended order: a unique glob match wins; otherwise the
 * content decides (a conflicting glob that the content's type is-a wins);
 * nothing at all is application/octet-stream. data NULL: no content.
 * by: "name", "content", "name+content" or "fallback". */
int lch_mime_classify(const struct lch_mime *m, const char *name, const void *data, size_t len,
		      char *buf, size_t size, const char **by);

/* A well-formed MIME type name ("type/subtype", RFC 6838 characters). */
bool lch_mime_valid(const char *type);
