/* telnet.c — negotiation and the byte stream of one telnet connection
 * (telnet.h). libtelnet parses; its events land in on_event(), which
 * keeps what the session needs and nothing else. */
#include "telnet.h"

#include <ctype.h>
#include <errno.h>
#include <libtelnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>

/* Protocol warnings (a WILL answering our DONT, an IAC inside a
 * subnegotiation, a bad TTYPE) tolerated per connection: a real client
 * makes the odd one, a stream of garbage is ended. */
#define TS_MAX_PROTOCOL_WARNINGS 64

enum { PENDING_TTYPE = 1u << 0, PENDING_NAWS = 1u << 1, PENDING_ENV = 1u << 2 };

struct ts_proto {
	telnet_t *t;
	const struct ts_proto_ops *ops;
	void *ud;
	int error; /* first fatal condition, reported by ts_proto_recv */
	unsigned warnings;
	unsigned pending; /* PENDING_*: answers the session waits for */
	bool cr;	  /* the last data byte in was a CR (NVT: drop the LF/NUL after it) */
	bool bin_in, bin_out;
	char term[TS_TTYPE_MAX + 1];
	char user[33];
	char *env[TS_ENV_MAX];
	size_t nenv;
};

/* What we offer and accept (RFC 1143 through libtelnet): we echo and
 * suppress go-ahead; they report their window, type and environment. */
static const telnet_telopt_t telopts[] = {
	{TELNET_TELOPT_ECHO, TELNET_WILL, TELNET_DONT},
	{TELNET_TELOPT_SGA, TELNET_WILL, TELNET_DO},
	{TELNET_TELOPT_NAWS, TELNET_WONT, TELNET_DO},
	{TELNET_TELOPT_TTYPE, TELNET_WONT, TELNET_DO},
	{TELNET_TELOPT_NEW_ENVIRON, TELNET_WONT, TELNET_DO},
	{TELNET_TELOPT_BINARY, TELNET_WILL, TELNET_DO},
	{-1, 0, 0},
};

/* Names a client may set: its locale and display, never anything the
 * loader, the shell or a setuid program reads as code or paths. */
static bool env_name_ok(const char *name)
{
	static const char *const names[] = {"DISPLAY", "LANG", "LANGUAGE", "COLORTERM"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(name, names[i]))
			return true;
	if (strncmp(name, "LC_", 3) || !name[3] || strlen(name) > 32)
		return false;
	for (const char *c = name + 3; *c; c++)
		if (!isupper((unsigned char)*c) && *c != '_')
			return false;
	return true;
}

static bool printable(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= max || s[n] < 0x20 || s[n] > 0x7e)
			return false;
	return true;
}

/* A login name as useradd(8) makes them; anything else is ignored. */
static bool user_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

static void on_environ(ts_proto *p, const struct environ_t *ev)
{
	if (ev->cmd != TELNET_ENVIRON_IS && ev->cmd != TELNET_ENVIRON_INFO)
		return;
	p->pending &= ~PENDING_ENV;
	for (size_t i = 0; i < ev->size; i++) {
		const char *name = ev->values[i].var, *value = ev->values[i].value;
		if (!name || !value || !printable(value, TS_ENV_VALUE_MAX))
			continue;
		if (!strcmp(name, "USER")) {
			if (user_ok(value))
				snprintf(p->user, sizeof p->user, "%s", value);
			continue;
		}
		if (!env_name_ok(name))
			continue;
		char *kv = NULL;
		if (asprintf(&kv, "%s=%s", name, value) < 0)
			continue;
		size_t len = strlen(name) + 1, j = 0;
		while (j < p->nenv && strncmp(p->env[j], kv, len))
			j++;
		if (j < p->nenv) { /* INFO: a changed value replaces the old */
			free(p->env[j]);
			p->env[j] = kv;
		} else if (p->nenv < TS_ENV_MAX) {
			p->env[p->nenv++] = kv;
		} else {
			free(kv);
		}
	}
}

