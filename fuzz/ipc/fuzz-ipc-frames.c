/* fuzz/ipc/fuzz-ipc-frames.c — the connection's frame parser fed arbitrary
 * byte streams in arbitrary chunks, with fds arriving between chunks.
 * Input: a sequence of records [u8 ctl][u8 len][len bytes]: ctl's low 3
 * bits = fds arriving with this chunk. Frames are cut as a connection would;
 * a violation ends the stream (as it ends the connection). */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hv_rbuf r;
	hv_frame f;
	const char *why;
	static int devnull = -1;
	if (devnull < 0)
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	hv_rbuf_init(&r);
	size_t off = 0;
	while (off + 2 <= size) {
		unsigned nfds = data[off] & 7;
		size_t len = data[off + 1];
		off += 2;
		len = len < size - off ? len : size - off;
		int fds[8];
		for (unsigned i = 0; i < nfds; i++)
			fds[i] = fcntl(devnull, F_DUPFD_CLOEXEC, 3);
		if (hv_rbuf_push_fds(&r, fds, nfds) < 0)
			break;
		ssize_t space = hv_rbuf_prepare(&r);
		if (space < (ssize_t)len)
			__builtin_trap(); /* prepare always leaves a read chunk */
		memcpy(r.buf + r.end, data + off, len);
		hv_rbuf_commit(&r, len);
		off += len;
		int n;
		while ((n = hv_frame_next(&r, &f, &why)) > 0) {
			if (f.hdr.len > HV_IPC_MAX_MESSAGE_SIZE || f.hdr.nfds > HV_IPC_MAX_FDS_PER_MESSAGE)
				__builtin_trap();
			if (f.hdr.len)
				(void)f.payload[f.hdr.len - 1];
			for (unsigned i = 0; i < f.hdr.nfds; i++)
				close(f.fds[i]);
		}
		if (n < 0 || hv_rbuf_check_fds(&r, &why) < 0)
			break;
	}
	hv_rbuf_release(&r);
	return 0;
}
