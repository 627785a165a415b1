/* AudioServer — the session's sound server: clients' streams, each a
 * shared-memory ring, converted (libsoxr) and mixed in float with volumes
 * and a limiter by one real-time thread per sink (null, WAV file, ALSA).
 *
 *   AudioServer [--socket PATH] [--sink null|file:OUT.wav|alsa[:DEV]]...
 *               [--rate HZ] [--quantum FRAMES] [--resample-quality Q]
 *
 * Sandbox: the sinks' files and devices are opened before it is entered,
 * so the filesystem view is empty; "thread" for the mixing threads, "unix"
 * to follow ConfigServer's Audio/Mixer/Quantum; no network, no exec. */
#include <haven/service.h>

#include "AudioServer.h"

static const hv_service audio_server = {
	.name = "AudioServer",
	.summary = "Serves AudioServer.ipc: mixes clients' streams into null, WAV-file\n"
		   "and ALSA sinks.",
	.endpoint = &audio_server_endpoint,
	.handlers = &aus_handlers,
	.options = aus_options,
	.conn_size = sizeof(struct aus_conn),
	.conn_fini = aus_conn_fini,
	.setup = aus_setup,
	.ready = aus_ready,
	.teardown = aus_teardown,
	.unveil = (const hv_unveil_rule[]){{0}},
	.pledge = "stdio thread unix recvfd sendfd",
};

int main(int argc, char **argv) { return hv_service_main(&audio_server, argc, argv); }
