/* cache.h — answers by (name, type), with their expiry, bounded in entries
 * and evicting the least recently used. Negative answers (no such name, no
 * data) are cached too, for the TTL their SOA gave (RFC 2308). Times are
 * CLOCK_MONOTONIC nanoseconds (hv_now_ns). */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct lks_rr {
	uint16_t type;
	uint16_t len;
	uint8_t *data;
};

/* What is cached of one answer: everything but the remaining TTL. */
struct lks_answer {
	uint8_t status, validation; /* lookup_server_status / _validation values */
	char *canonical_name;
	char *why;
	uint64_t expires_ns;
	size_t count;
	struct lks_rr *rrs;
};

typedef struct lks_cache lks_cache;

int lks_cache_new(size_t capacity, lks_cache **out);
void lks_cache_free(lks_cache *c);
/* The live answer for (name, type), marked most recently used; NULL when
 * absent or expired (an expired one is dropped). Valid until the next
 * put/flush. */
const struct lks_answer *lks_cache_get(lks_cache *c, const char *name, uint16_t type, uint64_t now);
/* Store a copy of a (replacing any for the same key), evicting the least
 * recently used entry when full. */
int lks_cache_put(lks_cache *c, const char *name, uint16_t type, const struct lks_answer *a);
void lks_cache_flush(lks_cache *c);
size_t lks_cache_count(const lks_cache *c);
size_t lks_cache_capacity(const lks_cache *c);
