/* test-dns.c — LookupServer's own DNS data code (dns.c) and its cache
 * (cache.c), without a service: name checks at their limits, reverse
 * names, the presentation form of every type it knows and the refusal of
 * malformed rdata, and the cache's TTL expiry and LRU eviction. */
#include <errno.h>
#include <string.h>

#include "cache.h"
#include "check.h"
#include "dns.h"

static void test_names(void)
{
	char out[LKS_NAME_MAX + 2], name[400];
	const char *why;
	CHECK_EQ(lks_name_check("WWW.Example.TEST", out, &why), 0);
	CHECK_STR(out, "www.example.test.");
	CHECK_EQ(lks_name_check("www.example.test.", out, &why), 0);
	CHECK_STR(out, "www.example.test.");
	CHECK_EQ(lks_name_check("", out, &why), -EINVAL);
	CHECK_EQ(lks_name_check(".", out, &why), -EINVAL);
	CHECK_EQ(lks_name_check("a..b", out, &why), -EINVAL);
	CHECK_STR(why, "empty label");
	CHECK_EQ(lks_name_check(".a", out, &why), -EINVAL);
	CHECK_EQ(lks_name_check("a b", out, &why), -EINVAL);
	CHECK_EQ(lks_name_check("a\\.b", out, &why), -EINVAL);
	/* 63 is a label's limit, 253 a name's. */
	memset(name, 'a', 63);
	strcpy(name + 63, ".test");
	CHECK_EQ(lks_name_check(name, out, &why), 0);
	memset(name, 'a', 64);
	strcpy(name + 64, ".test");
	CHECK_EQ(lks_name_check(name, out, &why), -EINVAL);
	CHECK_STR(why, "label longer than 63 bytes");
	for (int len = 253; len <= 254; len++) {
		for (int i = 0; i < len; i++)
			name[i] = i % 50 == 49 ? '.' : 'b';
		name[len] = '\0';
		CHECK_EQ(lks_name_check(name, out, &why), len == 253 ? 0 : -EINVAL);
	}
	CHECK_STR(why, "name longer than 253 bytes");
}

