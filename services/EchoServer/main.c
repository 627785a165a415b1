/* EchoServer — answers every EchoServer.ipc message with what it was sent.
 *
 *   EchoServer [--socket PATH]
 *
 * Started by SystemServer it serves the socket it is handed (LISTEN_FDS);
 * started by hand, --socket PATH makes it listen there.
 */
#include <haven/service.h>

#include "EchoServer.h"

static const hv_service echo_service = {
	.name = "EchoServer",
	.summary = "Echo service: answers every EchoServer.ipc message with what it was sent.",
	.endpoint = &echo_server_endpoint,
	.handlers = &echo_handlers,
	.conn_size = sizeof(struct echo_conn),
	/* EchoBuffer hands the buffer straight back and never reads it: no
	 * fcntl/fstat/mmap/munmap per call (the client maps and checks it). */
	.lazy_buffers = true,
	/* Serve clients and pass fds back: nothing else. */
	.pledge = "stdio recvfd sendfd",
};

int main(int argc, char **argv) { return hv_service_main(&echo_service, argc, argv); }
