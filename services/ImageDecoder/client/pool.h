/* pool.h — the output pool (pool.c), for client.c (not installed). */
#pragma once

#include <stddef.h>

#include <haven/ipc.h>

typedef struct imgdec_pool_buf imgdec_pool_buf;

/* A zeroed buffer of at least the last image's size, now in use, or NULL
 * (no estimate yet, too small to be worth it, over the limit). */
imgdec_pool_buf *imgdec_pool_take(void);
const hv_buffer *imgdec_pool_buffer(const imgdec_pool_buf *b);
/* Back to the pool, its first `used` bytes zeroed first. */
void imgdec_pool_give_back(imgdec_pool_buf *b, size_t used);
/* The pool buffer mapped at data, or NULL. */
imgdec_pool_buf *imgdec_pool_owner(const void *data);
/* The size of the image just decoded: the next decode's guess. */
void imgdec_pool_note(size_t bytes);
