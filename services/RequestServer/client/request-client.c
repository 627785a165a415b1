/* request-client.c — see request-client.h. A session keeps its requests in
 * a list; each is matched to its events by the id the service's reply gave
 * (the reply precedes every event of the request on the connection). */
#include "request-client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct rqc_request {
	rqc_session *s;
	rqc_request *next;
	uint64_t id;
	bool answered;
	rqc_callbacks cb;
	void *ud;
};

struct rqc_session {
	hv_conn *conn;
	rqc_request *requests;
};

static rqc_request *find(rqc_session *s, uint64_t id)
{
	for (rqc_request *q = s->requests; q; q = q->next)
		if (q->answered && q->id == id)
			return q;
	return NULL;
}

static void unlink_request(rqc_request *q)
{
	for (rqc_request **p = &q->s->requests; *p; p = &(*p)->next)
		if (*p == q) {
			*p = q->next;
			return;
		}
}

static void end(rqc_request *q, const rqc_outcome *o)
{
	unlink_request(q);
	q->cb.finished(q, o, q->ud);
	free(q);
}

static int on_headers(hv_call *call, const request_client_headers_received_req *req)
{
	rqc_request *q = find(hv_conn_userdata(hv_call_conn(call)), req->request_id);
	if (q && q->cb.headers)
		q->cb.headers(q, req->status, req->reason, req->headers.items, req->headers.count, q->ud);
	return 0;
}

static int on_progress(hv_call *call, const request_client_progress_req *req)
{
	rqc_request *q = find(hv_conn_userdata(hv_call_conn(call)), req->request_id);
	if (q && q->cb.progress)
		q->cb.progress(q, req->downloaded, req->total, q->ud);
	return 0;
}

static int on_finished(hv_call *call, const request_client_finished_req *req)
{
	rqc_request *q = find(hv_conn_userdata(hv_call_conn(call)), req->request_id);
	if (!q)
		return 0;
	rqc_outcome o = {.kind = req->error, .message = req->message, .status = req->status,
			 .bytes = req->bytes, .effective_url = req->effective_url};
	end(q, &o);
	return 0;
}

static const request_client_handlers handlers = REQUEST_CLIENT_HANDLERS(on_headers, on_progress, on_finished);

int rqc_session_new(hv_conn *conn, rqc_session **out)
{
	rqc_session *s = calloc(1, sizeof(*s));
	int r = s ? hv_conn_serve(conn, &request_client_endpoint, &handlers) : -ENOMEM;
	if (r < 0) {
		hv_conn_close(conn);
		free(s);
		return r;
	}
	s->conn = conn;
	hv_conn_set_userdata(conn, s);
	*out = s;
	return 0;
}

int rqc_connect(hv_loop *loop, const char *socket_path, rqc_session **out)
{
	hv_conn *c;
	int r = socket_path ? hv_conn_connect(loop, socket_path, &c) : hv_conn_connect_portal(loop, RQC_PORTAL, &c);
	return r < 0 ? r : rqc_session_new(c, out);
}

hv_conn *rqc_conn(rqc_session *s) { return s->conn; }

void rqc_close(rqc_session *s)
{
	if (!s)
		return;
	hv_conn_close(s->conn);
	while (s->requests) {
		rqc_request *q = s->requests;
		rqc_outcome o = {.call_error = -ECONNRESET, .message = "the session was closed"};
		end(q, &o);
	}
	free(s);
}

static void on_started(hv_conn *c, int status, const request_server_start_request_rep *rep, void *ud)
{
	rqc_request *q = ud;
	if (status < 0) {
		rqc_outcome o = {.call_error = status, .message = hv_conn_strerror(c, status)};
		end(q, &o);
		return;
	}
	q->id = rep->request_id;
	q->answered = true;
}

int rqc_start(rqc_session *s, const rqc_params *p, int body_fd, const rqc_callbacks *cb, void *ud,
	      rqc_request **out)
{
	rqc_request *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	*q = (rqc_request){.s = s, .cb = *cb, .ud = ud, .next = s->requests};
	s->requests = q;
	hv_vec_request_server_header hv = {.items = (request_server_header *)p->headers, .count = p->nheaders};
	hv_bytes body = {.data = p->body, .len = p->body_len};
	hv_opt_string proxy = {.present = p->proxy != NULL, .value = p->proxy};
	hv_opt_bytes ca = {.present = p->ca_pem != NULL, .value = {.data = p->ca_pem, .len = p->ca_len}};
	if (out)
		*out = q;
	int r = request_server_start_request_async(s->conn, p->method ? p->method : "GET", p->url, hv, body,
						   proxy, ca, p->options, body_fd, on_started, q);
	if (r < 0) {
		unlink_request(q);
		free(q);
		if (out)
			*out = NULL;
	}
	return r;
}

static void on_stopped(hv_conn *c, int status, const request_server_stop_request_rep *rep, void *ud)
{
	(void)c, (void)status, (void)rep, (void)ud;
}

int rqc_stop(rqc_request *q)
{
	return request_server_stop_request_async(q->s->conn, q->id, on_stopped, NULL);
}

uint64_t rqc_request_id(const rqc_request *q) { return q->id; }

static const struct {
	const char *name, *id;
	int exit_code;
} kinds[] = {
	[REQUEST_SERVER_ERROR_KIND_NONE] = {"ok", "None", 0},
	[REQUEST_SERVER_ERROR_KIND_DNS] = {"DNS", "Dns", 3},
	[REQUEST_SERVER_ERROR_KIND_CONNECT] = {"connect", "Connect", 4},
	[REQUEST_SERVER_ERROR_KIND_TLS] = {"TLS", "Tls", 5},
	[REQUEST_SERVER_ERROR_KIND_TIMEOUT] = {"timeout", "Timeout", 6},
	[REQUEST_SERVER_ERROR_KIND_TOO_MANY_REDIRECTS] = {"too many redirects", "TooManyRedirects", 7},
	[REQUEST_SERVER_ERROR_KIND_PROTOCOL] = {"protocol", "Protocol", 8},
	[REQUEST_SERVER_ERROR_KIND_CANCELLED] = {"cancelled", "Cancelled", 9},
	[REQUEST_SERVER_ERROR_KIND_NOT_PERMITTED] = {"not permitted", "NotPermitted", 10},
	[REQUEST_SERVER_ERROR_KIND_NOT_FOUND] = {"not found", "NotFound", 11},
	[REQUEST_SERVER_ERROR_KIND_IO] = {"I/O", "Io", 12},
};

const char *rqc_kind_name(request_server_error_kind k)
{
	return k < sizeof(kinds) / sizeof(kinds[0]) ? kinds[k].name : "?";
}

const char *rqc_kind_id(request_server_error_kind k)
{
	return k < sizeof(kinds) / sizeof(kinds[0]) ? kinds[k].id : "?";
}

int rqc_exit_code(request_server_error_kind k)
{
	return k < sizeof(kinds) / sizeof(kinds[0]) ? kinds[k].exit_code : 1;
}
