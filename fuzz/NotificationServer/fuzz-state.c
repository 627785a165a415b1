/* fuzz-state — NotificationServer's saved state (nq_restore) on
 * arbitrary bytes. Beyond "no crash, no leak": a state that loads must
 * behave like one the queue made itself — it serializes and loads again
 * to the same bytes, every notification is one a client could have shown
 * (valid, UTF-8), ids stay unique, and the queue keeps working
 * (ticks, a new notification, DND, closes) without breaking its rules. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>
#include <haven/util.h>

#include "notify_queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_unique_ids(const nq_queue *q)
{
	size_t n = nq_active_count(q);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (nq_active(q, i)->id == nq_active(q, j)->id) {
				fprintf(stderr, "two active notifications with id %u\n",
					nq_active(q, i)->id);
				abort();
			}
}

static bool utf8(const char *s) { return !s || hv_utf8_valid(s, strlen(s)); }

/* What a client could have shown: nq_validate's rules, UTF-8 strings
 * (they go out as IPC Strings), and a known close reason. */
static void check_valid(const nq_notification *n)
{
	const char *why = NULL;
	if (nq_validate(n->title, n->text, n->urgency, n->timeout_ms, n->nactions,
			   (const char *const *)n->action_ids, (const char *const *)n->action_labels,
			   &why) < 0) {
		fprintf(stderr, "restored notification %u is invalid: %s\n", n->id, why);
		abort();
	}
	bool ok = utf8(n->title) && utf8(n->text) && utf8(n->icon_path);
	for (size_t i = 0; i < n->nactions; i++)
		ok = ok && utf8(n->action_ids[i]) && utf8(n->action_labels[i]);
	if (!ok) {
		fprintf(stderr, "restored notification %u has a string that is not UTF-8\n", n->id);
		abort();
	}
	if (n->state == NQ_CLOSED &&
	    (n->reason < NQ_REASON_EXPIRED || n->reason > NQ_REASON_ACTION)) {
		fprintf(stderr, "restored notification %u closed for unknown reason %u\n", n->id,
			n->reason);
		abort();
	}
}

static void check_roundtrip(const nq_queue *q)
{
	uint8_t *a = NULL, *b = NULL;
	size_t alen, blen;
	nq_queue *q2 = NULL;
	if (nq_serialize(q, &a, &alen) < 0)
		return;
	if (nq_new(NULL, &(nq_sink){0}, NULL, &q2) < 0)
		goto out;
	if (nq_restore(q2, a, alen, 1000) < 0) {
		fprintf(stderr, "a serialized state does not load again\n");
		abort();
	}
	if (nq_serialize(q2, &b, &blen) < 0)
		goto out;
	if (alen != blen || memcmp(a, b, alen) != 0) {
		fprintf(stderr, "state changes across serialize/restore\n");
		abort();
	}
out:
	nq_free(q2);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
		hv_log_set_level(HV_LOG_ERROR);
		init = true;
	}
	nq_queue *q;
	if (nq_new(NULL, &(nq_sink){0}, NULL, &q) < 0)
		return 0;
	if (nq_restore(q, data, size, 1000) == 0) {
		check_unique_ids(q);
		for (size_t i = 0; i < nq_active_count(q); i++)
			check_valid(nq_active(q, i));
		for (size_t i = 0; i < nq_history_count(q); i++)
			check_valid(nq_history(q, i));
		check_roundtrip(q);
		/* The restored queue in use: what a client and the clock do. */
		uint32_t id = 0;
		nq_tick(q, 2000);
		if (nq_show(q, 7, 7, "t", "x", NULL, NULL, NQ_URGENCY_NORMAL, -1, 0, NULL, NULL, 3000,
			       &id) == 0) {
			check_unique_ids(q);
			if (nq_find(q, id) == NULL || nq_find(q, id)->owner != 7) {
				fprintf(stderr, "new notification %u is not found as itself\n", id);
				abort();
			}
		}
		nq_set_dnd(q, !nq_dnd(q), 4000);
		nq_set_dnd(q, false, 5000);
		while (nq_active_count(q) > 0) {
			const nq_notification *n = nq_active(q, 0);
			if (n->nactions && n->state == NQ_SHOWN &&
			    nq_invoke(q, n->id, n->action_ids[0], 6000) == 0)
				continue;
			if (nq_close(q, n->id, NQ_REASON_DISMISSED, 6000) < 0) {
				fprintf(stderr, "active notification %u cannot be closed\n", n->id);
				abort();
			}
		}
		nq_tick(q, UINT64_MAX / 2);
		check_roundtrip(q);
	}
	nq_free(q);
	return 0;
}
