/* haven/ipc.h — the Haven IPC runtime.
 *
 * Typed messages between processes over connected AF_UNIX stream sockets,
 * with fd passing and shared memory. Service authors rarely call this file
 * directly: `ipcc` generates typed client functions, handler tables and
 * dispatch on top of it. The wire format is specified in
 * docs/ipc-wire-format.md; this header is its C face.
 *
 * Ownership, in one paragraph:
 *  - Sending never takes anything from you: strings, bytes, fds and buffers
 *    you encode stay yours (fds are duplicated for the queue).
 *  - What a handler receives (request, one-way message or event) is
 *    borrowed: strings/arrays are views into the message, and its fds and
 *    buffers are closed/unmapped after the handler returns unless the
 *    handler takes them (hv_call_take_fd / hv_call_take_buffer).
 *  - What a call returns is the caller's: fds and buffers in results must be
 *    closed / released by the caller; strings and arrays in the results of
 *    a sync call stay valid until the next call on the same connection (or
 *    its close); in an async completion, for the callback's duration.
 *  - Replies a handler builds are allocated from the call's arena
 *    (hv_call_alloc & co.), released by the runtime after sending.
 *
 * Errors: every function that can fail returns a negative errno. A call
 * that the remote handler failed returns the handler's negative error code
 * and hv_conn_last_error() tells the code, the message and that it was
 * remote. Transport failures: -EPIPE / -ECONNRESET (peer gone), -ETIMEDOUT,
 * -EBADMSG (malformed reply), -EMSGSIZE (over a limit).
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <haven/loop.h>
#include <haven/util.h>

/* --- limits (documented in docs/ipc-wire-format.md; tested) ------------ */
#define HV_IPC_HEADER_SIZE 16u
/* Largest payload of one message. Bigger data goes in a Buffer. */
#define HV_IPC_MAX_MESSAGE_SIZE (128u << 20)
/* Most fds one message may carry. */
#define HV_IPC_MAX_FDS_PER_MESSAGE 64u
/* Received but not yet dispatched (e.g. while a sync call waits), per
 * connection; more ends the connection. */
#define HV_IPC_MAX_QUEUED_BYTES (256u << 20)
#define HV_IPC_MAX_QUEUED_FDS 1024u
/* Outgoing bytes queued for a peer that does not read; more ends the
 * connection (a stuck client cannot make a server grow without bound). */
#define HV_IPC_MAX_OUTGOING_BYTES (256u << 20)
/* The built-in introspection request (docs/ipc-wire-format.md): a message
 * id no endpoint uses, answered by the runtime for every served endpoint
 * that carries a description; magic 0 asks for all of them. */
#define HV_IPC_INTROSPECT_ID 0xffffu
/* Default connection limit of a server (hv_server_set_max_connections). */
#define HV_IPC_MAX_CONNECTIONS 1024u
/* Async calls in flight on one connection. */
#define HV_IPC_MAX_PENDING_CALLS 65536u
/* What a server holds for its clients, charged to each client's uid
 * (hv_server_set_quotas, hv_server_set_total_quotas): bytes buffered for
 * its connections in both directions beyond 64 KiB each way per connection
 * (partial and undispatched frames, replies and events it does not read),
 * fds received and not yet released, connections. A connection whose
 * charge takes its uid (or the server) over a quota is ended with a logged
 * reason; one over the connection quota is refused. Root and the server's
 * own uid have no per-uid quota unless given one. */
#define HV_IPC_UID_MAX_BYTES (256u << 20) /* one largest message fits */
#define HV_IPC_UID_MAX_FDS 2048u
#define HV_IPC_UID_MAX_CONNECTIONS 256u
#define HV_IPC_SERVER_MAX_BYTES (1024u << 20)
#define HV_IPC_SERVER_MAX_FDS 8192u
/* A frame whose first byte arrived must be complete within this, or its
 * connection is ended (hv_server_set_frame_deadline; 0 = none). */
