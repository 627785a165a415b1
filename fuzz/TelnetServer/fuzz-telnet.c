/* fuzz-telnet.c — what a telnet peer sends, through TelnetServer's
 * protocol side (services/TelnetServer/telnet.c: libtelnet's IAC state
 * machine and RFC 1143 queues, our event handling: NAWS, TTYPE,
 * NEW-ENVIRON, line-end translation). The first byte chooses how the
 * stream is cut into reads (state must survive every cut); the rest is
 * the stream. Checked on every input: decoded data never outgrows what
 * was read, answers never outgrow it either (the relay's buffers rely on
 * both, relay.c), the terminal type and environment stay within their
 * limits, and output escaping (fed the same bytes) doubles at most. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telnet.h"

struct sink {
	size_t to_pty, to_net;
};

static void to_pty(void *ud, const uint8_t *buf, size_t len)
{
	(void)buf;
	((struct sink *)ud)->to_pty += len;
}

static void to_net(void *ud, const uint8_t *buf, size_t len)
{
	(void)buf;
	((struct sink *)ud)->to_net += len;
}

static void winsize(void *ud, unsigned cols, unsigned rows)
{
	(void)ud;
	if (!cols || !rows || cols > 65535 || rows > 65535)
		abort();
}

static void interrupt(void *ud) { (void)ud; }

static const struct ts_proto_ops ops = { to_pty, to_net, winsize, interrupt };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cut = 1 + data[0] % 64;
	data++, size--;
	struct sink s = { 0 };
	ts_proto *p = NULL;
	if (ts_proto_new(&ops, &s, &p) < 0)
		return 0;
	ts_proto_start(p);
	size_t opening = s.to_net, fed = 0;
	for (size_t off = 0; off < size; off += cut) {
		size_t n = size - off < cut ? size - off : cut;
		size_t before_pty = s.to_pty, before_net = s.to_net;
		int r = ts_proto_recv(p, data + off, n);
		fed += n;
		if (s.to_pty - before_pty > n || s.to_net - before_net > n + opening)
			abort();
		if (r < 0)
			break;
	}
	if (s.to_pty > fed)
		abort();
	const char *term = ts_proto_term(p);
	if (term && strlen(term) > TS_TTYPE_MAX)
		abort();
	if (ts_proto_env_count(p) > TS_ENV_MAX)
		abort();
	for (size_t i = 0; i < ts_proto_env_count(p); i++)
		if (!strchr(ts_proto_env(p, i), '=') || !strncmp(ts_proto_env(p, i), "LD_", 3))
			abort();
	uint8_t *out = malloc(2 * size + 1);
	if (out && ts_proto_encode(p, data, size, out) > 2 * size)
		abort();
	free(out);
	ts_proto_free(p);
	return 0;
}
