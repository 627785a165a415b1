/* dns.h — the little DNS data LookupServer handles itself: checking a name
 * a client gave, the reverse-lookup name of an address, and the
 * presentation form of record data libunbound hands back in wire form.
 * Everything else (queries, parsing answers, DNSSEC) is libunbound's. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define LKS_NAME_MAX 253  /* bytes of a name in text form, without the final dot */
#define LKS_LABEL_MAX 63  /* bytes of one label */
#define LKS_VALUE_MAX 4096 /* presentation form of one record, with its NUL */

/* Check a name from a client and write its canonical query form (lower
 * case, one final dot) into out (LKS_NAME_MAX + 2 bytes). A single final
 * dot is accepted. -EINVAL with *why set (a static string) for an empty
 * name, an empty label, a label over 63 bytes, a name over 253 bytes, or
 * a byte that cannot be in a host name query (a control character, a
 * space, a backslash). */
int lks_name_check(const char *name, char *out, const char **why);

/* The PTR query name of an IPv4 or IPv6 address in text form
 * ("4.3.2.1.in-addr.arpa."); out holds 74 bytes. -EINVAL when text is
 * not an address. */
#define LKS_REVERSE_NAME_SIZE 74
int lks_reverse_name(const char *text, char *out);

/* The presentation form of rdata of `type` ("10 mail.example.test." for
 * MX); out holds LKS_VALUE_MAX bytes. Names in rdata are uncompressed wire
 * names. -EBADMSG when the data is malformed for its type (short, a label
 * running past the end, trailing bytes), never reads past len. Types it
 * does not know are written in RFC 3597 form ("\# 4 c0000201"). */
int lks_rdata_format(uint16_t type, const uint8_t *rdata, size_t len, char *out);