#define HV_IPC_FRAME_DEADLINE_MS 10000

enum hv_msg_kind {
	HV_MSG_REQUEST = 1,  /* expects a RESPONSE or ERROR with its request id */
	HV_MSG_RESPONSE = 2, /* success reply; payload = results */
	HV_MSG_ERROR = 3,    /* failure reply; payload = i32 code, String message */
	HV_MSG_ONEWAY = 4,   /* client -> server, no reply */
	HV_MSG_EVENT = 5,    /* server -> client, no reply */
};

/* FNV-1a 32-bit of the endpoint name: the endpoint's magic on the wire. */
uint32_t hv_ipc_magic(const char *endpoint_name);

/* --- value types --------------------------------------------------------- */
typedef struct hv_bytes {
	const uint8_t *data;
	size_t len;
} hv_bytes;

/* Shared memory: a memfd mapped into this process. Created buffers are
 * sealed against shrinking/growing (so a peer can never SIGBUS us);
 * hv_buffer_seal() additionally forbids writes, for read-only sharing. */
typedef struct hv_buffer {
	int fd;		/* -1 when empty */
	void *data;	/* mapping (NULL when size == 0) */
	size_t size;
	bool readonly;
} hv_buffer;

#define HV_BUFFER_EMPTY ((hv_buffer){.fd = -1})
/* Mappings are shared within a process: a received buffer whose memfd this
 * process already maps (same file, size and protection — e.g. a reply
 * carrying the caller's own buffer) gets that mapping, reference-counted,
 * instead of a new mmap. So: release every handle with hv_buffer_release()
 * (each once), never munmap() b->data yourself; releases may come in any
 * order. Nothing stays mapped after its last handle is released. */
int hv_buffer_create(size_t size, hv_buffer *out);  /* rw mapping, zeroed */
/* -> read-only everywhere; -EBUSY while a writable mapping of it exists
 * (the buffer stays as it was): another handle sharing it in this process,
 * or a peer that has not yet released a buffer you sent it (a server
 * releases a request's buffers just after its reply is sent: retry shortly). */
int hv_buffer_seal(hv_buffer *b);
void hv_buffer_release(hv_buffer *b);               /* munmap + close; idempotent */
/* As a cleanup: `_hv_cleanup_(hv_buffer_release) hv_buffer b = HV_BUFFER_EMPTY;`
 * (hv_bitmap_release and hv_enc_release serve the same way). */
/* Lazy buffers (opt-in per connection: hv_conn_set_lazy_buffers, or
 * hv_server_set_lazy_buffers for all of a server's). Received Buffers and
 * Bitmaps then decode to what the wire says — fd, size, readonly — with
 * data == NULL and nothing checked or mapped: a handler that only passes a
 * buffer along (or keeps it for later) costs no fcntl/fstat/mmap/munmap.
 * Whoever maps it verifies it then, exactly as an eager decode would (a
 * sealed memfd of that size; F_SEAL_WRITE if readonly):
 *  - hv_buffer_map(b) on an owned handle (taken with hv_call_take_buffer,
 *    or a call's result): maps b->data (or shares a live mapping, see
 *    above); hv_buffer_release() unmaps it as usual;
 *  - hv_call_map_buffer(call, &view) on a request's buffer (a copy of the
 *    decoded struct): the mapping belongs to the message, unmapped with it.
 * A buffer that fails verification is -EBADMSG (one log line says why);
 * a handler returning that error ends the connection as a malformed
 * message would. Either call on a mapped buffer is a no-op returning 0;
 * on an empty one (fd -1) it is -EBADF. A lazy buffer passed on unmapped
 * is verified by its next receiver. Default: eager (decoded = mapped). */
int hv_buffer_map(hv_buffer *b);

