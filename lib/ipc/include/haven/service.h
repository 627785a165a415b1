/* haven/service.h — one way to write a service: a description of it, and
 * a runner that does what every service does (as SerenityOS's
 * IPC::MultiServer and OpenBSD's proc_run()).
 *
 *	static const hv_service greeter = {
 *		.name = "Greeter",
 *		.summary = "Says hello.",
 *		.endpoint = &greeter_endpoint,
 *		.handlers = &greeter_handlers,
 *		.pledge = "stdio",
 *	};
 *	int main(int argc, char **argv) { return hv_service_main(&greeter, argc, argv); }
 *
 * hv_service_main():
 *  1. parses the command line: --socket PATH, --help and the service's own
 *     options (haven/options.h) — usage errors exit 2, --help exits 0;
 *  2. creates the loop (SIGTERM/SIGINT end it cleanly) and the server, with
 *     the per-connection state, lazy buffers and connection limit described;
 *  3. calls setup(srv): open stores, attach state (hv_server_set_userdata);
 *     then installs the crash handler (haven/crash.h: reports to
 *     CrashDaemon when its portal exists; HAVEN_CRASH_HANDLER=no: not;
 *     under a manager's Pledge= only with HAVEN_CRASH_HANDLER=yes);
 *     then applies the IPC quotas the manager set (HAVEN_IPC_QUOTAS, below);
 *  4. takes the sockets: --socket PATH (listening), else what the manager
 *     handed over (LISTEN_FDS, SOCKET_TAKEOVER, HAVEN_HANDOFF_FD);
 *  5. narrows the filesystem view to the unveil rules (when given; an empty
 *     list is "no files at all"), plus the socket's directory ("c") when it
 *     listens on --socket, so it can remove its socket file on exit;
 *  6. calls ready(srv): what must happen after the sockets are taken but
 *     before pledge (threads, connections to other services);
 *  7. pledges the promises, adding "accept" when it listens, "recvfd" when
 *     connections are handed over and "cpath" for its own socket file;
 *  8. runs the loop; then frees the server (every client's fini runs),
 *     calls teardown(exit_code) and frees the loop.
 * The exit code is 0 after a clean stop, 1 when a step failed (logged with
 * its reason), 2 for a usage error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <haven/ipc.h>
#include <haven/options.h>

/* A path the service may use after its sandbox is entered. `path` points at
 * the variable holding it (set by option parsing or by setup), so the rule
 * is declared statically: a NULL variable skips the rule. */
typedef struct hv_unveil_rule {
	const char *const *path;
	const char *perms; /* "r", "rwc", ... (haven/sandbox.h) */
	bool if_exists;	   /* skip it when the path does not exist */
} hv_unveil_rule;
#define HV_UNVEIL(var, perms_)                                                                     \
	{                                                                                          \
		.path = &(var), .perms = (perms_)                                                  \
	}
#define HV_UNVEIL_IF_EXISTS(var, perms_)                                                           \
	{                                                                                          \
		.path = &(var), .perms = (perms_), .if_exists = true                               \
	}

typedef struct hv_service {
	const char *name;    /* "ConfigServer": usage and logs */
	const char *summary; /* under the usage line of --help */
	const hv_endpoint *endpoint;
	const void *handlers;	  /* the endpoint's generated handlers table */
	const hv_option *options; /* the service's own, {0}-terminated; may be NULL */

	/* Per-connection state (hv_server_set_conn_state). */
	size_t conn_size;
	hv_conn_state_init_fn conn_init;
	hv_conn_state_fini_fn conn_fini;

	int (*setup)(hv_server *srv); /* step 3; <0 ends the service */
	int (*ready)(hv_server *srv); /* step 6; <0 ends the service */
	/* After the server is freed, with the exit code the process is
	 * about to return (a service that must not free the rest, because a
	 * thread may still use it, can _exit() with it here). */
	void (*teardown)(int exit_code);

	/* The sandbox. unveil: {0}-terminated rules; NULL leaves the
	 * filesystem view alone (promises without rpath/wpath still forbid
	 * opening files). pledge: OpenBSD promise names; required. */
	const hv_unveil_rule *unveil;
	const char *pledge;

	unsigned max_connections; /* 0: HV_IPC_MAX_CONNECTIONS */
	bool lazy_buffers;	  /* hv_server_set_lazy_buffers */
	bool exit_when_idle;	  /* one client per process: quit when it leaves */
} hv_service;

/* Steps 1–8 above; returns the process's exit code. */
int hv_service_main(const hv_service *svc, int argc, char **argv);
/* The two halves, for a main() that must act between parsing and running
 * (compute a default from the environment, say). hv_service_parse returns
 * 1 to go on, 0 after --help, -EINVAL after a usage error: exit with
 * hv_options_exit_code(r) unless it is 1. */
int hv_service_parse(const hv_service *svc, int argc, char **argv);
int hv_service_run(const hv_service *svc);
/* IPC quotas from the service's definition (SystemServer's Ipc* keys,
 * docs/systemserver.md): the manager sets
 *   HAVEN_IPC_QUOTAS="uid-bytes=N uid-fds=N uid-connections=N total-bytes=N
 *                     total-fds=N connections=N frame-deadline-ms=N
 *                     idle-timeout-ms=N"
 * (any subset, in any order; 0 is "none" as in haven/ipc.h, except that
 * connections=0 is the default HV_IPC_MAX_CONNECTIONS). The uid-* quotas are
 * those of every uid (HV_IPC_ANY_UID: root and the service's own uid stay
 * exempt), a field not given keeps its default. The runner applies them
 * after setup(), so the definition overrides what the service set itself;
 * a malformed value is logged naming the entry and the service exits 1. */
#define HV_SERVICE_QUOTAS_ENV "HAVEN_IPC_QUOTAS"
/* Apply such a spec to srv (NULL: nothing). -EINVAL (logged), -ENOMEM, 0. */
int hv_service_apply_quotas(hv_server *srv, const char *spec);
/* The --socket PATH given, or NULL (sockets from the manager). */
const char *hv_service_socket_path(void);
