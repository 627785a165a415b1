/* packet.c — DHCPv4 messages: the option parser (RFC 2131/2132, option
 * overload, RFC 3396 concatenation, RFC 3442 classless routes), the
 * message builder, the IPv4/UDP framing for the packet socket and its
 * BPF filter. Everything a server sends is read here, bounds-checked,
 * and nowhere else. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <string.h>

#include "packet.h"

/* Up to this many option instances per message (a 1500-byte message
 * holds at most ~750 two-byte options; more is not DHCP). */
#define MAX_SEGMENTS 768

struct seg {
	uint8_t code, len;
	const uint8_t *data;
};
struct opts {
	struct seg seg[MAX_SEGMENTS];
	unsigned n;
	uint8_t overload;
};

/* Collects the options of one field; -EBADMSG when one runs past it. */
static int scan(const uint8_t *p, size_t len, struct opts *o, bool main_field)
{
	size_t i = 0;
	while (i < len) {
		uint8_t code = p[i++];
		if (code == DHC_OPT_PAD)
			continue;
		if (code == DHC_OPT_END)
			return 0;
		if (i >= len || p[i] > len - i - 1)
			return -EBADMSG;
		uint8_t l = p[i++];
		if (main_field && code == DHC_OPT_OVERLOAD && l == 1)
			o->overload = p[i];
		else if (o->n < MAX_SEGMENTS)
			o->seg[o->n++] = (struct seg){code, l, p + i};
		else
			return -EBADMSG;
		i += l;
	}
	/* No END: accepted, as most clients do (the field's end ends it). */
	return 0;
}

/* Concatenates every instance of `code` (RFC 3396) into buf: the length,
 * or -1 when absent. */