enum hv_pixel_format {
	HV_PIXEL_BGRA8888 = 1, /* SerenityOS's: B,G,R,A bytes in memory; straight alpha */
	HV_PIXEL_RGBA8888 = 2, /* R,G,B,A bytes in memory; straight alpha */
	HV_PIXEL_BGRX8888 = 3, /* as BGRA, alpha ignored */
};
typedef struct hv_bitmap {
	uint32_t width, height, stride; /* stride in bytes, >= width * 4 */
	uint32_t format;                /* enum hv_pixel_format */
	hv_buffer buffer;               /* stride * height bytes at least */
} hv_bitmap;
int hv_bitmap_create(uint32_t width, uint32_t height, uint32_t format, hv_bitmap *out);
void hv_bitmap_release(hv_bitmap *b);

/* --- endpoints (generated by ipcc) -------------------------------------- */
typedef struct hv_conn hv_conn;
typedef struct hv_call hv_call;
typedef struct hv_msg hv_msg;
typedef struct hv_server hv_server;

typedef struct hv_endpoint {
	const char *name;            /* "EchoServer" */
	uint32_t magic;              /* hv_ipc_magic(name) */
	uint16_t message_count;      /* ids are 1..message_count */
	const char *const *message_names; /* [id - 1], for traces and logs */
	/* Decode msg (a REQUEST, ONEWAY or EVENT for this endpoint), run the
	 * handler from `handlers` (the endpoint's generated table) and, for a
	 * request, send the reply. Returns 0, or -EBADMSG when the message is
	 * malformed / unknown, which ends the connection. */
	int (*dispatch)(hv_call *call, hv_msg *msg, const void *handlers);
	/* The contract as JSON (ipcc --describe; format in describe.c and
	 * docs/ipc-wire-format.md), answered to HV_IPC_INTROSPECT requests.
	 * NULL: the endpoint does not describe itself. */
	const char *description;
} hv_endpoint;

/* --- encoder: builds one outgoing message -------------------------------- */
/* Errors are sticky: after one, every further hv_enc_* is a no-op and the
 * send reports it. */
typedef struct hv_enc {
	const hv_endpoint *endpoint;
	uint16_t message_id;
	uint8_t kind;
	uint8_t nfds;
	int err;
	uint8_t *buf; /* header space + payload */
	size_t len, cap;
	int fds[HV_IPC_MAX_FDS_PER_MESSAGE]; /* borrowed from the caller */
	/* For a reply: the request it answers (hv_call_reply_init). A String
	 * that is one the request's decoder already checked is not checked
	 * again (a handler echoing a name back pays for one check, not two). */
	const hv_msg *src;
	uint8_t inline_buf[512];
} hv_enc;

void hv_enc_init(hv_enc *e, const hv_endpoint *ep, uint16_t message_id, enum hv_msg_kind kind);
void hv_enc_release(hv_enc *e); /* frees heap storage; idempotent */
void hv_enc_bool(hv_enc *e, bool v);
void hv_enc_u8(hv_enc *e, uint8_t v);
void hv_enc_u16(hv_enc *e, uint16_t v);
void hv_enc_u32(hv_enc *e, uint32_t v);
void hv_enc_u64(hv_enc *e, uint64_t v);
void hv_enc_i8(hv_enc *e, int8_t v);
void hv_enc_i16(hv_enc *e, int16_t v);
void hv_enc_i32(hv_enc *e, int32_t v);
void hv_enc_i64(hv_enc *e, int64_t v);
void hv_enc_f32(hv_enc *e, float v);
void hv_enc_f64(hv_enc *e, double v);
/* String: UTF-8 checked (-EILSEQ), no interior NUL. NULL is -EINVAL. */
void hv_enc_string(hv_enc *e, const char *s);
/* ByteString: any bytes but NUL. */
void hv_enc_bytestring(hv_enc *e, const char *s);
void hv_enc_bytes(hv_enc *e, const void *data, size_t len);
/* Element / entry count of an array or map, then the elements. */
void hv_enc_count(hv_enc *e, size_t count);
/* Optional: presence, then the value if present. */
void hv_enc_present(hv_enc *e, bool present);
void hv_enc_fd(hv_enc *e, int fd);
void hv_enc_buffer(hv_enc *e, const hv_buffer *b);
void hv_enc_bitmap(hv_enc *e, const hv_bitmap *b);
/* Reserve n payload bytes and return them to fill (NULL after an error). */
void *hv_enc_reserve(hv_enc *e, size_t n);

