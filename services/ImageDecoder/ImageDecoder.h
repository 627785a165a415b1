/* ImageDecoder.h — the service side of ImageDecoderServer.ipc: one
 * decoder per process, decodes run on a worker thread (started before the
 * sandbox is entered) so cancel_decode and a vanished client are noticed
 * while a decode runs. */
#pragma once

#include <haven/ipc.h>

#include "ImageDecoderClient.ipc.h"
#include "ImageDecoderServer.ipc.h"

/* Defaults of the process limits (docs/imagedecoder.md; main.c options). */
#define IMG_MAX_INPUT (256ull << 20)  /* bytes of encoded input */
#define IMG_MAX_MEMORY (2048ull << 20) /* RLIMIT_AS */
#define IMG_CPU_SECONDS 30u           /* RLIMIT_CPU */

typedef struct img_config {
	uint64_t max_pixels, max_total_pixels, max_input, max_memory;
	uint32_t cpu_seconds;
	bool debug_hooks;
} img_config;

extern const image_decoder_server_handlers img_handlers;

/* The client's state (the service description's conn_size, zeroed): the
 * id of its last start_decode. Its fini notes that the client left: jobs
 * finishing later then send nothing. */
struct img_client {
	int64_t last_id;
};
void img_client_fini(hv_conn *c, void *state);

/* The process around the handlers (process.c): option values and parsers
 * for haven/options.h, and the service hooks of main.c. */
extern img_config img_cfg;
int img_parse_mib(const char *arg, void *target);     /* uint64_t bytes */
int img_parse_pixels(const char *arg, void *target);  /* the config */
int img_parse_seconds(const char *arg, void *target); /* uint32_t */
int img_setup(hv_server *srv);
int img_ready(hv_server *srv);
void img_teardown(int code);

/* Start the worker thread; the config is kept by pointer. */
int img_worker_start(hv_loop *loop, const img_config *cfg);
