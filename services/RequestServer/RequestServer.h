/* RequestServer.h — what RequestServer's files share: the service's state,
 * a request's state, and the functions each file gives the others.
 *
 *   main.c          the description (sandbox, options, hooks)
 *   process.c       options, setup (libcurl, the multi and share handles),
 *                   teardown
 *   RequestServer.c the handlers of RequestServer.ipc and per-client state
 *   request.c       a request's life: resolve, configure the easy handle,
 *                   follow redirects, finish with a typed result
 *   sink.c          the response body into the client's fd, with
 *                   backpressure (pause/resume of the transfer)
 *   multi.c         libcurl's multi interface on the service's loop
 *   resolve.c       names through LookupServer, into CURLOPT_RESOLVE
 *   errors.c        libcurl's codes → the contract's ErrorKind
 *   gemini.c        gemini:// over OpenSSL (libcurl has no Gemini)
 *   tofu.c          trust on first use of Gemini servers' keys */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include <haven/ipc.h>
#include <haven/options.h>
#include <haven/util.h>

#include "RequestClient.ipc.h"
#include "RequestServer.ipc.h"

/* Requests one connection may have in flight; more are refused with
 * -EAGAIN (a client cannot make the service hold without bound). */
#define RQS_MAX_REQUESTS_PER_CLIENT 256
/* Body bytes kept for a client that does not read (on top of what its
 * pipe holds) before the transfer is paused: one libcurl write. */
#define RQS_PROGRESS_INTERVAL_NS (100ull * 1000 * 1000)

typedef request_server_error_kind rqs_kind;

HV_DEFINE_CLEANUP(CURLU *, curl_url_cleanup)

/* The options main.c's table fills in. */
struct rqs_options {
	const char *lookup_socket;   /* NULL: the "lookup" portal */
	const char *ca_file;	     /* the CA store */
	const char *ca_dir;	     /* its directory (unveiled) */
	const char *file_root;	     /* file:// may read under it; NULL: nothing */
	const char *cookie_file;     /* persistent cookies; NULL: in memory only */
	const char *cookie_dir;	     /* its directory (unveiled rwc) */
	const char *gemini_known_hosts; /* Gemini keys trusted; NULL: in memory only */
	const char *gemini_dir;	     /* its directory (unveiled rwc) */
	const char *proxy;	     /* default proxy; NULL: from the environment */
	int64_t connect_timeout_ms;
	int64_t idle_timeout_ms;
	int64_t max_host_connections;
	int64_t max_connections;
};
extern struct rqs_options rqs_opts;
extern const hv_option rqs_option_table[];
/* The promises: wpath cpath are added for a cookie jar (process.c). */
extern char rqs_pledge[96];

/* The service's state (one per process). */
struct rqs_service {
	hv_loop *loop;
	CURLM *multi;
	CURLSH *share;
	hv_timer *timer;      /* libcurl's timeout */
	hv_conn *lookup;      /* LookupServer, connected on first need */
	uint64_t next_id;
	unsigned running;
};
extern struct rqs_service rqs;

struct rqs_client;

enum rqs_state {
	RQS_STARTING,  /* answered, begin() deferred: that call frees it if finished */
	RQS_RESOLVING, /* a LookupServer call in flight: its reply frees it if finished */
	RQS_RUNNING,   /* in the multi handle */
	RQS_IDLE,      /* between steps, or the transfer over and body bytes
			* still to hand over (done) */
};

struct rqs_header {
	char *name, *value;
};

struct rqs_request {
	struct rqs_client *client; /* NULL once the client left */
	struct rqs_request *prev, *next;
	uint64_t id;
	enum rqs_state state;
	bool finished; /* outcome sent; freed by the call that is still out */
	bool done;     /* the transfer is over: finish once the body is handed over */
	bool connect_ip; /* the host connected to is an IP literal */
	bool header_overflow;
	size_t header_bytes;

	CURL *easy;
	struct curl_slist *req_headers, *resolve;
	char *method, *url, *proxy; /* proxy NULL: the default */
	const char *use_proxy;	    /* rqs_proxy_for(): "" none */
	char *proxy_rewritten;	    /* socks4a/socks5h form of a socks4/5 proxy */
	uint8_t *body;
	size_t body_len;
	uint8_t *ca_pem;
	size_t ca_len;
	request_server_options opts;
	unsigned redirects;
	char errbuf[CURL_ERROR_SIZE];

	/* The response being received. */
	uint32_t status;
	char *reason;
	struct rqs_header *headers;
	size_t nheaders;
	bool has_location, redirecting, headers_sent;
	uint64_t last_progress_ns;