/* --- decoder: reads one received message --------------------------------- */
/* Every read is bounds-checked; on failure it returns false, sets d->err
 * (-EBADMSG, -EILSEQ, -ENOMEM) and every later read fails too. */
typedef struct hv_dec {
	const uint8_t *p, *end;
	hv_msg *msg;
	unsigned next_fd;
	int err;
} hv_dec;

void hv_dec_init(hv_dec *d, hv_msg *msg);
bool hv_dec_bool(hv_dec *d, bool *v);
bool hv_dec_u8(hv_dec *d, uint8_t *v);
bool hv_dec_u16(hv_dec *d, uint16_t *v);
bool hv_dec_u32(hv_dec *d, uint32_t *v);
bool hv_dec_u64(hv_dec *d, uint64_t *v);
bool hv_dec_i8(hv_dec *d, int8_t *v);
bool hv_dec_i16(hv_dec *d, int16_t *v);
bool hv_dec_i32(hv_dec *d, int32_t *v);
bool hv_dec_i64(hv_dec *d, int64_t *v);
bool hv_dec_f32(hv_dec *d, float *v);
bool hv_dec_f64(hv_dec *d, double *v);
/* Views into the message, NUL-terminated (the wire carries the NUL). */
bool hv_dec_string(hv_dec *d, const char **v);     /* UTF-8 validated */
bool hv_dec_bytestring(hv_dec *d, const char **v); /* no interior NUL */
bool hv_dec_bytes(hv_dec *d, hv_bytes *v);
/* A count of elements each at least min_wire_size bytes on the wire; fails
 * if the rest of the message cannot hold them (no allocation before that). */
bool hv_dec_count(hv_dec *d, size_t min_wire_size, size_t *count);
bool hv_dec_present(hv_dec *d, bool *present);
/* fds and buffers: owned by the message (see the ownership rules above). */
bool hv_dec_fd(hv_dec *d, int *fd);
bool hv_dec_buffer(hv_dec *d, hv_buffer *b);
bool hv_dec_bitmap(hv_dec *d, hv_bitmap *b);
/* Arena memory living as long as the message (count * size, checked). */
void *hv_dec_alloc(hv_dec *d, size_t count, size_t size);
/* 0 if the whole payload and every fd were consumed, else -EBADMSG. */
int hv_dec_finish(hv_dec *d);

/* --- received messages -------------------------------------------------- */
enum hv_msg_kind hv_msg_kind(const hv_msg *m);
uint32_t hv_msg_magic(const hv_msg *m);
uint16_t hv_msg_id(const hv_msg *m);
uint32_t hv_msg_request_id(const hv_msg *m);
const uint8_t *hv_msg_payload(const hv_msg *m, size_t *len);
unsigned hv_msg_fd_count(const hv_msg *m);
/* Remove fd / buffer from the message's cleanup: the caller now owns it.
 * -EBADF if the message does not hold it (or it was already taken). */
int hv_msg_take_fd(hv_msg *m, int fd);
int hv_msg_take_buffer(hv_msg *m, const hv_buffer *b);

/* --- connections -------------------------------------------------------- */
typedef struct hv_ipc_error {
	int code;            /* negative errno-style code */
	const char *message; /* never NULL; "" if none */
	bool remote;         /* true: the peer's handler answered with it */
} hv_ipc_error;

typedef void (*hv_conn_cb)(hv_conn *c, void *userdata);

/* Connect to a socket path. loop may be NULL for a connection used only
 * with sync calls (events are then dispatched by hv_conn_dispatch()). */
