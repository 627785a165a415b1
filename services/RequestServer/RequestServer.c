/* RequestServer.c — the handlers of RequestServer.ipc, one per message, and
 * each client's state: the requests it has in flight, all stopped when it
 * leaves (the server sees its connections close). */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <haven/log.h>

#include "RequestServer.h"

int rqs_client_init(hv_conn *c, void *state)
{
	struct rqs_client *cl = state;
	cl->conn = c;
	return 0;
}

void rqs_client_fini(hv_conn *c, void *state)
{
	(void)c;
	struct rqs_client *cl = state;
	while (cl->requests) {
		struct rqs_request *r = cl->requests;
		/* Unlinked first: there is nobody to send finished to. */
		cl->requests = r->next;
		if (r->next)
			r->next->prev = NULL;
		r->next = r->prev = NULL;
		r->client = NULL;
		cl->count--;
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_CANCELLED, "the client left");
	}
}

static void on_begin(hv_loop *loop, void *userdata)
{
	(void)loop;
	struct rqs_request *r = userdata;
	r->state = RQS_IDLE;
	if (r->finished)
		return rqs_request_free(r); /* stopped before it began */
	rqs_request_begin(r);
}

/* RFC 9110 token: what a method may be made of. */
static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

static int check_url(hv_call *call, const char *url)
{
	_hv_cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
	_hv_free_ char *scheme = NULL;
	if (!u)
		return -ENOMEM;
	CURLUcode e = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (e != CURLUE_OK)
		return request_server_error(call, REQUEST_SERVER_ERR_INVALID_URL, "%s", curl_url_strerror(e));
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		return request_server_error(call, REQUEST_SERVER_ERR_INVALID_URL, "no scheme");
	if (strcmp(scheme, "http") && strcmp(scheme, "https") && strcmp(scheme, "file") && strcmp(scheme, "gemini"))
		return request_server_error(call, REQUEST_SERVER_ERR_INVALID_URL,
					    "scheme %s: only http, https, gemini and file", scheme);
	return 0;
}

static int copy_request(struct rqs_request *r, const request_server_start_request_req *req)
{
	r->method = strdup(req->method);
	r->url = strdup(req->url);
	if (!r->method || !r->url)
		return -ENOMEM;
	if (req->proxy.present && !(r->proxy = strdup(req->proxy.value)))
		return -ENOMEM;
	if (req->body.len || !strcmp(req->method, "POST")) {
		r->body = malloc(req->body.len ? req->body.len : 1);
		if (!r->body)
			return -ENOMEM;
		memcpy(r->body, req->body.data, req->body.len);
		r->body_len = req->body.len;
	}
	if (req->ca_pem.present) {
		r->ca_pem = malloc(req->ca_pem.value.len + 1);
		if (!r->ca_pem)
			return -ENOMEM;
		memcpy(r->ca_pem, req->ca_pem.value.data, req->ca_pem.value.len);
		r->ca_len = req->ca_pem.value.len;
	}
	for (size_t i = 0; i < req->headers.count; i++) {
		const request_server_header *h = &req->headers.items[i];
		_hv_free_ char *line = NULL;
		/* "Name:" removes a header libcurl adds; "Name;" sends it empty. */
		if (asprintf(&line, *h->value ? "%s: %s" : "%s;", h->name, h->value) < 0)
			return -ENOMEM;
		struct curl_slist *l = curl_slist_append(r->req_headers, line);
		if (!l)
			return -ENOMEM;
		r->req_headers = l;
	}
	r->opts = req->options;
	return 0;
}

static int check_headers(hv_call *call, const hv_vec_request_server_header *hs)
{
	for (size_t i = 0; i < hs->count; i++) {
		const request_server_header *h = &hs->items[i];
		if (!is_token(h->name) || strpbrk(h->value, "\r\n"))
			return hv_call_fail(call, -EINVAL, "header %zu: not a header name or a value with a line break", i);
	}
	return 0;
}

static int on_start_request(hv_call *call, const request_server_start_request_req *req,
			    request_server_start_request_rep *rep)
{
	struct rqs_client *cl = hv_call_state(call);
	if (!is_token(req->method))
		return hv_call_fail(call, -EINVAL, "%s: not a method", req->method);
	int e = check_url(call, req->url);
	if (e < 0)
		return e;
	if ((e = check_headers(call, &req->headers)) < 0)
		return e;
	if (cl->count >= RQS_MAX_REQUESTS_PER_CLIENT)
		return hv_call_fail(call, -EAGAIN, "%d requests in flight already", RQS_MAX_REQUESTS_PER_CLIENT);
	struct rqs_request *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->out_fd = -1;
	r->state = RQS_STARTING;
	if ((e = copy_request(r, req)) < 0 || (e = rqs_sink_open(r, req->body_out)) < 0) {
		r->out_fd = -1; /* still the message's */
		rqs_request_free(r);
		return hv_call_fail(call, e, "starting the request: %s", strerror(-e));
	}
	hv_call_take_fd(call, req->body_out);
	/* Events must follow the reply: the work starts on the next turn. */
	if ((e = hv_loop_defer(rqs.loop, on_begin, r)) < 0) {
		rqs_request_free(r);
		return e;
	}
	r->id = ++rqs.next_id;
	r->client = cl;
	r->next = cl->requests;
	if (cl->requests)
		cl->requests->prev = r;
	cl->requests = r;
	cl->count++;
	rep->request_id = r->id;
	return 0;
}

static int on_stop_request(hv_call *call, const request_server_stop_request_req *req,
			   request_server_stop_request_rep *rep)
{
	struct rqs_client *cl = hv_call_state(call);
	rep->stopped = false;
	for (struct rqs_request *r = cl->requests; r; r = r->next)
		if (r->id == req->request_id) {
			rep->stopped = true;
			rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_CANCELLED, "stopped by the client");
			break;
		}
	return 0;
}

static int on_list_cookies(hv_call *call, const request_server_list_cookies_req *req,
			   request_server_list_cookies_rep *rep)
{
	int e = rqs_cookies_list(call, req->domain, &rep->cookies);
	return e < 0 ? hv_call_fail(call, e, "listing the cookies: %s", strerror(-e)) : 0;
}

static int on_clear_cookies(hv_call *call, const request_server_clear_cookies_req *req,
			    request_server_clear_cookies_rep *rep)
{
	int e = rqs_cookies_clear(req->domain, &rep->removed);
	return e < 0 ? hv_call_fail(call, e, "clearing the cookies: %s", strerror(-e)) : 0;
}

const request_server_handlers rqs_handlers =
	REQUEST_SERVER_HANDLERS(on_start_request, on_stop_request, on_list_cookies, on_clear_cookies);
