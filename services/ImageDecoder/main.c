/* ImageDecoder — decodes untrusted images for one client, in a process of
 * its own that can do nothing else (docs/imagedecoder.md).
 *
 *   ImageDecoder [--socket PATH] [--max-pixels N] [--max-memory MIB]
 *                [--cpu-seconds N] [--max-input MIB] [--debug-hooks]
 *
 * SystemServer starts one per connection (AcceptSocketConnections). Limits,
 * then no filesystem, the worker, the promises - then input (process.c).
 */
#include <haven/service.h>

#include "ImageDecoder.h"

static const hv_service image_decoder = {
	.name = "ImageDecoder",
	.summary = "Decodes images for one client in a sandboxed process (no filesystem).\n"
		   "Limits default to 64 Mi pixels per frame, 2048 MiB of address space,\n"
		   "30 CPU seconds, 256 MiB of input.",
	.endpoint = &image_decoder_server_endpoint,
	.handlers = &img_handlers,
	.options = (const hv_option[]){
		HV_OPT_CUSTOM("max-pixels", "N", img_parse_pixels, &img_cfg, "pixels per frame"),
		HV_OPT_CUSTOM("max-memory", "MIB", img_parse_mib, &img_cfg.max_memory, "address space"),
		HV_OPT_CUSTOM("cpu-seconds", "N", img_parse_seconds, &img_cfg.cpu_seconds, "CPU time"),
		HV_OPT_CUSTOM("max-input", "MIB", img_parse_mib, &img_cfg.max_input, "encoded input"),
		HV_OPT_FLAG("debug-hooks", &img_cfg.debug_hooks, "test hooks (tests only)"),
		{0}},
	/* One client per process (a second is refused), which ends with it. */
	.max_connections = 1,
	.conn_size = sizeof(struct img_client),
	.conn_fini = img_client_fini,
	.exit_when_idle = true,
	.setup = img_setup,
	.ready = img_ready,
	.teardown = img_teardown,
	.unveil = (const hv_unveil_rule[]){{0}},
	.pledge = "stdio recvfd sendfd",
};

int main(int argc, char **argv) { return hv_service_main(&image_decoder, argc, argv); }