static void test_reverse(void)
{
	char out[LKS_REVERSE_NAME_SIZE];
	CHECK_EQ(lks_reverse_name("192.0.2.1", out), 0);
	CHECK_STR(out, "1.2.0.192.in-addr.arpa.");
	CHECK_EQ(lks_reverse_name("2001:db8::1", out), 0);
	CHECK_STR(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
	CHECK_EQ(lks_reverse_name("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", out), 0);
	CHECK_EQ(strlen(out), (size_t)LKS_REVERSE_NAME_SIZE - 1); /* the longest fits */
	CHECK_EQ(lks_reverse_name("300.1.2.3", out), -EINVAL);
	CHECK_EQ(lks_reverse_name("example.test", out), -EINVAL);
}

#define RD(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static void check_format(uint16_t type, const uint8_t *d, size_t len, const char *want)
{
	char out[LKS_VALUE_MAX];
	int r = lks_rdata_format(type, d, len, out);
	CHECK_MSG(want ? r == 0 && !strcmp(out, want) : r == -EBADMSG, "type %u: got %d '%s', want '%s'",
		  type, r, out, want ? want : "(refused)");
}

static void test_rdata(void)
{
	check_format(1, RD(192, 0, 2, 1), "192.0.2.1");
	check_format(1, RD(192, 0, 2), NULL);
	check_format(28, RD(0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), "2001:db8::1");
	check_format(5, RD(3, 'w', 'w', 'w', 4, 't', 'e', 's', 't', 0), "www.test.");
	check_format(5, RD(0), ".");
	check_format(5, RD(3, 'w', 'w'), NULL);		       /* label past the end */
	check_format(5, RD(3, 'w', 'w', 'w'), NULL);	       /* no root label */
	check_format(5, RD(0, 0), NULL);		       /* trailing byte */
	check_format(5, RD(0xc0, 0x0c), NULL);		       /* a compression pointer */
	check_format(5, RD(3, 'a', '.', 'b', 0), "a\\.b.");    /* escaped, not split */
	check_format(15, RD(0, 10, 4, 'm', 'a', 'i', 'l', 0), "10 mail.");
	check_format(15, RD(0, 10), NULL);
	check_format(33, RD(0, 10, 0, 20, 0x13, 0xc4, 3, 's', 'i', 'p', 0), "10 20 5060 sip.");
	check_format(16, RD(5, 'h', 'e', 'l', 'l', 'o', 3, 'a', '"', 'b'), "\"hello\" \"a\\\"b\"");
	check_format(16, RD(5, 'h', 'e'), NULL);
	check_format(16, RD(0), "\"\"");
	check_format(257, RD(0, 5, 'i', 's', 's', 'u', 'e', 'c', 'a'), "0 issue \"ca\"");
	check_format(257, RD(0, 9, 'i'), NULL);
	check_format(6, RD(1, 'a', 0, 1, 'b', 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5),
		     "a. b. 1 2 3 4 5");
	check_format(6, RD(1, 'a', 0, 1, 'b', 0, 0, 0, 0, 1), NULL);
	check_format(99, RD(0xde, 0xad), "\\# 2 dead");
	/* The longest value that fits is shown, a longer one refused. */
	static uint8_t big[65535];
	memset(big, 0xab, sizeof(big));
	check_format(99, big, sizeof(big), NULL);
}

static struct lks_answer answer(uint8_t status, uint64_t expires, struct lks_rr *rr)
{
	return (struct lks_answer){.status = status, .expires_ns = expires, .canonical_name = "x.",
				   .count = rr ? 1 : 0, .rrs = rr};
}

static void test_cache(void)
{
	lks_cache *c = NULL;
	REQUIRE_EQ(lks_cache_new(2, &c), 0);
	struct lks_rr rr = {.type = 1, .len = 4, .data = (uint8_t *)"\xc0\x00\x02\x01"};
	struct lks_answer a = answer(0, 100, &rr);
	CHECK_EQ(lks_cache_put(c, "a.", 1, &a), 0);
	const struct lks_answer *got = lks_cache_get(c, "a.", 1, 50);
	REQUIRE(got);
	CHECK_EQ(got->count, 1u);
	CHECK(!memcmp(got->rrs[0].data, "\xc0\x00\x02\x01", 4));
	CHECK(!lks_cache_get(c, "a.", 28, 50)); /* another type */
	CHECK(!lks_cache_get(c, "a.", 1, 100));	/* expired, and dropped */
	CHECK_EQ(lks_cache_count(c), 0u);
	/* LRU: a is used after b, so c evicts b. */
	struct lks_answer neg = answer(1, 1000, NULL);
	CHECK_EQ(lks_cache_put(c, "a.", 1, &neg), 0);
	CHECK_EQ(lks_cache_put(c, "b.", 1, &neg), 0);
	CHECK(lks_cache_get(c, "a.", 1, 0));
	CHECK_EQ(lks_cache_put(c, "c.", 1, &neg), 0);
	CHECK_EQ(lks_cache_count(c), 2u);
	CHECK(lks_cache_get(c, "a.", 1, 0));
	CHECK(!lks_cache_get(c, "b.", 1, 0));
	CHECK(lks_cache_get(c, "c.", 1, 0));
	/* Replacing keeps one entry. */
	CHECK_EQ(lks_cache_put(c, "c.", 1, &a), 0);
	CHECK_EQ(lks_cache_count(c), 2u);
	lks_cache_flush(c);
	CHECK_EQ(lks_cache_count(c), 0u);
	CHECK(!lks_cache_get(c, "a.", 1, 0));
	lks_cache_free(c);
}

int main(void)
{
	test_names();
	test_reverse();
	test_rdata();
	test_cache();
	return check_result();
}
