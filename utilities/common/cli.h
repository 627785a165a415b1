/* cli.h — what Haven's command-line clients share (the folders of utilities/): reaching
 * a service and saying why not, the call timeout, and one-line errors.
 *
 * Every CLI prints errors as "PROG: WHAT: WHY" on stderr and exits
 *   0  done
 *   1  the request failed (the service said no, did not answer, is absent)
 *   2  bad usage (hv_dispatch_verb, cli_usage_error)
 *
 * Calls time out: a service that is frozen (SIGSTOP, a deadlock) gets
 * CLI_DEFAULT_TIMEOUT_MS to answer each call, or $HAVEN_TIMEOUT_MS when set
 * (milliseconds, 1..2^31-1; "0" or "infinity": wait forever). Waiting for
 * events (watch, follow, --wait) is not a call and has no timeout.
 */
#pragma once

#include <stdio.h>

#include <haven/ipc.h>
#include <haven/verbs.h>

/* Long enough for any call a person makes (decoding a big image, a
 * service's start under socket activation), short enough that a script
 * notices a frozen service; D-Bus's default method call timeout. */
#define CLI_DEFAULT_TIMEOUT_MS 25000
#define CLI_TIMEOUT_ENV "HAVEN_TIMEOUT_MS"
/* The line every usage text ends with. */
#define CLI_TIMEOUT_HELP \
	"Each call to the service times out after 25 s; HAVEN_TIMEOUT_MS=N (ms, 0: never)\n" \
	"changes it.\n"

/* Once, first in main: the program's name for messages ("clip"), the
 * service it talks to as a sentence names it ("the Clipboard"), and its
 * usage text (for cli_usage_error). Sets hv_log's ident to prog. */
void cli_init(const char *prog, const char *service, void (*usage)(FILE *f));

/* The call timeout: $HAVEN_TIMEOUT_MS, else CLI_DEFAULT_TIMEOUT_MS; -1 for
 * "wait forever". A bad value is reported once and the default used. */
int cli_timeout_ms(void);

/* Connect to socket_path, or (NULL) to the portal named `portal`
 * (hv_portal_path), and set the call timeout. loop may be NULL (sync calls
 * only). On failure one line "PROG: cannot reach SERVICE: cannot connect to
 * PATH: WHY" and the negative errno. */
int cli_connect(hv_loop *loop, const char *portal, const char *socket_path, hv_conn **out);

/* Use a connection made elsewhere (a spawned ImageDecoder): set its call
 * timeout as cli_connect does. */
void cli_adopt(hv_conn *c);

/* One line for a failed call's result r: "PROG: WHAT: WHY", WHY being the
 * service's own words when it answered with an error (hv_conn_strerror)
 * and "SERVICE did not answer within N s" on a timeout. Returns 1, the
 * exit status of a failed request. c may be NULL. */
int cli_fail(hv_conn *c, int r, const char *what);

/* "PROG: MESSAGE" and the usage text on stderr; returns 2. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* s as a JSON string to f: quotes and backslashes escaped, \n as \n,
 * other control characters as \u00XX, everything else as it is (the
 * CLIs' --json output; no JSON library for printing). */
void cli_json_string(FILE *f, const char *s);

/* hv_dispatch_verb with this program's name and usage. */
int cli_dispatch(int argc, char **argv, const hv_verb *verbs, void *userdata);
