/* EchoServer.c — the handlers of EchoServer.ipc, one per message.
 *
 * Nothing here copies payloads: replies point into the request (whose views
 * live until the reply is sent), and EchoBuffer / EchoFile hand back the
 * very memfd / file they received (the encoder duplicates the fd).
 */
#include <errno.h>
#include <stdlib.h>

#include <haven/log.h>

#include "EchoClient.ipc.h"
#include "EchoServer.h"

/* Per-connection counters, answered by Stats. */
static struct echo_conn *conn_state(hv_call *call) { return hv_call_state(call); }

static int on_echo(hv_call *call, const echo_server_echo_req *req, echo_server_echo_rep *rep)
{
	rep->text = req->text;
	return 0;
}

static int on_echo_bytes(hv_call *call, const echo_server_echo_bytes_req *req,
			 echo_server_echo_bytes_rep *rep)
{
	rep->data = req->data;
	return 0;
}

static int on_ping(hv_call *call, const echo_server_ping_req *req)
{
	struct echo_conn *st = conn_state(call);
	if (st)
		st->pings++;
	/* Queued, and flushed with whatever else the loop sends this turn. */
	return echo_client_pong(hv_call_conn(call), req->seq);
}

/* Decoded lazily (main.c): the buffer is passed back unmapped, unread. */
static int on_echo_buffer(hv_call *call, const echo_server_echo_buffer_req *req,
			  echo_server_echo_buffer_rep *rep)
{
	rep->buffer = req->buffer;
	return 0;
}

static int on_echo_file(hv_call *call, const echo_server_echo_file_req *req,
			echo_server_echo_file_rep *rep)
{
	rep->file = req->file;
	return 0;
}

static int on_fail(hv_call *call, const echo_server_fail_req *req, echo_server_fail_rep *rep)
{
	if (req->code >= 0)
		return hv_call_fail(call, -EINVAL, "Fail needs a negative code, got %d", req->code);
	return hv_call_fail(call, req->code, "failing with %d as asked", req->code);
}

static int on_discard(hv_call *call, const echo_server_discard_req *req)
{
	struct echo_conn *st = conn_state(call);
	if (st) {
		st->discards++;
		st->discard_bytes += req->data.len;
	}
	return 0;
}

static int on_stats(hv_call *call, const echo_server_stats_req *req, echo_server_stats_rep *rep)
{
	struct echo_conn *st = conn_state(call);
	if (!st)
		return hv_call_fail(call, -ENODATA, "no counters for this connection");
	rep->pings = st->pings;
	rep->discards = st->discards;
	rep->discard_bytes = st->discard_bytes;
	return 0;
}

const echo_server_handlers echo_handlers = {
	.echo = on_echo,
	.echo_bytes = on_echo_bytes,
	.ping = on_ping,
	.echo_buffer = on_echo_buffer,
	.echo_file = on_echo_file,
	.fail = on_fail,
	.discard = on_discard,
	.stats = on_stats,
};
