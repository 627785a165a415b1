/* request-client.h — the client library of RequestServer (as SerenityOS's
 * LibProtocol beside its RequestServer): reach the service, start requests
 * and get each one's events as callbacks on the caller's loop, and the
 * names and exit codes of the error classes. The CLI, the tests and the
 * benchmark use only this and the generated calls. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <haven/ipc.h>
#include <haven/loop.h>

#include "RequestClient.ipc.h"
#include "RequestServer.ipc.h"

/* The portal SystemServer serves the per-user RequestServer on. */
#define RQC_PORTAL "request"

typedef struct rqc_session rqc_session;
typedef struct rqc_request rqc_request;

/* How a request ended. call_error < 0: the service refused to start it or
 * could not be reached (message says why; kind is meaningless). */
typedef struct rqc_outcome {
	int call_error;
	request_server_error_kind kind;
	const char *message;
	uint32_t status;
	uint64_t bytes;
	const char *effective_url;
} rqc_outcome;

typedef struct rqc_callbacks {
	void (*headers)(rqc_request *q, uint32_t status, const char *reason,
			const request_server_header *headers, size_t count, void *ud); /* may be NULL */
	void (*progress)(rqc_request *q, uint64_t downloaded, uint64_t total, void *ud); /* may be NULL */
	/* Exactly once, last; q is freed after it returns. */
	void (*finished)(rqc_request *q, const rqc_outcome *o, void *ud);
} rqc_callbacks;

/* What to fetch; zeros are defaults (method GET, no body, the service's
 * proxy, its CA store). */
typedef struct rqc_params {
	const char *method;
	const char *url;
	const request_server_header *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
	const char *proxy; /* NULL: the service's default; "": none */
	const void *ca_pem;
	size_t ca_len;
	request_server_options options;
} rqc_params;

/* Connect to socket_path, or to the portal when it is NULL; events are
 * dispatched by loop. Negative errno. */
int rqc_connect(hv_loop *loop, const char *socket_path, rqc_session **out);
/* The same on a connection made elsewhere (cli_connect: a call timeout),
 * which the session takes (also on failure). */
int rqc_session_new(hv_conn *conn, rqc_session **out);
void rqc_close(rqc_session *s); /* requests in flight end (the service stops them) */
hv_conn *rqc_conn(rqc_session *s);

/* Start a request whose body goes into body_fd (a pipe's write end, a
 * socket, or a file; it is duplicated, close yours). The callbacks run on
 * the session's loop. Negative errno when it could not even be sent (then
 * no callback runs). */
int rqc_start(rqc_session *s, const rqc_params *p, int body_fd, const rqc_callbacks *cb, void *ud,
	      rqc_request **out);
/* Ask the service to stop it: finished(Cancelled) follows. */
int rqc_stop(rqc_request *q);
/* 0 until the service answered the start. */
uint64_t rqc_request_id(const rqc_request *q);

/* "TLS", "timeout", ...; "Tls", "Timeout" for JSON. */
const char *rqc_kind_name(request_server_error_kind kind);
const char *rqc_kind_id(request_server_error_kind kind);
/* The `request` CLI's exit code for an outcome class (docs/requestserver.md). */
int rqc_exit_code(request_server_error_kind kind);