static void on_ttype(ts_proto *p, const char *name)
{
	p->pending &= ~PENDING_TTYPE;
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > TS_TTYPE_MAX)
		return;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("-_.+", name[i]))
			return;
	for (size_t i = 0; i <= n; i++)
		p->term[i] = (char)tolower((unsigned char)name[i]);
}

/* Data for the terminal; in NVT mode CR LF and CR NUL become CR (the
 * pty's ICRNL makes it the newline a program reads), as telnetd does. */
static void on_data(ts_proto *p, const uint8_t *buf, size_t len)
{
	if (p->bin_in) {
		p->ops->to_pty(p->ud, buf, len);
		return;
	}
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (p->cr && (buf[i] == '\n' || buf[i] == '\0')) {
			if (i > start)
				p->ops->to_pty(p->ud, buf + start, i - start);
			start = i + 1;
		}
		p->cr = buf[i] == '\r';
	}
	if (len > start)
		p->ops->to_pty(p->ud, buf + start, len - start);
}

static void on_negotiation(ts_proto *p, enum telnet_event_type_t type, unsigned char opt)
{
	bool on = type == TELNET_EV_WILL || type == TELNET_EV_DO;
	static const char *const verbs[] = {[TELNET_EV_WILL] = "WILL",
					    [TELNET_EV_WONT] = "WONT",
					    [TELNET_EV_DO] = "DO",
					    [TELNET_EV_DONT] = "DONT"};
	hv_log_debug("telnet: peer %s %d", verbs[type], opt);
	if (opt == TELNET_TELOPT_BINARY) {
		if (type == TELNET_EV_WILL || type == TELNET_EV_WONT)
			p->bin_in = on, p->cr = false;
		else
			p->bin_out = on;
		return;
	}
	if (type != TELNET_EV_WILL && type != TELNET_EV_WONT)
		return;
	if (opt == TELNET_TELOPT_TTYPE) {
		if (on)
			telnet_ttype_send(p->t);
		else
			p->pending &= ~PENDING_TTYPE;
	} else if (opt == TELNET_TELOPT_NEW_ENVIRON) {
		if (on) { /* SEND with no list: every VAR and USERVAR it has.
			   * (libtelnet 0.21's telnet_begin_newenviron drops the
			   * SEND byte: the subnegotiation is spelled out.) */
			const char send = TELNET_ENVIRON_SEND;
			telnet_subnegotiation(p->t, TELNET_TELOPT_NEW_ENVIRON, &send, 1);
		} else {
			p->pending &= ~PENDING_ENV;
		}
	} else if (opt == TELNET_TELOPT_NAWS && !on) {
		p->pending &= ~PENDING_NAWS;
	}
}

static void on_naws(ts_proto *p, const uint8_t *b, size_t size)
{
	if (size != 4)
		return;
	p->pending &= ~PENDING_NAWS;
	unsigned cols = (unsigned)b[0] << 8 | b[1], rows = (unsigned)b[2] << 8 | b[3];
	if (cols && rows) /* 0: "unknown", RFC 1073 */
		p->ops->winsize(p->ud, cols, rows);
}

static void on_warning(ts_proto *p, const struct error_t *e)
{
	/* libtelnet reports a subnegotiation past its buffer as EOVERFLOW;
	 * its message is the fallback for builds that leave errcode 0. */
	if (e->errcode == TELNET_EOVERFLOW || strstr(e->msg, "limit reached")) {
		if (!p->error)
			p->error = -EMSGSIZE;
	} else if (e->errcode == TELNET_ENOMEM) {
		if (!p->error)
			p->error = -ENOMEM;
	} else if (++p->warnings > TS_MAX_PROTOCOL_WARNINGS && !p->error) {
		p->error = -EPROTO;
	}
	hv_log_debug("telnet: %s", e->msg);
}

