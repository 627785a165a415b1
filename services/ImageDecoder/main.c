/* ImageDecoder — decodes untrusted images for one client, in a process of
 * its own that can do nothing else (docs/imagedecoder.md).
 *
 *   ImageDecoder [--socket PATH] [--max-pixels N] [--max-memory MIB]
 *                [--cpu-seconds N] [--max-input MIB] [--debug-hooks]
 *
 * SystemServer starts one per connection (AcceptSocketConnections) and
 * hands it the connection; --socket PATH serves a path instead (by hand).
 * Order: limits (rlimits), the connection, no filesystem at all, the
 * decode worker, then the promises (stdio recvfd sendfd) - and only then
 * is a byte of input read. The process exits when its client goes.
 */
#include <haven/service.h>

#include "ImageDecoder.h"

static const hv_service image_decoder = {
	.name = "ImageDecoder",
	.summary = "Decodes images for one client in a sandboxed process (no filesystem).\n"
		   "Limits default to 64 Mi pixels per frame, 2048 MiB of address space,\n"
		   "30 CPU seconds, 256 MiB of input.",
	.endpoint = &image_decoder_server_endpoint,
	.handlers = &hv_imagedecoder_handlers,
	.options = (const hv_option[]){
		HV_OPT_CUSTOM("max-pixels", "N", imagedecoder_parse_pixels, &imagedecoder_cfg, "pixels per frame"),
		HV_OPT_CUSTOM("max-memory", "MIB", imagedecoder_parse_mib, &imagedecoder_cfg.max_memory, "address space"),
		HV_OPT_CUSTOM("cpu-seconds", "N", imagedecoder_parse_seconds, &imagedecoder_cfg.cpu_seconds, "CPU time"),
		HV_OPT_CUSTOM("max-input", "MIB", imagedecoder_parse_mib, &imagedecoder_cfg.max_input, "encoded input"),
		HV_OPT_FLAG("debug-hooks", &imagedecoder_cfg.debug_hooks, "test hooks (tests only)"),
		{0}},
	/* One client per process: a second connection is refused, and the
	 * process ends with its client. */
	.max_connections = 1,
	.exit_when_idle = true,
	.setup = imagedecoder_setup,
	.ready = imagedecoder_ready,
	.teardown = imagedecoder_teardown,
	.unveil = (const hv_unveil_rule[]){{0}},
	.pledge = "stdio recvfd sendfd",
};

int main(int argc, char **argv) { return hv_service_main(&image_decoder, argc, argv); }
