/* net.c — the packet socket of the broadcast phases and the UDP socket of
 * renewals (net.h). Framing and checks live in packet.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <haven/util.h>

#include "net.h"
#include "packet.h"

static int packet_open(int ifindex, uint16_t proto, bool auxdata)
{
	_hv_close_ int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (auxdata && setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0)
		return -errno;
	/* Filter before bind: no frame of another kind is ever queued. */
	int r = dhc_raw_listen(fd, false);
	if (r < 0)
		return r;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(proto),
				  .sll_ifindex = ifindex};
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return HV_TAKE_FD(fd);
}

int dhc_raw_open(int ifindex) { return packet_open(ifindex, ETH_P_IP, true); }

int dhc_arp_open(int ifindex) { return packet_open(ifindex, ETH_P_ARP, false); }

int dhc_arp_listen(int fd, bool on)
{
	static struct sock_filter all[] = {BPF_STMT(BPF_RET | BPF_K, 0x40000)};
	static const struct sock_fprog pass = {.len = 1, .filter = all};
	if (!on)
		return dhc_raw_listen(fd, false);
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &pass, sizeof(pass)) < 0)
		return -errno;
	return 0;
}

/* An Ethernet/IPv4 ARP packet (RFC 826) without the Ethernet header. */
struct arp_pkt {
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t op;
	uint8_t sha[6], spa[4], tha[6], tpa[4];
} __attribute__((packed));

int dhc_arp_probe(int fd, int ifindex, const uint8_t mac[6], uint32_t ip)
{
	struct arp_pkt p = {.htype = htons(1), .ptype = htons(ETH_P_IP), .hlen = 6, .plen = 4,
			    .op = htons(1)};
	memcpy(p.sha, mac, 6);
	memcpy(p.tpa, &ip, 4);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
				  .sll_ifindex = ifindex, .sll_halen = ETH_ALEN};
	memset(sll.sll_addr, 0xff, ETH_ALEN);
	if (sendto(fd, &p, sizeof(p), 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

int dhc_arp_recv(int fd, const uint8_t mac[6], uint32_t ip)
{
	struct arp_pkt p;
	ssize_t n = recv(fd, &p, sizeof(p), MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(p) || p.htype != htons(1) || p.ptype != htons(ETH_P_IP) || p.hlen != 6 ||
	    p.plen != 4 || !memcmp(p.sha, mac, 6))
		return 0;
	uint32_t spa, tpa;
	memcpy(&spa, p.spa, 4);
	memcpy(&tpa, p.tpa, 4);
	/* RFC 5227 2.1.1: anyone sending from ip, or probing for it too. */
	return spa == ip || (spa == 0 && tpa == ip && p.op == htons(1));
}

int dhc_raw_listen(int fd, bool on)
{
	static struct sock_filter drop[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	static const struct sock_fprog drop_all = {.len = 1, .filter = drop};
	const struct sock_fprog *prog = on ? dhc_bpf_filter() : &drop_all;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, sizeof(*prog)) < 0)
		return -errno;
	if (!on) {
		/* What arrived before the filter changed is not wanted either. */
		uint8_t b[1];
		while (recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC) >= 0) {
		}
	}
	return 0;
}

int dhc_raw_send(int fd, int ifindex, uint32_t src, const uint8_t *payload, size_t len)
{
	uint8_t pkt[28 + DHC_MAX_MSG];
	if (len > DHC_MAX_MSG)
		return -EMSGSIZE;
	size_t n = dhc_wrap_udp(src, INADDR_BROADCAST, payload, len, pkt);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				  .sll_ifindex = ifindex, .sll_halen = ETH_ALEN};
	memset(sll.sll_addr, 0xff, ETH_ALEN);
	if (sendto(fd, pkt, n, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

int dhc_raw_recv(int fd, uint8_t *buf, size_t cap)
{
	uint8_t pkt[65536];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} control;
	struct iovec iov = {pkt, sizeof(pkt)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
			    .msg_controllen = sizeof(control)};
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	bool unfinished = false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata))) {
			struct tpacket_auxdata aux;
			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			unfinished = aux.tp_status & TP_STATUS_CSUMNOTREADY;
		}
	}
	const uint8_t *payload;
	size_t plen;
	if (dhc_unwrap_udp(pkt, (size_t)n, unfinished, &payload, &plen) < 0)
		return 0;
	if (plen > cap)
		plen = cap;
	memcpy(buf, payload, plen);
	return (int)plen;
}

int dhc_udp_open(const char *ifname, uint32_t addr)
{
	_hv_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0)
		return -errno;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(DHC_CLIENT_PORT),
				  .sin_addr.s_addr = addr};
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -errno;
	return HV_TAKE_FD(fd);
}

int dhc_udp_send(int fd, uint32_t dst, const uint8_t *payload, size_t len)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(DHC_SERVER_PORT),
				  .sin_addr.s_addr = dst};
	if (sendto(fd, payload, len, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -errno;
	return 0;
}

int dhc_udp_recv(int fd, uint8_t *buf, size_t cap)
{
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	if (n < 0)
		return -errno;
	if (fl < sizeof(from) || ntohs(from.sin_port) != DHC_SERVER_PORT)
		return 0;
	return (int)n;
}
