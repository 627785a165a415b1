/* arena.c — the compiler's memory and diagnostics.
 *
 * Everything a compilation allocates comes from one arena freed at the end,
 * so the parser and checker never track individual frees (and the fuzz
 * target leaks nothing even on the error paths).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ipcc.h"

struct ipcc_arena_block {
	ipcc_arena_block *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

#define BLOCK_SIZE (64u * 1024u)

void *ipcc_alloc(ipcc_arena *a, size_t size)
{
	size = (size + 15u) & ~(size_t)15u;
	ipcc_arena_block *b = a->head;
	if (!b || b->size - b->used < size) {
		size_t bsize = size > BLOCK_SIZE / 4 ? size : BLOCK_SIZE;
		b = malloc(sizeof(*b) + bsize);
		if (!b) {
			fputs("ipcc: out of memory\n", stderr);
			abort();
		}
		b->size = bsize;
		b->used = 0;
		if (bsize == size && a->head) {
			/* A big one-off: keep the current block as the head. */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	void *p = b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *ipcc_strndup(ipcc_arena *a, const char *s, size_t n)
{
	char *r = ipcc_alloc(a, n + 1);
	memcpy(r, s, n);
	r[n] = 0;
	return r;
}

char *ipcc_strdup(ipcc_arena *a, const char *s)
{
	return ipcc_strndup(a, s, strlen(s));
}

char *ipcc_printf(ipcc_arena *a, const char *fmt, ...)
{
	/* Also keeps gcc's -fsanitize=nonnull instrumentation from "seeing" a
	 * NULL format on one path and failing -Wformat-truncation. */
	if (!fmt)
		fmt = "";
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *r = ipcc_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(r, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return r;
}

void ipcc_arena_free(ipcc_arena *a)
{
	ipcc_arena_block *b = a->head;
	while (b) {
		ipcc_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}

void ipcc_push(ipcc_arena *a, void *arrayp, size_t *count, size_t *cap, const void *elem, size_t size)
{
	void **array = arrayp;
	if (*count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		void *n = ipcc_alloc(a, ncap * size);
		if (*count)
			memcpy(n, *array, *count * size);
		*array = n;
		*cap = ncap;
	}
	memcpy((char *)*array + *count * size, elem, size);
	(*count)++;
}

void ipcc_error(ipcc_unit *u, ipcc_loc loc, const char *fmt, ...)
{
	u->errors++;
	if (!u->err)
		return;
	va_list ap;
	fprintf(u->err, "%s:%u:%u: ", loc.file ? loc.file : "<input>", loc.line, loc.col);
	va_start(ap, fmt);
	vfprintf(u->err, fmt, ap);
	va_end(ap);
	fputc('\n', u->err);
}
