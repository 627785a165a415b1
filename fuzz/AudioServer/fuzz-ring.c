/* fuzz-audioserver-ring — what AudioServer reads from a client's ring,
 * which the client may fill with anything: its header's positions and end
 * flag, and its sample bytes in any format and channel count, through the
 * mixing thread's real cycle (mixer.c, convert.c) on a null sink, with
 * libsoxr when the rate differs. Input: format, channels, rate choice,
 * then rounds of (8-byte write position delta, eos byte, 64 sample bytes
 * at the write position). Every mixed sample must be finite and within
 * full scale; a ring with impossible positions must end Failed, never be
 * read out of bounds (ASan). */
#include <soxr.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "AudioServer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 1024u

static struct aus_sink *sink;

static void cycle(void)
{
	aus_sink_cycle(sink);
	for (size_t i = 0; i < (size_t)sink->quantum * AUS_CHANNELS; i++)
		if (!(sink->mix[i] >= -1.0f && sink->mix[i] <= 1.0f))
			abort();
	struct aus_cmd c;
	while (aus_cmdq_pop(&sink->acks, &c))
		;
	uint64_t n;
	(void)!read(sink->notify_fd, &n, sizeof n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t rates[] = {48000, 44100, 8000, 192000};
	if (size < 3)
		return 0;
	if (!sink && aus_sink_open("null", 48000, AUS_MIN_QUANTUM, &sink) < 0)
		abort();
	struct aus_stream s = {.format = data[0] % 3, .channels = (uint8_t)(1 + data[1] % 8),
			       .rate = rates[data[2] % 4], .capacity = CAP, .space_fd = -1,
			       .data_fd = -1};
	s.frame_bytes = s.channels * (s.format == AUDIO_SERVER_SAMPLE_FORMAT_S16 ? 2u : 4u);
	uint8_t *ring = aligned_alloc(64, AUD_RING_HEADER_SIZE + (size_t)CAP * s.frame_bytes);
	if (!ring)
		return 0;
	memset(ring, 0, AUD_RING_HEADER_SIZE + (size_t)CAP * s.frame_bytes);
	s.hdr = (struct aud_ring_header *)ring;
	s.data = ring + AUD_RING_HEADER_SIZE;
	atomic_init(&s.volume, 1.0f);
	if (aus_stream_prepare(&s, 48000, SOXR_QQ) < 0)
		abort();
	aus_cmdq_push(&sink->cmds, (struct aus_cmd){.op = AUS_CMD_ADD, .ptr = &s});
	data += 3;
	size -= 3;
	uint64_t w = 0;
	while (size >= 9) {
		uint64_t delta;
		memcpy(&delta, data, 8);
		bool eos = data[8] & 1;
		data += 9;
		size -= 9;
		size_t n = size < 64 ? size : 64;
		/* The bytes go where a client would write them (wrapping). */
		for (size_t i = 0; i < n; i++)
			s.data[(w * s.frame_bytes + i) % ((size_t)CAP * s.frame_bytes)] = data[i];
		data += n;
		size -= n;
		/* Small deltas are honest writes; the top bit makes any value. */
		w += delta >> 63 ? delta : delta % (CAP + 1);
		atomic_store(&s.hdr->write_pos, w);
		atomic_store(&s.hdr->eos, eos);
		cycle();
		if (atomic_load(&s.state) == AUDIO_SERVER_STREAM_STATE_FAILED)
			break;
	}
	aus_cmdq_push(&sink->cmds, (struct aus_cmd){.op = AUS_CMD_REMOVE, .ptr = &s});
	cycle();
	aus_stream_release(&s);
	free(ring);
	return 0;
}
