/* wire.c — encoding and checked decoding of the front <-> worker messages
 * (wire.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

static void put(struct lgs_wbuf *b, const void *p, size_t n)
{
	if (b->overflow || n > sizeof(b->data) - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void lgs_wput_u8(struct lgs_wbuf *b, uint8_t v) { put(b, &v, 1); }

void lgs_wput_i32(struct lgs_wbuf *b, int32_t v)
{
	uint32_t u = (uint32_t)v;
	uint8_t le[4] = {u & 0xff, (u >> 8) & 0xff, (u >> 16) & 0xff, u >> 24};
	put(b, le, 4);
}

void lgs_wput_str(struct lgs_wbuf *b, const char *s)
{
	size_t n = strlen(s);
	if (n > LGS_WIRE_MAX) {
		b->overflow = true;
		return;
	}
	lgs_wput_i32(b, (int32_t)n);
	put(b, s, n + 1);
}

void lgs_wput_strv(struct lgs_wbuf *b, const char *const *v, size_t n)
{
	if (n > LGS_WIRE_STRV_MAX) {
		b->overflow = true;
		return;
	}
	lgs_wput_i32(b, (int32_t)n);
	for (size_t i = 0; i < n; i++)
		lgs_wput_str(b, v[i]);
}

int lgs_wsend_fds(int fd, const struct lgs_wbuf *b, const int *fds, size_t nfds)
{
	if (b->overflow)
		return -EMSGSIZE;
	if (nfds > LGS_WIRE_FDS)
		return -EINVAL;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * LGS_WIRE_FDS)];
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = {.iov_base = (void *)b->data, .iov_len = b->len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (nfds) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

int lgs_wsend(int fd, const struct lgs_wbuf *b) { return lgs_wsend_fds(fd, b, NULL, 0); }

static void close_fds(struct lgs_wmsg *m)
{
	for (size_t i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}

ssize_t lgs_wrecv(int fd, struct lgs_wmsg *m)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * LGS_WIRE_FDS)];
	} u;
	struct iovec iov = {.iov_base = m->data, .iov_len = LGS_WIRE_MAX};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	m->nfds = 0;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int f;
				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (m->nfds < LGS_WIRE_FDS)
					m->fds[m->nfds++] = f;
				else
					close(f);
			}
		}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		close_fds(m);
		return -EBADMSG;
	}
	m->len = (size_t)n;
	m->pos = 0;
	m->data[m->len] = 0;
	return n;
}

bool lgs_wget_u8(struct lgs_wmsg *m, uint8_t *v)
{
	if (m->len - m->pos < 1)
		return false;
	*v = m->data[m->pos++];
	return true;
}

bool lgs_wget_i32(struct lgs_wmsg *m, int32_t *v)
{
	if (m->len - m->pos < 4)
		return false;
	const uint8_t *p = m->data + m->pos;
	*v = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
	m->pos += 4;
	return true;
}

bool lgs_wget_str(struct lgs_wmsg *m, const char **s)
{
	int32_t n;
	if (!lgs_wget_i32(m, &n) || n < 0 || (size_t)n >= m->len - m->pos)
		return false;
	const char *p = (const char *)m->data + m->pos;
	if (p[n] != '\0' || memchr(p, '\0', (size_t)n))
		return false;
	*s = p;
	m->pos += (size_t)n + 1;
	return true;
}

bool lgs_wget_strv(struct lgs_wmsg *m, char ***v, size_t *n)
{
	int32_t count;
	if (!lgs_wget_i32(m, &count) || count < 0 || count > LGS_WIRE_STRV_MAX)
		return false;
	char **out = calloc((size_t)count + 1, sizeof(*out));
	if (!out)
		return false;
	for (int32_t i = 0; i < count; i++)
		if (!lgs_wget_str(m, (const char **)&out[i])) {
			free(out);
			return false;
		}
	*v = out;
	*n = (size_t)count;
	return true;
}

bool lgs_wget_end(const struct lgs_wmsg *m) { return m->pos == m->len; }