static int gather(const struct opts *o, uint8_t code, uint8_t *buf, size_t cap)
{
	int total = -1;
	for (unsigned i = 0; i < o->n; i++) {
		if (o->seg[i].code != code)
			continue;
		if (total < 0)
			total = 0;
		size_t l = o->seg[i].len;
		if ((size_t)total + l > cap)
			l = cap - (size_t)total;
		memcpy(buf + total, o->seg[i].data, l);
		total += (int)l;
	}
	return total;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static bool get_u32opt(const struct opts *o, uint8_t code, uint32_t *out, bool host_order)
{
	uint8_t b[DHC_MAX_MSG];
	if (gather(o, code, b, sizeof(b)) != 4)
		return false;
	*out = host_order ? ntohl(get32(b)) : get32(b);
	return true;
}

/* A list of addresses: count, or 0 when absent or not a multiple of 4. */
static uint8_t get_addrs(const struct opts *o, uint8_t code, uint32_t *out, unsigned max)
{
	uint8_t b[DHC_MAX_MSG];
	int n = gather(o, code, b, sizeof(b));
	if (n <= 0 || n % 4)
		return 0;
	unsigned count = 0;
	for (int i = 0; i < n && count < max; i += 4)
		out[count++] = get32(b + i);
	return (uint8_t)count;
}

/* Printable ASCII only: a name or message from a server goes to logs and
 * IPC, never with control bytes. */
static void get_text(const struct opts *o, uint8_t code, char *out, size_t cap, bool strict)
{
	uint8_t b[DHC_MAX_MSG];
	int n = gather(o, code, b, sizeof(b));
	out[0] = '\0';
	if (n <= 0)
		return;
	size_t w = 0;
	for (int i = 0; i < n && w + 1 < cap; i++) {
		if (b[i] == '\0' && i == n - 1)
			break; /* a trailing NUL, as some servers send */
		if (b[i] < 0x20 || b[i] > 0x7e) {
			if (strict) {
				out[0] = '\0';
				return;
			}
			out[w++] = '?';
		} else {
			out[w++] = (char)b[i];
		}
	}
	out[w] = '\0';
}

/* RFC 3442: width byte, significant octets of the destination, router. */
static void get_routes(const struct opts *o, struct dhc_msg *m)
{
	uint8_t b[DHC_MAX_MSG];
	int n = gather(o, DHC_OPT_CLASSLESS_ROUTES, b, sizeof(b));
	struct dhc_route r[DHC_MAX_ROUTES];
	unsigned count = 0;
	for (int i = 0; i < n;) {
		uint8_t width = b[i++];
		if (width > 32)
			return; /* the whole option is invalid (RFC 3442 §4) */
		int sig = (width + 7) / 8;
		if (n - i < sig + 4)
			return;
		uint8_t dst[4] = {0};
		memcpy(dst, b + i, (size_t)sig);
		i += sig;
		if (count < DHC_MAX_ROUTES)
			r[count++] = (struct dhc_route){.dst = get32(dst), .len = width, .gw = get32(b + i)};
		i += 4;
	}
	if (n > 0) {
		memcpy(m->routes, r, count * sizeof(r[0]));
		m->n_routes = (uint8_t)count;
	}
}

static void decode(const struct opts *o, struct dhc_msg *m)
{
	uint8_t b[4];
	if (gather(o, DHC_OPT_TYPE, b, sizeof(b)) == 1)
		m->type = b[0];
	m->has_server_id = get_u32opt(o, DHC_OPT_SERVER_ID, &m->server_id, false);
	m->has_subnet = get_u32opt(o, DHC_OPT_SUBNET, &m->subnet, false);
	m->has_broadcast = get_u32opt(o, DHC_OPT_BROADCAST, &m->broadcast, false);
	m->has_lease = get_u32opt(o, DHC_OPT_LEASE, &m->lease, true);
	m->has_t1 = get_u32opt(o, DHC_OPT_T1, &m->t1, true);
	m->has_t2 = get_u32opt(o, DHC_OPT_T2, &m->t2, true);
	if (m->has_subnet) {
		/* A netmask is contiguous ones. */
		uint32_t h = ntohl(m->subnet);
		if (h & (~h >> 1))
			m->has_subnet = false;
	}
	uint8_t mtu[4];
	if (gather(o, DHC_OPT_MTU, mtu, sizeof(mtu)) == 2) {
		uint16_t v = (uint16_t)(mtu[0] << 8 | mtu[1]);
		m->mtu = v >= 68 ? v : 0;
	}
	m->n_routers = get_addrs(o, DHC_OPT_ROUTER, m->routers, DHC_MAX_ROUTERS);
	m->n_dns = get_addrs(o, DHC_OPT_DNS, m->dns, DHC_MAX_DNS);
	get_text(o, DHC_OPT_DOMAIN, m->domain, sizeof(m->domain), true);
	get_text(o, DHC_OPT_MESSAGE, m->message, sizeof(m->message), false);
	get_routes(o, m);
}

int dhc_parse(const uint8_t *buf, size_t len, struct dhc_msg *out)
{
	memset(out, 0, sizeof(*out));
	if (len < DHC_FIXED_LEN + 4 || ntohl(get32(buf + DHC_FIXED_LEN)) != DHC_MAGIC)
		return -EBADMSG;
	if (len > DHC_MAX_MSG)
		len = DHC_MAX_MSG;
	out->op = buf[0];
	if (out->op != 2)
		return -EPROTO;
	out->xid = ntohl(get32(buf + 4));
	out->ciaddr = get32(buf + 12);
	out->yiaddr = get32(buf + 16);
	out->siaddr = get32(buf + 20);
	memcpy(out->chaddr, buf + 28, 16);
	static __thread struct opts o;
	o.n = 0;
	o.overload = 0;
	int r = scan(buf + DHC_FIXED_LEN + 4, len - DHC_FIXED_LEN - 4, &o, true);
	/* RFC 2131 §4.1: options, then file (bit 1), then sname (bit 2). */
	if (r == 0 && (o.overload & 1))
		r = scan(buf + 108, 128, &o, false);
	if (r == 0 && (o.overload & 2))
		r = scan(buf + 44, 64, &o, false);
	if (r < 0)
		return r;
	decode(&o, out);
	return 0;
}

/* ---- building ---- */

static uint8_t *put(uint8_t *p, uint8_t code, uint8_t len, const void *data)
{
	*p++ = code;
	*p++ = len;
	memcpy(p, data, len);
	return p + len;
}

size_t dhc_build(const struct dhc_req *q, uint8_t *buf)
{
	memset(buf, 0, DHC_FIXED_LEN + 4);
	buf[0] = 1; /* BOOTREQUEST */
	buf[1] = 1; /* Ethernet */
	buf[2] = 6;
	uint32_t v = htonl(q->xid);
	memcpy(buf + 4, &v, 4);
	uint16_t secs = htons(q->secs);
	memcpy(buf + 8, &secs, 2);
	memcpy(buf + 12, &q->ciaddr, 4);
	memcpy(buf + 28, q->mac, 6);
	v = htonl(DHC_MAGIC);
	memcpy(buf + DHC_FIXED_LEN, &v, 4);
	uint8_t *p = buf + DHC_FIXED_LEN + 4;
	p = put(p, DHC_OPT_TYPE, 1, &q->type);
	uint8_t cid[7] = {1};
	memcpy(cid + 1, q->mac, 6);
	p = put(p, DHC_OPT_CLIENT_ID, sizeof(cid), cid);
	if (q->requested_ip)
		p = put(p, DHC_OPT_REQUESTED_IP, 4, &q->requested_ip);
	if (q->server_id)
		p = put(p, DHC_OPT_SERVER_ID, 4, &q->server_id);
	if (q->type == DHC_DISCOVER || q->type == DHC_REQUEST) {
		uint16_t max = htons(DHC_MAX_MSG);
		p = put(p, DHC_OPT_MAX_SIZE, 2, &max);
		static const uint8_t params[] = {DHC_OPT_SUBNET, DHC_OPT_ROUTER, DHC_OPT_DNS,
						 DHC_OPT_DOMAIN, DHC_OPT_MTU, DHC_OPT_BROADCAST,
						 DHC_OPT_LEASE, DHC_OPT_T1, DHC_OPT_T2,
						 DHC_OPT_CLASSLESS_ROUTES};
		p = put(p, DHC_OPT_PARAMS, sizeof(params), params);
		if (q->hostname) {
			size_t l = strnlen(q->hostname, 63);
			if (l)
				p = put(p, DHC_OPT_HOSTNAME, (uint8_t)l, q->hostname);
		}
	}
	*p++ = DHC_OPT_END;
	/* Padded to BOOTP's 300 bytes: some relays and servers want them. */
	size_t len = (size_t)(p - buf);
	if (len < 300) {
		memset(p, 0, 300 - len);
		len = 300;
	}
	return len;
}

/* ---- IPv4/UDP framing ---- */

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The UDP checksum over the pseudo-header and the UDP datagram (as it is:
 * a correct one sums to 0). */
static uint16_t udp_sum(uint32_t src, uint32_t dst, const uint8_t *udp, size_t len)
{
	uint8_t pseudo[12];
	memcpy(pseudo, &src, 4);
	memcpy(pseudo + 4, &dst, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	pseudo[10] = (uint8_t)(len >> 8);
	pseudo[11] = (uint8_t)len;
	return fold(sum16(udp, len, sum16(pseudo, sizeof(pseudo), 0)));
}

size_t dhc_wrap_udp(uint32_t src, uint32_t dst, const uint8_t *payload, size_t len, uint8_t *out)
{
	struct iphdr ip = {.version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP,
			   .tot_len = htons((uint16_t)(28 + len)), .saddr = src, .daddr = dst};
	ip.check = htons(fold(sum16(&ip, sizeof(ip), 0)));
	struct udphdr udp = {.source = htons(DHC_CLIENT_PORT), .dest = htons(DHC_SERVER_PORT),
			     .len = htons((uint16_t)(8 + len))};
	memcpy(out + 20, &udp, 8);
	memcpy(out + 28, payload, len);
	uint16_t c = udp_sum(src, dst, out + 20, 8 + len);
	udp.check = htons(c ? c : 0xffff);
	memcpy(out, &ip, 20);
	memcpy(out + 20, &udp, 8);
	return 28 + len;
}

int dhc_unwrap_udp(const uint8_t *pkt, size_t len, bool csum_unfinished, const uint8_t **payload,
		   size_t *plen)
{
	struct iphdr ip;
	if (len < sizeof(ip))
		return -EBADMSG;
	memcpy(&ip, pkt, sizeof(ip));
	size_t ihl = (size_t)ip.ihl * 4, tot = ntohs(ip.tot_len);
	if (ip.version != 4 || ihl < 20 || tot > len || tot < ihl + 8 || ip.protocol != IPPROTO_UDP ||
	    (ntohs(ip.frag_off) & 0x3fff) || fold(sum16(pkt, ihl, 0)) != 0)
		return -EBADMSG;
	struct udphdr udp;
	memcpy(&udp, pkt + ihl, sizeof(udp));
	size_t ulen = ntohs(udp.len);
	if (ntohs(udp.dest) != DHC_CLIENT_PORT || ntohs(udp.source) != DHC_SERVER_PORT || ulen < 8 ||
	    ulen > tot - ihl)
		return -EBADMSG;
	if (udp.check && !csum_unfinished && udp_sum(ip.saddr, ip.daddr, pkt + ihl, ulen) != 0)
		return -EBADMSG;
	*payload = pkt + ihl + 8;
	*plen = ulen - 8;
	return 0;
}

const struct sock_fprog *dhc_bpf_filter(void)
{
	/* Offsets from the IP header (SOCK_DGRAM). */
	static struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),                 /* protocol */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 6),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),                 /* flags, fragment offset */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),                /* X = header length */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),                 /* UDP destination port */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DHC_CLIENT_PORT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0x40000),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	static const struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
	return &prog;
}

const char *dhc_type_name(uint8_t type)
{
	static const char *const names[] = {"?", "DISCOVER", "OFFER", "REQUEST", "DECLINE",
					    "ACK", "NAK", "RELEASE", "INFORM"};
	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}
