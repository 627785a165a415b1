/* test-notify-queue.c — NotificationServer's queue on its own, with time
 * driven by the test: slots, priority order, Do Not Disturb with critical
 * pass-through, expiry, actions to the owner, history bounds, validation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "notify_queue.h"


/* What the sink saw, as one string: "+3 ~3 -3:expired !3:open dnd:on ". */
/* A lookup the test goes on to dereference: a regression that loses the
 * notification ends the test with what was missing, not a segfault. */
static const nq_notification *must_(const nq_notification *n, const char *call, int line)
{
	if (!n) {
		fprintf(stderr, "%s:%d: %s found nothing\n", __FILE__, line, call);
		exit(1);
	}
	return n;
}
#define MUST(call) must_((call), #call, __LINE__)

static char events[4096];
static int icons_freed;

static void ev(const char *fmt, unsigned id, const char *extra)
{
	size_t l = strlen(events);
	snprintf(events + l, sizeof(events) - l, fmt, id, extra);
}
static void on_shown(void *ud, const nq_notification *n) { ev("+%u%s ", n->id, ""); }
static void on_updated(void *ud, const nq_notification *n) { ev("~%u%s ", n->id, ""); }
static void on_closed(void *ud, const nq_notification *n)
{
	ev("-%u:%s ", n->id, nq_reason_name(n->reason));
}
static void on_action(void *ud, const nq_notification *n, const char *a)
{
	char buf[128];
	snprintf(buf, sizeof(buf), ":%s@%llu", a, (unsigned long long)n->owner);
	ev("!%u%s ", n->id, buf);
}
static void on_dnd(void *ud, bool on) { ev("dnd%.0u:%s ", 0, on ? "on" : "off"); }
static void icon_free(void *icon)
{
	icons_freed++;
	free(icon);
}

static const nq_sink sink = {on_shown, on_updated, on_closed, on_action, on_dnd};

static bool saw(const char *expect)
{
	bool ok = strcmp(events, expect) == 0;
	if (!ok)
		fprintf(stderr, "events: \"%s\"\n  want: \"%s\"\n", events, expect);
	events[0] = 0;
	return ok;
}

static uint32_t show(nq_queue *q, uint64_t owner, unsigned urgency, int32_t timeout, uint64_t now)
{
	uint32_t id = 0;
	CHECK_EQ(nq_show(q, owner, owner, "title", "text", NULL, NULL, urgency, timeout, 0, NULL, NULL,
			    now, &id),
		 0);
	return id;
}