int hv_conn_connect(hv_loop *loop, const char *path, hv_conn **out);
/* Connect to a portal by name: $HAVEN_PORTAL_DIR/name if set, else
 * $XDG_RUNTIME_DIR/haven/portal/name, else /run/haven/portal/name. */
int hv_conn_connect_portal(hv_loop *loop, const char *name, hv_conn **out);
/* Resolve the portal path as above into buf. */
int hv_portal_path(const char *name, char *buf, size_t size);
/* Wrap an already-connected AF_UNIX SOCK_STREAM socket (takes ownership of
 * fd, also on failure; another socket type is -EPROTOTYPE). */
int hv_conn_from_fd(hv_loop *loop, int fd, hv_conn **out);
/* Start exe (argv: exe, then args up to NULL; args may be NULL) as a
 * private instance of a service connected to this process: its end of a
 * socket pair is fd 3 with LISTEN_FDS=1, LISTEN_FDNAMES=connection and its
 * LISTEN_PID (the environment is this process's, minus LISTEN_*), as
 * SystemServer hands one connection to an AcceptSocketConnections
 * instance. *out is this end; *pid (if pid) the child, which the caller
 * reaps. A failed exec shows as the connection closing (exit 127). */
enum { HV_SPAWN_IGNORE_SIGINT = 1 << 0 }; /* the child ignores SIGINT */
int hv_conn_spawn_private(hv_loop *loop, const char *exe, const char *const *args, unsigned flags,
			  hv_conn **out, pid_t *pid);
/* Flush what can be flushed without blocking long, close, free. */
void hv_conn_close(hv_conn *c);
HV_DEFINE_CLEANUP(hv_conn *, hv_conn_close)

/* Serve an endpoint on this connection: incoming requests / one-way
 * messages / events whose magic is ep->magic go to `handlers` (ipcc's
 * generated table for ep). Several endpoints may be served. */
int hv_conn_serve(hv_conn *c, const hv_endpoint *ep, const void *handlers);
/* Decode received Buffers/Bitmaps lazily (see hv_buffer_map); for messages
 * cut after the call. Default off. */
void hv_conn_set_lazy_buffers(hv_conn *c, bool on);
void hv_conn_set_userdata(hv_conn *c, void *userdata);
void *hv_conn_userdata(const hv_conn *c);
/* Data a library keeps with a connection without taking its userdata (the
 * ConfigServer client library's read cache): one slot per key (any
 * address of the library's), freed with free_fn when the connection is
 * freed (hv_conn_close, or its server's end), or when replaced. data NULL
 * removes the slot. -ENOMEM, or 0. */
int hv_conn_attach(hv_conn *c, const void *key, void *data, void (*free_fn)(void *data));
void *hv_conn_attached(const hv_conn *c, const void *key); /* NULL if none */
/* Called once when the connection ends for any reason (peer closed,
 * misbehaviour, limit); the connection is freed after the callback unless
 * the callback is a client's, which must still hv_conn_close(). */
void hv_conn_on_disconnect(hv_conn *c, hv_conn_cb cb, void *userdata);
bool hv_conn_is_open(const hv_conn *c);
int hv_conn_fd(const hv_conn *c);
hv_loop *hv_conn_loop(const hv_conn *c);
hv_server *hv_conn_server(const hv_conn *c); /* NULL on the client side */
/* Peer credentials from SO_PEERCRED at connect/accept time. */
const struct ucred *hv_conn_peer(const hv_conn *c);
/* Default timeout of sync calls, ms; -1 (the default) waits forever. */
void hv_conn_set_timeout(hv_conn *c, int timeout_ms);
const hv_ipc_error *hv_conn_last_error(const hv_conn *c);
/* Text for a failed call's result r: the peer handler's message when r is
 * the remote error last received on c (and it has one), else strerror(-r).
 * For command-line clients' one-line errors. c may be NULL. */
