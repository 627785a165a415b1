/* cache.c — a chained hash table (FNV-1a of name and type) threaded on a
 * doubly linked LRU list (cache.h). */
#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct node {
	struct node *hnext;	 /* hash chain */
	struct node *prev, *next; /* LRU: head is the most recent */
	uint64_t hash;
	uint16_t type;
	char *name;
	struct lks_answer a;
};

struct lks_cache {
	struct node **buckets;
	size_t nbuckets, count, capacity;
	struct node *head, *tail;
};

static uint64_t key_hash(const char *name, uint16_t type)
{
	uint64_t h = 14695981039346656037ull;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return ((h ^ type) * 1099511628211ull);
}

static void answer_clear(struct lks_answer *a)
{
	for (size_t i = 0; i < a->count; i++)
		free(a->rrs[i].data);
	free(a->rrs);
	free(a->canonical_name);
	free(a->why);
}

static int answer_copy(struct lks_answer *dst, const struct lks_answer *src)
{
	*dst = *src;
	dst->rrs = NULL;
	dst->count = 0;
	dst->canonical_name = strdup(src->canonical_name ? src->canonical_name : "");
	dst->why = strdup(src->why ? src->why : "");
	if (src->count)
		dst->rrs = calloc(src->count, sizeof(*dst->rrs));
	if (!dst->canonical_name || !dst->why || (src->count && !dst->rrs)) {
		answer_clear(dst);
		return -ENOMEM;
	}
	for (size_t i = 0; i < src->count; i++, dst->count++) {
		dst->rrs[i] = src->rrs[i];
		dst->rrs[i].data = malloc(src->rrs[i].len ? src->rrs[i].len : 1);
		if (!dst->rrs[i].data) {
			answer_clear(dst);
			return -ENOMEM;
		}
		memcpy(dst->rrs[i].data, src->rrs[i].data, src->rrs[i].len);
	}
	return 0;
}

int lks_cache_new(size_t capacity, lks_cache **out)
{
	lks_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->capacity = capacity ? capacity : 1;
	for (c->nbuckets = 16; c->nbuckets < c->capacity; c->nbuckets *= 2)
		;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

static void lru_unlink(lks_cache *c, struct node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		c->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		c->tail = n->prev;
	n->prev = n->next = NULL;
}

static void lru_push(lks_cache *c, struct node *n)
{
	n->next = c->head;
	if (c->head)
		c->head->prev = n;
	c->head = n;
	if (!c->tail)
		c->tail = n;
}

static struct node **find_slot(lks_cache *c, const char *name, uint16_t type, uint64_t h)
{
	struct node **pp = &c->buckets[h & (c->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->hash == h && (*pp)->type == type && !strcmp((*pp)->name, name))
			return pp;
	return pp;
}

static void drop(lks_cache *c, struct node **pp)
{
	struct node *n = *pp;
	*pp = n->hnext;
	lru_unlink(c, n);
	answer_clear(&n->a);
	free(n->name);
	free(n);
	c->count--;
}

const struct lks_answer *lks_cache_get(lks_cache *c, const char *name, uint16_t type, uint64_t now)
{
	uint64_t h = key_hash(name, type);
	struct node **pp = find_slot(c, name, type, h);
	if (!*pp)
		return NULL;
	if ((*pp)->a.expires_ns <= now) {
		drop(c, pp);
		return NULL;
	}
	lru_unlink(c, *pp);
	lru_push(c, *pp);
	return &(*pp)->a;
}

int lks_cache_put(lks_cache *c, const char *name, uint16_t type, const struct lks_answer *a)
{
	uint64_t h = key_hash(name, type);
	struct node **pp = find_slot(c, name, type, h);
	if (*pp)
		drop(c, pp);
	else if (c->count >= c->capacity) {
		struct node *old = c->tail;
		drop(c, find_slot(c, old->name, old->type, old->hash));
		pp = find_slot(c, name, type, h); /* the chain may have changed */
	}
	struct node *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->name = strdup(name);
	if (!n->name || answer_copy(&n->a, a) < 0) {
		free(n->name);
		free(n);
		return -ENOMEM;
	}
	n->hash = h;
	n->type = type;
	n->hnext = *pp;
	*pp = n;
	lru_push(c, n);
	c->count++;
	return 0;
}

void lks_cache_flush(lks_cache *c)
{
	for (size_t i = 0; i < c->nbuckets; i++)
		while (c->buckets[i])
			drop(c, &c->buckets[i]);
}

void lks_cache_free(lks_cache *c)
{
	if (!c)
		return;
	lks_cache_flush(c);
	free(c->buckets);
	free(c);
}

size_t lks_cache_count(const lks_cache *c) { return c->count; }
size_t lks_cache_capacity(const lks_cache *c) { return c->capacity; }