static void test_validate(void)
{
	const char *why = NULL;
	const char *ids[] = {"open", "later", "open"}, *labels[] = {"Open", "Later", "Again"};
	CHECK_EQ(nq_validate("t", "", 1, -1, 2, ids, labels, &why), 0);
	CHECK(why == NULL);
	CHECK_EQ(nq_validate("", "x", 1, -1, 0, NULL, NULL, &why), -EINVAL);
	CHECK(why != NULL);
	CHECK_EQ(nq_validate("t", "x", 3, -1, 0, NULL, NULL, &why), -EINVAL);
	CHECK_EQ(nq_validate("t", "x", 1, -2, 0, NULL, NULL, &why), -EINVAL);
	CHECK_EQ(nq_validate("t", "x", 1, NQ_MAX_TIMEOUT_MS + 1, 0, NULL, NULL, &why), -EINVAL);
	CHECK_EQ(nq_validate("t", "x", 1, -1, 3, ids, labels, &why), -EINVAL); /* dup id */
	const char *bad[] = {"a:b"};
	CHECK_EQ(nq_validate("t", "x", 1, -1, 1, bad, labels, &why), -EINVAL);
	char big[5000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK_EQ(nq_validate("t", big, 1, -1, 0, NULL, NULL, &why), -EINVAL);
	CHECK_EQ(nq_urgency_parse("critical"), 2);
	CHECK_EQ(nq_urgency_parse("urgent"), -EINVAL);
}

static void test_slots_priority_expiry(void)
{
	nq_config cfg = {.max_visible = 2, .history_max = 3,
			    .default_timeout_ms = {1000, 2000, -1}, .icon_free = icon_free};
	nq_queue *q = NULL;
	CHECK_EQ(nq_new(&cfg, &sink, NULL, &q), 0);

	uint32_t a = show(q, 7, NQ_URGENCY_NORMAL, -1, 0);  /* shown, expires at 2000 */
	uint32_t b = show(q, 7, NQ_URGENCY_LOW, -1, 10);    /* shown, expires at 1010 */
	uint32_t c = show(q, 7, NQ_URGENCY_LOW, -1, 20);    /* waits */
	uint32_t d = show(q, 7, NQ_URGENCY_NORMAL, 0, 30);  /* waits, but before c */
	uint32_t e = show(q, 7, NQ_URGENCY_CRITICAL, -1, 40); /* never waits */
	CHECK(saw("+1 +2 +5 "));
	CHECK(a == 1 && b == 2 && c == 3 && d == 4 && e == 5);
	CHECK_EQ(MUST(nq_find(q, c))->state, NQ_HELD);
	CHECK_EQ(nq_active_count(q), 5);
	/* Listing: shown by appearance, then the queue in priority order. */
	CHECK_EQ(MUST(nq_active(q, 0))->id, a);
	CHECK_EQ(MUST(nq_active(q, 1))->id, b);
	CHECK_EQ(MUST(nq_active(q, 2))->id, e);
	CHECK_EQ(MUST(nq_active(q, 3))->id, d);
	CHECK_EQ(MUST(nq_active(q, 4))->id, c);
	CHECK(nq_active(q, 5) == NULL);
	const nq_notification *list[NQ_MAX_ACTIVE];
	CHECK_EQ(nq_active_list(q, list), 5);
	for (size_t i = 0; i < 5; i++)
		CHECK(list[i] == nq_active(q, i));

	CHECK_EQ(nq_next_deadline(q), 1010);
	nq_tick(q, 1009);
	CHECK(saw(""));
	nq_tick(q, 1010); /* b expires; d (normal) goes before c (low) */
	CHECK(saw("-2:expired +4 "));
	/* d never expires (timeout 0), a at 2000. */
	CHECK_EQ(nq_next_deadline(q), 2000);
	/* Update restarts the timeout of a shown one. */
	CHECK_EQ(nq_update(q, a, "new title", NULL, false, NULL, NULL, 1500), 0);
	CHECK(saw("~1 "));
	CHECK(strcmp(MUST(nq_find(q, a))->title, "new title") == 0);
	CHECK(strcmp(MUST(nq_find(q, a))->text, "text") == 0);
	CHECK_EQ(nq_next_deadline(q), 3500);
	/* Updating a held one changes it silently. */
	CHECK_EQ(nq_update(q, c, NULL, "later text", true, "/icons/x.png", malloc(1), 1500), 0);
	CHECK(saw(""));
	CHECK(strcmp(MUST(nq_find(q, c))->icon_path, "/icons/x.png") == 0);
	CHECK_EQ(nq_update(q, 99, "x", NULL, false, NULL, NULL, 1500), -ENOENT);

	CHECK_EQ(nq_close(q, a, NQ_REASON_CLOSED, 1600), 0);
	CHECK(saw("-1:closed +3 "));
	CHECK_EQ(nq_close(q, a, NQ_REASON_CLOSED, 1600), -ENOENT);
	/* c was re-armed when it appeared: low = 1000 ms from 1600. */
	CHECK_EQ(nq_next_deadline(q), 2600);

	/* History keeps the last 3, newest first, and no icons. */
	CHECK_EQ(nq_close(q, c, NQ_REASON_DISMISSED, 1700), 0);
	CHECK_EQ(icons_freed, 1);
	CHECK_EQ(nq_close(q, d, NQ_REASON_DISMISSED, 1700), 0);
	CHECK(saw("-3:dismissed -4:dismissed "));
	CHECK_EQ(nq_history_count(q), 3);
	CHECK_EQ(MUST(nq_history(q, 0))->id, d);
	CHECK_EQ(MUST(nq_history(q, 1))->id, c);
	CHECK_EQ(MUST(nq_history(q, 2))->id, a);
	CHECK(nq_history(q, 3) == NULL);
	CHECK_EQ(MUST(nq_history(q, 2))->reason, NQ_REASON_CLOSED);
	CHECK(nq_next_deadline(q) == 0); /* only e (critical, never) is left */
	nq_free(q);
}

static void test_dnd_and_actions(void)
{
	nq_config cfg = {.default_timeout_ms = {-1, -1, -1}, .icon_free = icon_free};
	nq_queue *q = NULL;
	CHECK_EQ(nq_new(&cfg, &sink, NULL, &q), 0);
	nq_set_dnd(q, true, 0);
	nq_set_dnd(q, true, 0); /* no change, no event */
	CHECK(nq_dnd(q));
	uint32_t low = show(q, 1, NQ_URGENCY_LOW, -1, 0);
	uint32_t normal = show(q, 1, NQ_URGENCY_NORMAL, -1, 0);
	const char *ids[] = {"open", "snooze"}, *labels[] = {"Open", "Snooze"};
	uint32_t crit = 0;
	CHECK_EQ(nq_show(q, 42, 42, "Battery", "5% left", NULL, NULL, NQ_URGENCY_CRITICAL, -1, 2, ids,
			    labels, 0, &crit),
		 0);
	CHECK(saw("dnd:on +3 "));
	/* Held ones cannot be clicked; unknown actions are refused. */
	CHECK_EQ(nq_invoke(q, normal, "default", 5), -EAGAIN);
	CHECK_EQ(nq_invoke(q, crit, "nope", 5), -EINVAL);
	CHECK_EQ(nq_invoke(q, 1234, "open", 5), -ENOENT);
	/* The action goes to the owner (42), then the notification closes. */
	CHECK_EQ(nq_invoke(q, crit, "snooze", 5), 0);
	CHECK(saw("!3:snooze@42 -3:action "));
	/* DND ends: the held ones appear in priority order. */
	nq_set_dnd(q, false, 10);
	CHECK(saw("dnd:off +2 +1 "));
	CHECK_EQ(nq_invoke(q, low, "default", 11), 0);
	CHECK(saw("!1:default@1 -1:action "));
	/* The owner went away: events for its notifications go nowhere. */
	CHECK_EQ(nq_owner_count(q, 1), 1);
	nq_forget_owner(q, 1);
	CHECK_EQ(nq_owner_count(q, 1), 0);
	CHECK_EQ(MUST(nq_find(q, normal))->owner, 0);
	/* Invalid input is refused and changes nothing. */
	uint32_t id = 0;
	CHECK_EQ(nq_show(q, 1, 1, "", "x", NULL, malloc(1), 1, -1, 0, NULL, NULL, 0, &id), -EINVAL);
	CHECK_EQ(nq_active_count(q), 1);
	/* An icon path too long to keep (and to save) is refused. */
	static char path[NQ_MAX_ICON_PATH + 2];
	memset(path, 'p', sizeof path - 1);
	CHECK_EQ(nq_show(q, 1, 1, "t", "x", path, NULL, 1, -1, 0, NULL, NULL, 0, &id), -EINVAL);
	CHECK_EQ(nq_update(q, normal, NULL, NULL, true, path, NULL, 0), -EINVAL);
	/* The limit on active notifications. */
	for (unsigned i = 1; i < NQ_MAX_ACTIVE; i++)
		show(q, 2, NQ_URGENCY_LOW, -1, 20);
	CHECK_EQ(nq_show(q, 2, 2, "t", "x", NULL, NULL, 0, -1, 0, NULL, NULL, 20, &id), -ENOSPC);
	events[0] = 0;
	nq_free(q);
}

static void test_persistence(void)
{
	nq_config cfg = {.max_visible = 1, .history_max = 2,
			    .default_timeout_ms = {-1, -1, -1}, .icon_free = icon_free};
	nq_queue *q = NULL;
	CHECK_EQ(nq_new(&cfg, &sink, NULL, &q), 0);
	const char *ids[] = {"open"}, *labels[] = {"Open it"};
	uint32_t a = 0;
	CHECK_EQ(nq_show(q, 9, 9, "Mail", "3 new\tmessages", "/icons/mail.png", malloc(1), 1,
			    60000, 1, ids, labels, 0, &a),
		 0);
	uint32_t b = show(q, 9, NQ_URGENCY_LOW, -1, 0); /* held: one slot */
	uint32_t c = show(q, 9, NQ_URGENCY_NORMAL, -1, 0);
	uint32_t d = show(q, 9, NQ_URGENCY_NORMAL, -1, 0);
	uint32_t e = show(q, 9, NQ_URGENCY_NORMAL, -1, 0);
	CHECK_EQ(nq_close(q, c, NQ_REASON_CLOSED, 1), 0);
	CHECK_EQ(nq_close(q, d, NQ_REASON_DISMISSED, 1), 0);
	nq_set_dnd(q, true, 2);
	events[0] = 0;
	uint8_t *data = NULL;
	size_t len = 0;
	CHECK_EQ(nq_serialize(q, &data, &len), 0);

	/* Every truncation is refused whole and leaks nothing. */
	for (size_t cut = 0; cut < len; cut++) {
		nq_queue *t = NULL;
		CHECK_EQ(nq_new(&cfg, &sink, NULL, &t), 0);
		CHECK_EQ(nq_restore(t, data, cut, 0), -EBADMSG);
		CHECK_EQ(nq_active_count(t), 0);
		CHECK_EQ(nq_history_count(t), 0);
		nq_free(t);
	}
	nq_queue *r = NULL;
	CHECK_EQ(nq_new(&cfg, &sink, NULL, &r), 0);
	CHECK_EQ(nq_restore(r, data, len, 1000), 0);
	CHECK(saw("")); /* restoring is not news */
	CHECK(nq_dnd(r));
	CHECK_EQ(nq_active_count(r), 3);
	const nq_notification *n = MUST(nq_active(r, 0));
	CHECK(n && n->id == a && n->state == NQ_SHOWN && n->owner == 0);
	CHECK(n && !strcmp(n->title, "Mail") && !strcmp(n->text, "3 new\tmessages"));
	CHECK(n && !strcmp(n->icon_path, "/icons/mail.png") && n->icon == NULL);
	CHECK(n && n->nactions == 1 && !strcmp(n->action_ids[0], "open"));
	CHECK_EQ(n->expires_at, 61000); /* restarted from the respawn */
	CHECK_EQ(MUST(nq_active(r, 1))->id, e); /* normal before low in the queue */
	CHECK_EQ(MUST(nq_active(r, 2))->id, b);
	CHECK_EQ(nq_history_count(r), 2);
	CHECK_EQ(MUST(nq_history(r, 0))->id, d);
	CHECK_EQ(MUST(nq_history(r, 0))->reason, NQ_REASON_DISMISSED);
	CHECK_EQ(MUST(nq_history(r, 1))->id, c);
	/* Ids continue; DND still holds. */
	CHECK_EQ(show(r, 1, NQ_URGENCY_NORMAL, -1, 1000), e + 1);
	CHECK_EQ(MUST(nq_find(r, e + 1))->state, NQ_HELD);
	CHECK_EQ(nq_restore(r, data, len, 0), -EBUSY);
	events[0] = 0;
	data[0] = 'X';
	nq_queue *x = NULL;
	CHECK_EQ(nq_new(&cfg, &sink, NULL, &x), 0);
	CHECK_EQ(nq_restore(x, data, len, 0), -EBADMSG);
	nq_free(x);
	free(data);
	nq_free(r);
	nq_free(q);
}

/* Found by fuzz-notificationserver-state: a saved state with two active
 * notifications of one id loaded, and a next id behind the active ones made
 * nq_show hand out an id already on screen. */
static void test_restore_ids(void)
{
	nq_queue *q = NULL, *r = NULL;
	CHECK_EQ(nq_new(NULL, &sink, NULL, &q), 0);
	uint32_t a = show(q, 1, NQ_URGENCY_NORMAL, 0, 0), b = show(q, 1, NQ_URGENCY_NORMAL, 0, 0);
	CHECK_EQ(a, 1);
	CHECK_EQ(b, 2);
	uint8_t *data = NULL;
	size_t len = 0;
	CHECK_EQ(nq_serialize(q, &data, &len), 0);
	/* header: magic 8, next_id 4, dnd 1, nactive 4, nhistory 4; then two
	 * records of the same size, each starting with its u32 id */
	const size_t hdr = 21, rec = (len - hdr) / 2;
	CHECK_EQ(data[hdr], 1);
	CHECK_EQ(data[hdr + rec], 2);

	data[8] = 1; /* next id 1: behind both */
	CHECK_EQ(nq_new(NULL, &sink, NULL, &r), 0);
	CHECK_EQ(nq_restore(r, data, len, 0), 0);
	events[0] = 0;
	uint32_t c = show(r, 1, NQ_URGENCY_NORMAL, 0, 0);
	CHECK_EQ(c, 3);
	CHECK(nq_find(r, c) && MUST(nq_find(r, c))->owner == 1);
	CHECK_EQ(nq_close(r, 1, NQ_REASON_DISMISSED, 0), 0);
	CHECK_EQ(nq_close(r, 2, NQ_REASON_DISMISSED, 0), 0);
	CHECK(nq_find(r, c) != NULL);
	nq_free(r);

	data[hdr + rec] = 1; /* both id 1 */
	CHECK_EQ(nq_new(NULL, &sink, NULL, &r), 0);
	CHECK_EQ(nq_restore(r, data, len, 0), -EBADMSG);
	CHECK_EQ(nq_active_count(r), 0);
	nq_free(r);
	free(data);
	nq_free(q);
	events[0] = 0;
}

/* Found by fuzz-notificationserver-state: a saved state holding what no
 * client can send (a title that is not UTF-8, an unknown close reason)
 * loaded, and then every reply listing it failed to encode. */
static void test_restore_invalid(void)
{
	nq_queue *q = NULL, *r = NULL;
	CHECK_EQ(nq_new(NULL, &sink, NULL, &q), 0);
	uint32_t id = 0;
	CHECK_EQ(nq_show(q, 1, 1, "Caf\xc3\xa9", "text", NULL, NULL, 1, 0, 0, NULL, NULL, 0, &id), 0);
	CHECK_EQ(nq_close(q, id, NQ_REASON_CLOSED, 0), 0);
	uint8_t *data = NULL;
	size_t len = 0;
	CHECK_EQ(nq_serialize(q, &data, &len), 0);
	uint8_t *e = memmem(data, len, "Caf\xc3\xa9", 5);
	CHECK(e != NULL);
	if (!e)
		abort();
	CHECK_EQ(nq_new(NULL, &sink, NULL, &r), 0);
	CHECK_EQ(nq_restore(r, data, len, 0), 0); /* as saved: fine */
	nq_free(r);

	e[3] = 0xe9; /* Latin-1 'é' and a stray continuation byte */
	CHECK_EQ(nq_new(NULL, &sink, NULL, &r), 0);
	CHECK_EQ(nq_restore(r, data, len, 0), -EBADMSG);
	CHECK_EQ(nq_history_count(r), 0);
	nq_free(r);
	e[3] = 0xc3;

	/* record: id 4, urgency, state, reason: the reason byte is 7 after "HVNQ1"
	 * header (21) when the only record is in the history */
	CHECK_EQ(data[21 + 6], NQ_REASON_CLOSED);
	data[21 + 6] = 9;
	CHECK_EQ(nq_new(NULL, &sink, NULL, &r), 0);
	CHECK_EQ(nq_restore(r, data, len, 0), -EBADMSG);
	nq_free(r);
	free(data);
	nq_free(q);
	events[0] = 0;
}

/* Fair share (issue 12): one client cannot take the queue from the others
 * nor keep out their critical notifications. */
static void test_fair_share(void)
{
	nq_config cfg = {.max_per_client = 3, .default_timeout_ms = {-1, -1, -1}, .icon_free = icon_free};
	nq_queue *q = NULL;
	uint32_t id = 0;
	CHECK_EQ(nq_new(&cfg, &sink, NULL, &q), 0);
	uint32_t first = show(q, 1, NQ_URGENCY_LOW, 0, 0);
	show(q, 1, NQ_URGENCY_NORMAL, 0, 0);
	show(q, 1, NQ_URGENCY_LOW, 0, 0);
	/* At its cap: refused, unless critical, which replaces its oldest. */
	CHECK_EQ(nq_show(q, 1, 1, "t", "x", NULL, malloc(1), 1, 0, 0, NULL, NULL, 0, &id), -EDQUOT);
	events[0] = 0;
	uint32_t crit = show(q, 2, NQ_URGENCY_CRITICAL, 0, 0); /* another owner, same client */
	(void)crit;
	CHECK_EQ(nq_show(q, 2, 1, "t", "x", NULL, NULL, NQ_URGENCY_CRITICAL, 0, 0, NULL, NULL, 0, &id), 0);
	CHECK(nq_find(q, first) == NULL);
	CHECK_EQ(MUST(nq_history(q, 0))->id, first);
	CHECK_EQ(MUST(nq_history(q, 0))->reason, NQ_REASON_EXPIRED);
	/* Owner 2 of client 2 showed one; client 1 holds 3 again (one critical). */
	CHECK_EQ(nq_active_count(q), 4);
	/* Full: a client under its cap replaces the oldest non-critical one
	 * of whoever holds the most. Fill with clients of 3 each. */
	for (uint64_t k = 10; nq_active_count(q) < NQ_MAX_ACTIVE; k++)
		for (int i = 0; i < 3 && nq_active_count(q) < NQ_MAX_ACTIVE; i++)
			CHECK_EQ(nq_show(q, k, k, "t", "x", NULL, NULL, NQ_URGENCY_LOW, 0, 0, NULL, NULL, 0, &id), 0);
	const nq_notification *oldest_of_most = NULL;
	for (size_t i = 0; i < nq_active_count(q); i++) {
		const nq_notification *n = MUST(nq_active(q, i));
		if (n->client == 1 && n->urgency != NQ_URGENCY_CRITICAL)
			oldest_of_most = oldest_of_most ? oldest_of_most : n;
	}
	CHECK(oldest_of_most != NULL);
	uint32_t victim = oldest_of_most->id;
	CHECK_EQ(nq_show(q, 99, 99, "t", "x", NULL, NULL, NQ_URGENCY_NORMAL, 0, 0, NULL, NULL, 0, &id), 0);
	CHECK_EQ(nq_active_count(q), NQ_MAX_ACTIVE);
	CHECK(nq_find(q, victim) == NULL);
	CHECK(nq_find(q, id) != NULL);
	/* Client 99 has 1: another holds 3 > 2, so it gives one up; then no
	 * holder has more than 99 would (3): a non-critical one is refused,
	 * not swapped with an equal holder's, and a critical one still gets in. */
	CHECK_EQ(nq_show(q, 99, 99, "t", "x", NULL, NULL, NQ_URGENCY_NORMAL, 0, 0, NULL, NULL, 0, &id), 0);
	CHECK_EQ(nq_show(q, 99, 99, "t", "x", NULL, NULL, NQ_URGENCY_NORMAL, 0, 0, NULL, NULL, 0, &id),
		 -ENOSPC);
	CHECK_EQ(nq_show(q, 99, 99, "t", "x", NULL, NULL, NQ_URGENCY_CRITICAL, 0, 0, NULL, NULL, 0, &id),
		 0);
	CHECK_EQ(nq_active_count(q), NQ_MAX_ACTIVE);
	nq_free(q);
	events[0] = 0;
}

/* A dry run on a clone, then the same change on the queue with the same
 * clocks: the same state, byte for byte, and the clone tells nobody. */
static void test_clone(void)
{
	nq_config cfg = {.max_visible = 1, .history_max = 2, .default_timeout_ms = {-1, -1, -1},
			 .icon_free = icon_free};
	nq_queue *q = NULL, *dry = NULL;
	CHECK_EQ(nq_new(&cfg, &sink, NULL, &q), 0);
	const char *ids[] = {"open"}, *labels[] = {"Open"};
	uint32_t a = 0, b = 0;
	CHECK_EQ(nq_show(q, 1, 1, "A", "a", "/i.png", malloc(1), 1, 0, 1, ids, labels, 0, &a), 0);
	show(q, 1, NQ_URGENCY_LOW, 0, 0);
	CHECK_EQ(nq_close(q, show(q, 1, NQ_URGENCY_LOW, 0, 0), NQ_REASON_CLOSED, 1), 0);
	nq_set_dnd(q, true, 2);
	events[0] = 0;
	int freed = icons_freed;
	CHECK_EQ(nq_clone(q, &dry), 0);
	nq_set_wall(dry, 1234);
	CHECK_EQ(nq_show(dry, 2, 2, "B", "b", NULL, NULL, 2, 0, 0, NULL, NULL, 5, &b), 0);
	CHECK_EQ(nq_close(dry, a, NQ_REASON_DISMISSED, 6), 0);
	CHECK(saw(""));
	nq_set_wall(q, 1234);
	uint32_t b2 = 0;
	CHECK_EQ(nq_show(q, 2, 2, "B", "b", NULL, NULL, 2, 0, 0, NULL, NULL, 5, &b2), 0);
	CHECK_EQ(nq_close(q, a, NQ_REASON_DISMISSED, 6), 0);
	CHECK_EQ(b, b2);
	uint8_t *x = NULL, *y = NULL;
	size_t xl = 0, yl = 0;
	CHECK_EQ(nq_serialize(dry, &x, &xl), 0);
	CHECK_EQ(nq_serialize(q, &y, &yl), 0);
	CHECK(xl == yl && memcmp(x, y, xl) == 0);
	free(x);
	free(y);
	nq_free(dry); /* borrows icons: frees none */
	CHECK_EQ(icons_freed, freed + 1); /* a's icon, dropped by the queue's own close */
	CHECK_EQ(nq_next_id(q), b + 1);
	nq_skip_ids(q, b + 5);
	CHECK_EQ(show(q, 3, NQ_URGENCY_LOW, 0, 7), b + 5);
	nq_skip_ids(q, 1); /* never back */
	CHECK_EQ(nq_next_id(q), b + 6);
	nq_free(q);
	events[0] = 0;
}

int main(void)
{
	test_validate();
	test_slots_priority_expiry();
	test_dnd_and_actions();
	CHECK_EQ(icons_freed, 2);
	test_persistence();
	CHECK_EQ(icons_freed, 3);
	test_restore_ids();
	test_restore_invalid();
	test_fair_share();
	test_clone();
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}
