/* net.h — the client's two sockets.
 *
 * The packet socket (AF_PACKET, SOCK_DGRAM, ETH_P_IP) carries the
 * broadcast phases (SELECTING, REQUESTING, INIT-REBOOT, REBINDING): the
 * client has no usable address yet, or must reach any server. Its BPF
 * filter passes only UDP to port 68, and only while a broadcast phase is
 * on (dhc_raw_listen); otherwise it drops everything in the kernel.
 * PACKET_AUXDATA tells which frames carry a checksum the kernel left for
 * hardware that never ran (veth, offloading NICs).
 *
 * The UDP socket (bound to the leased address, port 68, and the device)
 * carries RENEWING's unicast exchange with the server, and RELEASE. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opens the packet socket on ifindex, filter off. fd or negative errno. */
int dhc_raw_open(int ifindex);
/* Turns the BPF filter to "pass DHCP" (on) or "drop all" (off). */
int dhc_raw_listen(int fd, bool on);
/* Sends a DHCP payload from src:68 to 255.255.255.255:67, to the Ethernet
 * broadcast address. 0 or negative errno. */
int dhc_raw_send(int fd, int ifindex, uint32_t src, const uint8_t *payload, size_t len);
/* Reads one frame: the DHCP payload's length (in buf, at most cap), 0 for
 * a frame that is not a well-formed UDP datagram to port 68 (skipped), or
 * negative errno (-EAGAIN when none is waiting). */
int dhc_raw_recv(int fd, uint8_t *buf, size_t cap);

/* ARP for the RFC 5227 probe of a new address: a packet socket for
 * ETH_P_ARP, filter off (drop all) until dhc_arp_listen(fd, true). */
int dhc_arp_open(int ifindex);
int dhc_arp_listen(int fd, bool on);
/* Broadcasts "who has ip?" from sender address 0.0.0.0 (a probe). */
int dhc_arp_probe(int fd, int ifindex, const uint8_t mac[6], uint32_t ip);
/* Reads one ARP packet: 1 when it shows another host using ip (a reply
 * or announcement from ip, or another host's probe for it), 0 when not,
 * negative errno (-EAGAIN: none waiting). */
int dhc_arp_recv(int fd, const uint8_t mac[6], uint32_t ip);

/* Opens a UDP socket bound to addr:68 on the device `ifname`, non-blocking.
 * fd or negative errno. */
int dhc_udp_open(const char *ifname, uint32_t addr);
int dhc_udp_send(int fd, uint32_t dst, const uint8_t *payload, size_t len);
/* As dhc_raw_recv, for the UDP socket (datagrams from port 67 only). */
int dhc_udp_recv(int fd, uint8_t *buf, size_t cap);