static void on_event(telnet_t *t, telnet_event_t *ev, void *ud)
{
	(void)t;
	ts_proto *p = ud;
	if (p->error) /* closing: nothing more reaches the terminal or the peer */
		return;
	switch (ev->type) {
	case TELNET_EV_DATA:
		on_data(p, (const uint8_t *)ev->data.buffer, ev->data.size);
		break;
	case TELNET_EV_SEND:
		p->ops->to_net(p->ud, (const uint8_t *)ev->data.buffer, ev->data.size);
		break;
	case TELNET_EV_IAC:
		if (ev->iac.cmd == TELNET_IP || ev->iac.cmd == TELNET_BREAK)
			p->ops->interrupt(p->ud);
		break;
	case TELNET_EV_WILL:
	case TELNET_EV_WONT:
	case TELNET_EV_DO:
	case TELNET_EV_DONT:
		on_negotiation(p, ev->type, ev->neg.telopt);
		break;
	case TELNET_EV_SUBNEGOTIATION:
		hv_log_debug("telnet: SB %d, %zu bytes", ev->sub.telopt, ev->sub.size);
		if (ev->sub.telopt == TELNET_TELOPT_NAWS)
			on_naws(p, (const uint8_t *)ev->sub.buffer, ev->sub.size);
		break;
	case TELNET_EV_TTYPE:
		if (ev->ttype.cmd == TELNET_TTYPE_IS)
			on_ttype(p, ev->ttype.name);
		break;
	case TELNET_EV_ENVIRON:
		on_environ(p, &ev->environ);
		break;
	case TELNET_EV_WARNING:
		on_warning(p, &ev->error);
		break;
	case TELNET_EV_ERROR:
		if (!p->error)
			p->error = -EPROTO;
		hv_log_debug("telnet: %s", ev->error.msg);
		break;
	case TELNET_EV_COMPRESS:
		/* MCCP2 was never offered, but libtelnet (built with zlib)
		 * inflates whatever follows a COMPRESS2 subnegotiation: a few
		 * bytes could become megabytes. A peer that starts it is ended. */
		if (ev->compress.state)
			p->error = -EPROTO;
		break;
	default: /* ZMP, MSSP: not offered, ignored */
		break;
	}
}

int ts_proto_new(const struct ts_proto_ops *ops, void *ud, ts_proto **out)
{
	ts_proto *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->ops = ops;
	p->ud = ud;
	if (!(p->t = telnet_init(telopts, on_event, 0, p))) {
		free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void ts_proto_free(ts_proto *p)
{
	if (!p)
		return;
	telnet_free(p->t);
	for (size_t i = 0; i < p->nenv; i++)
		free(p->env[i]);
	free(p);
}

void ts_proto_start(ts_proto *p)
{
	p->pending = PENDING_TTYPE | PENDING_NAWS | PENDING_ENV;
	telnet_negotiate(p->t, TELNET_WILL, TELNET_TELOPT_ECHO);
	telnet_negotiate(p->t, TELNET_WILL, TELNET_TELOPT_SGA);
	telnet_negotiate(p->t, TELNET_DO, TELNET_TELOPT_SGA);
	telnet_negotiate(p->t, TELNET_DO, TELNET_TELOPT_NAWS);
	telnet_negotiate(p->t, TELNET_DO, TELNET_TELOPT_TTYPE);
	telnet_negotiate(p->t, TELNET_DO, TELNET_TELOPT_NEW_ENVIRON);
}

int ts_proto_recv(ts_proto *p, const uint8_t *buf, size_t len)
{
	if (!p->error)
		telnet_recv(p->t, (const char *)buf, len);
	return p->error;
}

size_t ts_proto_encode(ts_proto *p, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = in[i];
		out[o++] = b;
		if (b == TELNET_IAC)
			out[o++] = TELNET_IAC;
		else if (b == '\r' && !p->bin_out && (i + 1 == len || in[i + 1] != '\n'))
			out[o++] = '\0';
	}
	return o;
}

bool ts_proto_settled(const ts_proto *p)
{
	return p->pending == 0;
}

const char *ts_proto_term(const ts_proto *p)
{
	return p->term[0] ? p->term : NULL;
}

size_t ts_proto_env_count(const ts_proto *p)
{
	return p->nenv;
}

const char *ts_proto_env(const ts_proto *p, size_t i)
{
	return i < p->nenv ? p->env[i] : NULL;
}

const char *ts_proto_user(const ts_proto *p)
{
	return p->user[0] ? p->user : NULL;
}
