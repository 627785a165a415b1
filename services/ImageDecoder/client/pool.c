/* pool.c — the client library's output buffers (imagedecoder-client.h,
 * "The output pool"): writable shared buffers this process keeps and
 * hands to its own decoders (decode_image_into), so that a warm decode
 * writes into pages that exist instead of the decoder allocating fresh
 * shared memory. A buffer is only ever used for this process's decodes,
 * and holds nothing but zeros when it is handed out: the part an image
 * used is cleared when the image is released. Bounded (a byte limit, at
 * most IMGDEC_POOL_MAX_FREE kept between decodes), freed when idle or on
 * imgdec_pool_trim. One lock: decodes may run on several threads. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imagedecoder-client.h"
#include "pool.h"

struct imgdec_pool_buf {
	struct imgdec_pool_buf *next;
	hv_buffer b;	   /* memfd sealed against resizing, mapped read-write */
	bool in_use;	   /* handed to a decode, or holding a released-not-yet image */
	uint64_t idle_since; /* CLOCK_MONOTONIC ns, while kept */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static imgdec_pool_buf *bufs;
static size_t total, limit = IMGDEC_POOL_DEFAULT_LIMIT;
static size_t estimate; /* bytes of the last image decoded: the next one's guess */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void drop(imgdec_pool_buf **p)
{
	imgdec_pool_buf *b = *p;
	*p = b->next;
	total -= b->b.size;
	hv_buffer_release(&b->b);
	free(b);
}

/* Kept buffers beyond the limits, or idle too long, go (lock held). */
static void trim_locked(bool all)
{
	uint64_t now = now_ns();
	unsigned kept = 0;
	for (imgdec_pool_buf **p = &bufs; *p;) {
		imgdec_pool_buf *b = *p;
		if (!b->in_use &&
		    (all || total > limit || kept >= IMGDEC_POOL_MAX_FREE ||
		     now - b->idle_since > (uint64_t)IMGDEC_POOL_IDLE_MS * 1000000u)) {
			drop(p);
			continue;
		}
		kept += !b->in_use;
		p = &b->next;
	}
}

imgdec_pool_buf *imgdec_pool_take(void)
{
	pthread_mutex_lock(&lock);
	trim_locked(false);
	size_t want = estimate;
	imgdec_pool_buf *best = NULL;
	if (want >= IMGDEC_POOL_MIN_BYTES && limit) {
		for (imgdec_pool_buf *b = bufs; b; b = b->next)
			if (!b->in_use && b->b.size >= want && (!best || b->b.size < best->b.size))
				best = b;
		if (!best) {
			/* Kept ones too small for what is decoded now go first. */
			for (imgdec_pool_buf **p = &bufs; *p;)
				if (!(*p)->in_use)
					drop(p);
				else
					p = &(*p)->next;
			size_t size = (want + (1u << 20) - 1) & ~(size_t)((1u << 20) - 1);
			best = total + size <= limit ? calloc(1, sizeof(*best)) : NULL;
			if (best && hv_buffer_create(size, &best->b) < 0) {
				free(best);
				best = NULL;
			}
			if (best) {
				best->next = bufs;
				bufs = best;
				total += size;
			}
		}
	}
	if (best)
		best->in_use = true;
	pthread_mutex_unlock(&lock);
	return best;
}

const hv_buffer *imgdec_pool_buffer(const imgdec_pool_buf *b) { return &b->b; }

void imgdec_pool_give_back(imgdec_pool_buf *b, size_t used)
{
	/* Zero what an image used before anyone else's decode may see it:
	 * in use, the buffer is ours alone, so no lock for this. */
	if (used)
		memset(b->b.data, 0, used < b->b.size ? used : b->b.size);
	pthread_mutex_lock(&lock);
	b->in_use = false;
	b->idle_since = now_ns();
	trim_locked(false);
	pthread_mutex_unlock(&lock);
}

imgdec_pool_buf *imgdec_pool_owner(const void *data)
{
	if (!data)
		return NULL;
	pthread_mutex_lock(&lock);
	imgdec_pool_buf *b = bufs;
	while (b && b->b.data != data)
		b = b->next;
	pthread_mutex_unlock(&lock);
	return b;
}

void imgdec_pool_note(size_t bytes)
{
	pthread_mutex_lock(&lock);
	estimate = bytes;
	pthread_mutex_unlock(&lock);
}

void imgdec_pool_set_limit(size_t bytes)
{
	pthread_mutex_lock(&lock);
	limit = bytes;
	trim_locked(false);
	pthread_mutex_unlock(&lock);
}

void imgdec_pool_trim(void)
{
	pthread_mutex_lock(&lock);
	trim_locked(true);
	pthread_mutex_unlock(&lock);
}

size_t imgdec_pool_bytes(void)
{
	pthread_mutex_lock(&lock);
	size_t n = total;
	pthread_mutex_unlock(&lock);
	return n;
}