	/* The body's way out (sink.c). */
	int out_fd;
	bool out_stream; /* a pipe or socket: non-blocking, may pause */
	hv_watch *out_watch;
	uint8_t *pending;
	size_t pending_len, pending_off;
	bool paused;
	int sink_err; /* -EPIPE: the client stopped reading */
	uint64_t written;

	struct rqs_gemini *gemini; /* a gemini:// request's connection (gemini.c) */

	/* The outcome, for finished. */
	rqs_kind kind;
	char *message;
};

struct rqs_client {
	hv_conn *conn;
	struct rqs_request *requests;
	unsigned count;
};

/* RequestServer.c */
extern const request_server_handlers rqs_handlers;
int rqs_client_init(hv_conn *c, void *state);
void rqs_client_fini(hv_conn *c, void *state);

/* request.c */
void rqs_request_begin(struct rqs_request *r);
/* The transfer of r ended with code (multi.c). */
void rqs_request_done(struct rqs_request *r, CURLcode code);
/* End r with kind and a message (printf); sends finished when the client
 * is there, frees r. Works in every state. */
void rqs_request_fail(struct rqs_request *r, rqs_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Last step: body fd closed, finished sent, r freed. */
void rqs_request_finish(struct rqs_request *r);
void rqs_request_free(struct rqs_request *r);

/* sink.c */
int rqs_sink_open(struct rqs_request *r, int fd);
size_t rqs_sink_write(char *data, size_t size, size_t n, void *userdata);
/* Whether everything received was handed over (else r is DRAINING and
 * rqs_request_finish runs once it is). */
bool rqs_sink_drained(struct rqs_request *r);
void rqs_sink_close(struct rqs_request *r);

/* multi.c */
int rqs_multi_open(hv_loop *loop);
void rqs_multi_close(void);
int rqs_multi_add(struct rqs_request *r);
void rqs_multi_remove(struct rqs_request *r);

/* resolve.c: resolve r's host (or its proxy's) through LookupServer, then
 * rqs_request_resolved(r, list) or rqs_request_fail(r, Dns, ...). */
void rqs_resolve(struct rqs_request *r, const char *host, const char *port);
void rqs_request_resolved(struct rqs_request *r, struct curl_slist *resolve);
void rqs_resolve_close(void);

/* proxy.c: the proxy for r's URL (scheme, host): "" for none. */
const char *rqs_proxy_for(const struct rqs_request *r, const char *scheme, const char *host);

/* cookies.c: --cookie-file into the share's jar at start, back (without
 * session cookies) at a clean exit. */
int rqs_cookies_load(void);
void rqs_cookies_save(void);
/* The jar's cookies under domain ("" all), allocated with call. */
int rqs_cookies_list(hv_call *call, const char *domain, hv_vec_request_server_cookie *out);
/* Remove them; the kept jar is rewritten at once. */
int rqs_cookies_clear(const char *domain, uint32_t *removed);

/* gemini.c: r's URL is gemini://: check it and make r's Gemini state;
 * *host and *port (malloc'd) are what to resolve. -EOPNOTSUPP for what
 * Gemini cannot do (a method other than GET, a body, a range), -E2BIG for
 * a URL over 1024 bytes. Then rqs_gemini_connect with the addresses
 * (numeric, comma-separated, IPv6 in brackets or not). */
int rqs_gemini_begin(struct rqs_request *r, CURLU *u, char **host, char **port);
void rqs_gemini_connect(struct rqs_request *r, const char *addresses);
/* The sink drained what it held: read on (sink.c). */
void rqs_gemini_resume(struct rqs_request *r);
void rqs_gemini_free(struct rqs_request *r);
void rqs_gemini_cleanup(void);

/* tofu.c: after r's handshake: 0 when ssl's certificate is acceptable for
 * host:port, else r failed (Tls, with the reason) and a negative errno. */
typedef struct ssl_st SSL;
int rqs_tofu_check(struct rqs_request *r, const char *host, const char *port, SSL *ssl);
void rqs_tofu_free(void);

/* errors.c */
rqs_kind rqs_kind_from_curl(CURLcode code);
const char *rqs_kind_name(rqs_kind kind);

/* process.c */
/* Replace the kept file at path (its directory unveiled rwc) durably,
 * mode 0600, its content written by fill. */
int rqs_replace_kept_file(const char *path, hv_fill_fn fill, void *userdata);
int rqs_setup(hv_server *srv);
void rqs_teardown(int exit_code);
