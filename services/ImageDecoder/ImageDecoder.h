/* ImageDecoder.h — the service side of ImageDecoderServer.ipc: one
 * decoder per process, decodes run on a worker thread (started before the
 * sandbox is entered) so cancel_decode and a vanished client are noticed
 * while a decode runs. */
#pragma once

#include <haven/ipc.h>

#include "ImageDecoderClient.ipc.h"
#include "ImageDecoderServer.ipc.h"

/* Defaults of the process limits (docs/imagedecoder.md; main.c options). */
#define HV_IMAGEDECODER_MAX_INPUT (256ull << 20)  /* bytes of encoded input */
#define HV_IMAGEDECODER_MAX_MEMORY (2048ull << 20) /* RLIMIT_AS */
#define HV_IMAGEDECODER_CPU_SECONDS 30u           /* RLIMIT_CPU */

typedef struct hv_imagedecoder_config {
	uint64_t max_pixels, max_total_pixels, max_input, max_memory;
	uint32_t cpu_seconds;
	bool debug_hooks;
} hv_imagedecoder_config;

extern const image_decoder_server_handlers hv_imagedecoder_handlers;

/* Notice the client leaving (jobs finishing later then send nothing). */
void hv_imagedecoder_track(hv_server *srv);

/* The process around the handlers (process.c): option values and parsers
 * for haven/options.h, and the service hooks of main.c. */
extern hv_imagedecoder_config imagedecoder_cfg;
int imagedecoder_parse_mib(const char *arg, void *target);     /* uint64_t bytes */
int imagedecoder_parse_pixels(const char *arg, void *target);  /* the config */
int imagedecoder_parse_seconds(const char *arg, void *target); /* uint32_t */
int imagedecoder_setup(hv_server *srv);
int imagedecoder_ready(hv_server *srv);
void imagedecoder_teardown(int code);

/* Start the worker thread; the config is kept by pointer. */
int hv_imagedecoder_init(hv_loop *loop, const hv_imagedecoder_config *cfg);
