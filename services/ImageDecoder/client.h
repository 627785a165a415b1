/* client.h — how a program gets an ImageDecoder process and decodes with
 * it: connect to the "image" portal (SystemServer starts a fresh process
 * per connection), or spawn one directly over a socketpair, handing it the
 * connection exactly as SystemServer does (LISTEN_FDS=1 on fd 3). */
#pragma once

#include <sys/types.h>

#include <haven/ipc.h>

#include "ImageDecoderClient.ipc.h"
#include "ImageDecoderServer.ipc.h"

/* The ImageDecoder binary to spawn: $HAVEN_IMAGEDECODER, else the one built
 * beside this library. */
const char *hv_imagedecoder_default_exe(void);

/* Spawn exe (NULL: the default) with extra_args (NULL-terminated, may be
 * NULL) and connect to it. *pid is the child (the caller reaps it). */
int hv_imagedecoder_spawn(hv_loop *loop, const char *exe, const char *const *extra_args,
			  hv_conn **out, pid_t *pid);

/* Copy data into a sealed shared buffer (what decode_image takes). */
int hv_imagedecoder_buffer(const void *data, size_t len, hv_buffer *out);

/* One sync decode: the image's frames bitmap belongs to the caller
 * (hv_bitmap_release); strings in *out live until the next call on c. */
int hv_imagedecoder_decode(hv_conn *c, const void *data, size_t len, const char *mime,
			   image_decoder_server_decoded_image *out);

/* The same, asking for the image scaled down to fit ideal_w x ideal_h
 * (aspect kept, never scaled up; both 0: full size, 0 on one side: that
 * side is free). */
int hv_imagedecoder_decode_sized(hv_conn *c, const void *data, size_t len, uint32_t ideal_w,
				 uint32_t ideal_h, const char *mime,
				 image_decoder_server_decoded_image *out);