const char *hv_conn_strerror(const hv_conn *c, int r);
/* End the connection because the peer broke the protocol; logs one line
 * naming the peer and the reason. Safe from inside a handler. */
void hv_conn_misbehave(hv_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write queued outgoing messages; blocks until all are written (or error). */
int hv_conn_flush(hv_conn *c);
/* Lower this connection's limits (never above the HV_IPC_MAX_* constants):
 * undispatched bytes and fds, and outgoing bytes a peer leaves unread. */
void hv_conn_set_limits(hv_conn *c, size_t max_queued_bytes, unsigned max_queued_fds,
			size_t max_outgoing_bytes);
/* For loop-less connections: read and dispatch what has arrived (events),
 * waiting at most timeout_ms. Returns messages dispatched or an errno. */
int hv_conn_dispatch(hv_conn *c, int timeout_ms);

/* Used by generated code. hv_conn_send queues a ONEWAY or EVENT (flushed at
 * the end of the loop iteration, when the queue is large, or on a sync
 * call — messages are coalesced into few sendmsg calls).
 * hv_conn_send, hv_conn_call, hv_conn_call_async, hv_call_respond release
 * the encoder's storage (calling hv_enc_release afterwards is harmless);
 * an encoder error (e->err) is returned without sending anything. */
int hv_conn_send(hv_conn *c, hv_enc *e);
/* Sync call: sends REQUEST and waits for the reply with its request id,
 * queueing other incoming messages for later dispatch. *reply is owned by
 * the connection and valid until the next call / close. timeout_ms < 0:
 * the connection's default (hv_conn_set_timeout). -EDEADLK if called while
 * another sync call on this connection waits. */
int hv_conn_call(hv_conn *c, hv_enc *e, int timeout_ms, hv_msg **reply);
typedef void (*hv_reply_cb)(hv_conn *c, int status, hv_msg *reply, void *userdata);
/* Async call: cb runs on the loop with status 0 and the reply, or a negative
 * error (remote: see hv_conn_last_error; transport: reply NULL). cb runs
 * exactly once, also when the connection ends (-ECONNRESET) — possibly
 * before this returns 0, if it ends while sending. A negative return
 * (encoder error, connection already ended, -EAGAIN at the limit) means
 * the request was not sent and cb never runs, neither now nor later: the
 * caller handles that error itself (tests/ipc/test-ipc-handoff.c). */
int hv_conn_call_async(hv_conn *c, hv_enc *e, hv_reply_cb cb, void *userdata); /* -EAGAIN past HV_IPC_MAX_PENDING_CALLS */
/* The contracts (JSON, see hv_endpoint.description) of what the peer
 * serves on this connection: ep's alone, or every one when ep is NULL.
 * Appended to *out as owned strings. A sync call: -ETIMEDOUT, -ENOENT when
 * the peer does not serve ep, or the connection's error. */
int hv_conn_introspect(hv_conn *c, const hv_endpoint *ep, int timeout_ms, hv_strv *out);
/* For a sync reply: move its fds/buffers out of the runtime's cleanup so
 * results' fds belong to the caller (generated code calls this). */
void hv_msg_give_all(hv_msg *m);

/* --- the call a handler is serving -------------------------------------- */
#define HV_IPC_DEFERRED 1 /* handler return: it called hv_call_hold() and will reply later */

hv_conn *hv_call_conn(const hv_call *call);
const struct ucred *hv_call_peer(const hv_call *call);
enum hv_msg_kind hv_call_kind(const hv_call *call);
void *hv_call_alloc(hv_call *call, size_t size);
void *hv_call_calloc(hv_call *call, size_t count, size_t size);
char *hv_call_strdup(hv_call *call, const char *s);
char *hv_call_printf(hv_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Typed failure: records code (negative errno or app code < 0) and a
 * message for the reply, returns code so handlers `return hv_call_fail(...)` */
int hv_call_fail(hv_call *call, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int hv_call_take_fd(hv_call *call, int fd);
int hv_call_take_buffer(hv_call *call, const hv_buffer *b);
/* Verify and map a lazily decoded buffer of this call's message, in place
 * (b is the handler's copy of the decoded hv_buffer, or a bitmap's
 * .buffer); unmapped with the message. -EBADF if the message does not hold
 * b->fd (taken, or not this call's). See hv_buffer_map. */
int hv_call_map_buffer(hv_call *call, hv_buffer *b);
/* Keep the call beyond the handler (reply later with the generated
 * *_respond() or hv_call_respond_error()). The request message, and so its
 * views, stay alive until then. Return HV_IPC_DEFERRED from the handler.
 * Only requests can be held: for a one-way message or event it returns NULL
 * (copy what you need to keep instead). */
hv_call *hv_call_hold(hv_call *call);
/* Used by generated dispatch: send the RESPONSE built in e, or an ERROR. A
 * held call is freed by these. If the connection is gone, they just free.
 * hv_call_respond_error with message NULL uses the hv_call_fail() message
 * if its code matches, else strerror(-code). A request whose handler
 * neither answered nor held the call is answered -EIO by the runtime. */
int hv_call_respond(hv_call *call, hv_enc *e);
int hv_call_respond_error(hv_call *call, int code, const char *message);
/* Generated dispatch: prepare an encoder for this call's reply. */
void hv_call_reply_init(hv_call *call, hv_enc *e);

/* --- servers ------------------------------------------------------------ */
typedef int (*hv_server_connect_cb)(hv_server *s, hv_conn *c, void *userdata); /* <0 refuses */
typedef void (*hv_server_conn_cb)(hv_server *s, hv_conn *c, void *userdata);

int hv_server_new(hv_loop *loop, const hv_endpoint *ep, const void *handlers, hv_server **out);
void hv_server_free(hv_server *s); /* closes every connection */
HV_DEFINE_CLEANUP(hv_server *, hv_server_free)
/* Bind and listen at path. The socket file appears only once it listens
 * (bound under a temporary name beside it, then renamed), with mode 0600
 * whatever the umask. A stale socket file is replaced; a live server's,
 * or a path that is not a socket, is -EADDRINUSE. */
int hv_server_listen(hv_server *s, const char *path);
/* Adopt a listening socket, or an already accepted connection (AF_UNIX
 * SOCK_STREAM only: -EAFNOSUPPORT / -EPROTOTYPE otherwise). */
int hv_server_adopt_fd(hv_server *s, int fd);
/* Adopt what a service manager handed over: LISTEN_FDS (+ LISTEN_PID,
 * LISTEN_FDNAMES; name NULL = all fds) or SerenityOS's SOCKET_TAKEOVER.
 * Returns the number adopted (0 if none was handed over). */
int hv_server_adopt_from_env(hv_server *s, const char *name);
/* The usual service start: listen on socket_path if it is not NULL (a
 * service started by hand with --socket), else serve the sockets from the
 * environment; -ENOENT (with a log line) if neither. Services rarely call
 * it themselves: hv_service_main() (haven/service.h) does, after parsing
 * --socket with the service's other options.
 * From the environment it also watches HAVEN_HANDOFF_FD (SystemServer's
 * per-user instances: a SOCK_SEQPACKET socket, each message 1 byte + one
 * connected socket as SCM_RIGHTS) and serves each socket passed there as a
 * new connection; malformed hand-off messages are logged and dropped, and
 * when the manager closes it the connections already adopted stay.
 * Exit when idle: if what was adopted is only accepted connections (no
 * listening socket, no hand-off socket: the manager's
 * AcceptSocketConnections mode, one instance per client), the server turns
 * on hv_server_set_exit_when_idle() so the instance's loop quits when its
 * client leaves — unless the service called hv_server_set_exit_when_idle()
 * itself before, whose choice is kept. Listening on socket_path never
 * turns it on. */
int hv_server_start(hv_server *s, const char *socket_path);
/* What the server serves besides the connections it was given, for the
 * promises it needs: a listening socket (its own or handed over: "accept"),
 * SystemServer's hand-off socket (connections arrive as fds: "recvfd"). */
bool hv_server_listens(const hv_server *s);
bool hv_server_has_handoff(const hv_server *s);
hv_loop *hv_server_loop(const hv_server *s);
void hv_server_on_connect(hv_server *s, hv_server_connect_cb cb, void *userdata);
void hv_server_on_disconnect(hv_server *s, hv_server_conn_cb cb, void *userdata);
void hv_server_set_max_connections(hv_server *s, unsigned max);
/* Quotas charged to a uid's connections (see HV_IPC_UID_MAX_*): those of
 * `uid`, or with HV_IPC_ANY_UID those of every uid not given its own; q
 * NULL lifts the per-uid quotas of `uid` (the server's totals still
 * apply). A limit of 0 means none. E.g. a manager's control socket, open
 * to every user: hv_server_set_quotas(s, HV_IPC_ANY_UID, &(hv_ipc_quotas){
 * .bytes = 1 << 20, .fds = 16, .connections = 8}) leaves root unlimited.
 * Applies to connections already open too. -ENOMEM, or 0. */
typedef struct hv_ipc_quotas {
	size_t bytes;
	unsigned fds;
	unsigned connections;
} hv_ipc_quotas;
#define HV_IPC_ANY_UID ((uid_t)-1)
int hv_server_set_quotas(hv_server *s, uid_t uid, const hv_ipc_quotas *q);
/* The server's totals over all uids (bytes and fds; connections is the
 * same limit as hv_server_set_max_connections). */
void hv_server_set_total_quotas(hv_server *s, const hv_ipc_quotas *q);
/* End a connection whose frame is not complete ms after its first byte
 * arrived (default HV_IPC_FRAME_DEADLINE_MS; 0 = never). */
void hv_server_set_frame_deadline(hv_server *s, int ms);
/* End a connection that sent nothing for ms and has no call held by the
 * server (default 0: never). */
void hv_server_set_idle_timeout(hv_server *s, int ms);
/* hv_conn_set_lazy_buffers for every connection, now and later. */
void hv_server_set_lazy_buffers(hv_server *s, bool on);
/* Quit the loop when the last client disconnects (per-connection
 * instances started by the manager with AcceptSocketConnections).
 * Default: off, except as hv_server_start() decides (see there); an
 * explicit call, either way, overrides that default. */
void hv_server_set_exit_when_idle(hv_server *s, bool on);
unsigned hv_server_connection_count(const hv_server *s);
/* The service's own state, for handlers: hv_server_userdata(hv_conn_server(
 * hv_call_conn(call))). */
void hv_server_set_userdata(hv_server *s, void *userdata);
void *hv_server_userdata(const hv_server *s);

/* Per-connection state: every client of the server gets `size` zeroed
 * bytes, set up by init (which may refuse the client with a negative
 * errno: the connection is ended and fini is not called) before the
 * connect hook, and torn down by fini after the disconnect hook, once,
 * however the connection ends. The state is the connection's userdata
 * (hv_conn_userdata), reached from a handler with hv_call_state(call);
 * don't hv_conn_set_userdata() a connection that has it. Set it before
 * the server takes its first client; size 0 turns it off. */
typedef int (*hv_conn_state_init_fn)(hv_conn *c, void *state);
typedef void (*hv_conn_state_fini_fn)(hv_conn *c, void *state);
void hv_server_set_conn_state(hv_server *s, size_t size, hv_conn_state_init_fn init,
			      hv_conn_state_fini_fn fini);
void *hv_call_state(const hv_call *call);
/* Visit every open connection (for broadcasting events); stop when cb
 * returns non-zero and return that value. */
int hv_server_foreach(hv_server *s, int (*cb)(hv_conn *c, void *userdata), void *userdata);
