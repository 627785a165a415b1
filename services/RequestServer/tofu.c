/* tofu.c — trust on first use for gemini:// servers, whose certificates
 * are self-signed by custom: the first key a host:port presents is
 * remembered; a later different key is refused (Tls) until the remembered
 * certificate has expired, then the new one is remembered instead. The
 * key, not the certificate, is what is compared (SHA-256 of its
 * SubjectPublicKeyInfo): a server that renews its certificate with the
 * same key keeps being trusted. Besides, the certificate must name the
 * host and be within its validity dates.
 *
 * With --gemini-known-hosts FILE the list survives restarts: lines
 * "host:port SHA256-HEX NOT-AFTER-UNIX", replaced durably as soon as a
 * host is first seen (a decision to trust is not lost to a crash). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <haven/log.h>

#include "RequestServer.h"

#define TOFU_MAX_FILE (4u << 20)
#define TOFU_MAX_HOSTS 65536u

struct known {
	char *where; /* "host:port" */
	char fp[65];
	int64_t not_after;
};

static struct known *known;
static size_t nknown;
static bool loaded;

static int parse_line(char *line, unsigned lineno)
{
	char where[300], fp[80];
	int64_t not_after;
	if (sscanf(line, "%299s %79s %" SCNd64, where, fp, &not_after) != 3 || strlen(fp) != 64 ||
	    strspn(fp, "0123456789abcdef") != 64 || !strchr(where, ':'))
		return hv_log_warn("%s:%u: not \"host:port SHA256-HEX NOT-AFTER\": line ignored",
				      rqs_opts.gemini_known_hosts, lineno),
		       0;
	if (nknown >= TOFU_MAX_HOSTS)
		return -E2BIG;
	struct known *v = realloc(known, (nknown + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	known = v;
	if (!(known[nknown].where = strdup(where)))
		return -ENOMEM;
	memcpy(known[nknown].fp, fp, 65);
	known[nknown++].not_after = not_after;
	return 0;
}

static int load(void)
{
	loaded = true;
	if (!rqs_opts.gemini_known_hosts)
		return 0;
	_hv_free_ uint8_t *data = NULL;
	size_t len;
	int r = hv_read_file_at(AT_FDCWD, rqs_opts.gemini_known_hosts, O_NOFOLLOW, TOFU_MAX_FILE, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return hv_log_errno(r, "reading %s", rqs_opts.gemini_known_hosts);
	unsigned lineno = 0;
	for (char *line = (char *)data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (*line && *line != '#' && (r = parse_line(line, lineno)) < 0)
			return r;
	}
	return 0;
}

static int fill_known(int fd, void *userdata)
{
	(void)userdata;
	FILE *f = fdopen(dup(fd), "w");
	if (!f)
		return -errno;
	fputs("# RequestServer: gemini:// keys trusted on first use (host:port sha256 not-after)\n", f);
	for (size_t i = 0; i < nknown; i++)
		fprintf(f, "%s %s %" PRId64 "\n", known[i].where, known[i].fp, known[i].not_after);
	return fclose(f) == 0 ? 0 : -EIO;
}

static int save(void)
{
	if (!rqs_opts.gemini_known_hosts)
		return 0;
	int r = rqs_replace_kept_file(rqs_opts.gemini_known_hosts, fill_known, NULL);
	return r < 0 ? hv_log_errno(r, "writing %s", rqs_opts.gemini_known_hosts) : 0;
}

static int key_fingerprint(X509 *cert, char hex[65])
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (n <= 0)
		return -EINVAL;
	int ok = EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (!ok || mdlen != 32)
		return -EINVAL;
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int64_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

/* The certificate names the host (DNS name or IP address), and is valid now. */
static const char *check_certificate(X509 *cert, const char *host)
{
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	if ((is_ip ? X509_check_ip_asc(cert, host, 0) : X509_check_host(cert, host, 0, 0, NULL)) != 1)
		return "the certificate does not name this host";
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
		return "the certificate is not valid yet";
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
		return "the certificate has expired";
	return NULL;
}

int rqs_tofu_check(struct rqs_request *r, const char *host, const char *port, SSL *ssl)
{
	int e;
	if (!loaded && (e = load()) < 0) {
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "the known Gemini hosts: %s", strerror(-e));
		return e;
	}
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (!cert) {
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_TLS, "%s:%s presented no certificate", host, port);
		return -EPROTO;
	}
	char fp[65];
	const char *why = check_certificate(cert, host);
	int64_t not_after = asn1_time(X509_get0_notAfter(cert));
	e = why ? -EPERM : key_fingerprint(cert, fp);
	X509_free(cert);
	if (e < 0) {
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_TLS, "%s:%s: %s", host, port,
				 why ? why : "its key cannot be read");
		return e;
	}
	_hv_free_ char *where = NULL;
	if (asprintf(&where, "%s:%s", host, port) < 0)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "out of memory"), -ENOMEM;
	for (size_t i = 0; i < nknown; i++) {
		struct known *k = &known[i];
		if (strcasecmp(k->where, where))
			continue;
		if (!strcmp(k->fp, fp)) {
			if (not_after > k->not_after) { /* renewed, same key */
				k->not_after = not_after;
				save();
			}
			return 0;
		}
		if (k->not_after > (int64_t)time(NULL)) {
			rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_TLS,
					 "%s presents another key than when first seen (trust on first use): "
					 "sha256 %.16s..., was %.16s... until %" PRId64
					 "; if that is expected, remove its line from %s",
					 where, fp, k->fp, k->not_after,
					 rqs_opts.gemini_known_hosts ? rqs_opts.gemini_known_hosts
								     : "the service's memory (restart it)");
			return -EPERM;
		}
		hv_log_info("%s: the key first seen expired; trusting its new one", where);
		memcpy(k->fp, fp, 65);
		k->not_after = not_after;
		save();
		return 0;
	}
	char line[512];
	snprintf(line, sizeof line, "%s %s %" PRId64, where, fp, not_after);
	if ((e = parse_line(line, 0)) < 0) {
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "remembering %s: %s", where, strerror(-e));
		return e;
	}
	hv_log_info("%s: first seen, key sha256 %s trusted", where, fp);
	save();
	return 0;
}

void rqs_tofu_free(void)
{
	for (size_t i = 0; i < nknown; i++)
		free(known[i].where);
	free(known);
	known = NULL;
	nknown = 0;
	loaded = false;
}
