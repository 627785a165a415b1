/* audio-ring.h — the shared-memory ring of one AudioServer stream: the
 * layout both sides map (the server creates it, sealed against shrinking
 * and growing, and hands it over once in open_stream's reply).
 *
 *   [0, 4096)                 struct aud_ring_header
 *   [4096, 4096 + cap * fb)   cap frames of the stream's format, interleaved
 *
 * One producer (the client) and one consumer (the server's mixing thread):
 * positions count frames since the stream opened and only grow; frame p
 * lives at slot p % cap. The client owns write_pos, want_space and eos; the
 * server owns read_pos and the rest. (The client owns space_wanted too.) The server never trusts this page: it
 * keeps its own read position and capacity, and a write_pos that claims
 * fewer than 0 or more than cap queued frames fails that stream alone. */
#pragma once

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#define AUD_RING_MAGIC 0x48415544u /* "HAUD" */
#define AUD_RING_VERSION 1u
#define AUD_RING_HEADER_SIZE 4096u
#define AUD_RING_NO_POSITION UINT64_MAX

struct aud_ring_header {
	/* Set once by the server before the hand-over. */
	uint32_t magic, version;
	uint32_t capacity;    /* frames */
	uint32_t frame_bytes; /* channels * sample size */
	/* The client's cache line. */
	alignas(64) _Atomic uint64_t write_pos;
	_Atomic uint32_t want_space;   /* 1: write space_ready when read_pos moves */
	_Atomic uint32_t eos;	       /* 1: nothing comes after write_pos (drain) */
	_Atomic uint32_t space_wanted; /* ... once this many frames are free */
	/* The server's. */
	alignas(64) _Atomic uint64_t read_pos;
	_Atomic uint64_t clock;	    /* sink frames mixed before the current cycle */
	_Atomic uint64_t start_pos; /* sink frame of this stream's first frame */
	_Atomic uint64_t underruns;
	_Atomic uint32_t want_data; /* 1: the server starved; write data_ready */
	_Atomic uint32_t state;	    /* audio_server_stream_state */
	_Atomic uint32_t quantum;   /* the sink's current quantum */
};

_Static_assert(sizeof(struct aud_ring_header) <= AUD_RING_HEADER_SIZE, "ring header fits its page");
