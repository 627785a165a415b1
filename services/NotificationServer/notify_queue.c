/* notify_queue.c — NotificationServer's decisions: slots, priority queue,
 * Do Not Disturb, expiry and history (see notify_queue.h for the model).
 *
 * Active notifications sit in one small array (at most NQ_MAX_ACTIVE):
 * scans are cheaper than keeping a heap in sync for a few dozen items, and
 * the order is recomputed where it matters (promotion, listing).
 */
#include "notify_queue.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <haven/util.h>

static const int32_t builtin_timeout[3] = {5000, 10000, 0};

struct nq_queue {
	nq_notification *active[NQ_MAX_ACTIVE];
	size_t nactive;
	nq_notification **history; /* ring, newest at (hhead - 1) */
	size_t hcap, hcount, hhead;
	unsigned max_visible;
	int32_t timeout[3];
	bool dnd;
	uint32_t next_id;
	uint64_t next_seq;
	unsigned max_per_client; /* 0: no fair share */
	int64_t wall;		 /* stamps of the next changes; 0: the clock */
	/* A clone's history entries are its origin's (closed ones never
	 * change) until the clone replaces them: slot i is borrowed while it
	 * holds what origin's slot i holds. */
	const nq_queue *origin;
	void (*icon_free)(void *icon);
	nq_sink sink;
	void *ud;
};

const char *nq_urgency_name(unsigned urgency)
{
	switch (urgency) {
	case NQ_URGENCY_LOW:
		return "low";
	case NQ_URGENCY_NORMAL:
		return "normal";
	case NQ_URGENCY_CRITICAL:
		return "critical";
	}
	return "?";
}

int nq_urgency_parse(const char *s)
{
	for (unsigned u = 0; u <= NQ_URGENCY_CRITICAL; u++)
		if (strcmp(s, nq_urgency_name(u)) == 0)
			return (int)u;
	return -EINVAL;
}

const char *nq_reason_name(unsigned reason)
{
	switch (reason) {
	case NQ_REASON_EXPIRED:
		return "expired";
	case NQ_REASON_DISMISSED:
		return "dismissed";
	case NQ_REASON_CLOSED:
		return "closed";
	case NQ_REASON_ACTION:
		return "action";
	}
	return "?";
}

static int64_t wall_ms(const nq_queue *q)
{
	if (q->wall)
		return q->wall;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void nq_set_wall(nq_queue *q, int64_t wall_ms) { q->wall = wall_ms; }

static void icon_drop(nq_queue *q, void **icon)
{
	if (*icon && q->icon_free)
		q->icon_free(*icon);
	*icon = NULL;
}

static void notification_free(nq_queue *q, nq_notification *n)
{
	if (!n)
		return;
	free(n->title);
	free(n->text);
	free(n->icon_path);
	icon_drop(q, &n->icon);
	for (size_t i = 0; i < n->nactions; i++) {
		free(n->action_ids[i]);
		free(n->action_labels[i]);
	}
	free(n->action_ids);
	free(n->action_labels);
	free(n);
}

int nq_new(const nq_config *cfg, const nq_sink *sink, void *ud, nq_queue **out)
{
	nq_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->max_visible = cfg && cfg->max_visible ? cfg->max_visible : NQ_DEFAULT_VISIBLE;
	q->hcap = cfg && cfg->history_max ? cfg->history_max : NQ_DEFAULT_HISTORY;
	q->history = calloc(q->hcap, sizeof(*q->history));
	if (!q->history) {
		free(q);
		return -ENOMEM;
	}
	for (int u = 0; u < 3; u++)
		q->timeout[u] = cfg && cfg->default_timeout_ms[u] >= 0 ? cfg->default_timeout_ms[u]
								      : builtin_timeout[u];
	q->icon_free = cfg ? cfg->icon_free : NULL;
	q->max_per_client = cfg ? cfg->max_per_client : 0;
	if (sink)
		q->sink = *sink;
	q->ud = ud;
	q->next_id = 1;
	q->next_seq = 1;
	*out = q;
	return 0;
}

static bool history_borrowed(const nq_queue *q, size_t i)
{
	return q->origin && q->history[i] == q->origin->history[i];
}

void nq_free(nq_queue *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nactive; i++)
		notification_free(q, q->active[i]);
	for (size_t i = 0; i < q->hcap; i++)
		if (!history_borrowed(q, i))
			notification_free(q, q->history[i]);
	free(q->history);
	free(q);
}

static char *dup_or_null(const char *s, bool *oom);

/* A deep copy of n; its icon is the same object (the copy's queue does
 * not own it). */
static nq_notification *notification_clone(nq_queue *c, const nq_notification *n)
{
	nq_notification *d = malloc(sizeof(*d));
	if (!d)
		return NULL;
	*d = *n;
	bool oom = false;
	d->title = strdup(n->title);
	d->text = strdup(n->text);
	d->icon_path = dup_or_null(n->icon_path, &oom);
	d->nactions = 0;
	d->action_ids = n->nactions ? calloc(n->nactions, sizeof(char *)) : NULL;
	d->action_labels = n->nactions ? calloc(n->nactions, sizeof(char *)) : NULL;
	oom |= !d->title || !d->text || (n->nactions && (!d->action_ids || !d->action_labels));
	for (size_t i = 0; !oom && i < n->nactions; i++) {
		d->action_ids[i] = strdup(n->action_ids[i]);
		d->action_labels[i] = strdup(n->action_labels[i]);
		d->nactions = i + 1;
		oom |= !d->action_ids[i] || !d->action_labels[i];
	}
	if (oom) {
		notification_free(c, d);
		return NULL;
	}
	return d;
}

int nq_clone(const nq_queue *q, nq_queue **out)
{
	nq_config cfg = {.max_visible = q->max_visible, .history_max = (unsigned)q->hcap,
			 .max_per_client = q->max_per_client};
	memcpy(cfg.default_timeout_ms, q->timeout, sizeof(q->timeout));
	nq_queue *c;
	int r = nq_new(&cfg, NULL, NULL, &c);
	if (r < 0)
		return r;
	c->dnd = q->dnd;
	c->next_id = q->next_id;
	c->next_seq = q->next_seq;
	c->hcount = q->hcount;
	c->hhead = q->hhead;
	for (size_t i = 0; i < q->nactive && r == 0; i++)
		if ((c->active[i] = notification_clone(c, q->active[i])))
			c->nactive = i + 1;
		else
			r = -ENOMEM;
	/* Closed ones never change: borrowed, not copied (a history may hold
	 * 100000). */
	memcpy(c->history, q->history, q->hcap * sizeof(*q->history));
	c->origin = q;
	if (r < 0) {
		nq_free(c);
		return r;
	}
	*out = c;
	return 0;
}

uint32_t nq_next_id(const nq_queue *q) { return q->next_id; }

void nq_skip_ids(nq_queue *q, uint32_t next_id)
{
	/* Forward only, wrapping as ids do (never to 0). */
	if (next_id && (int32_t)(next_id - q->next_id) > 0)
		q->next_id = next_id;
}

static bool text_ok(const char *s, size_t max, bool allow_empty)
{
	if (!s)
		return false;
	size_t n = strlen(s);
	return n <= max && (allow_empty || n > 0);
}

int nq_validate(const char *title, const char *text, unsigned urgency, int32_t timeout_ms,
		   size_t nactions, const char *const *ids, const char *const *labels,
		   const char **why)
{
	const char *w = NULL;
	if (!text_ok(title, NQ_MAX_TITLE, false))
		w = "title must be 1 to 256 bytes";
	else if (!text_ok(text, NQ_MAX_TEXT, true))
		w = "text must be at most 4096 bytes";
	else if (urgency > NQ_URGENCY_CRITICAL)
		w = "urgency must be low (0), normal (1) or critical (2)";
	else if (timeout_ms < -1 || timeout_ms > NQ_MAX_TIMEOUT_MS)
		w = "timeout must be -1 (default), 0 (never) or up to 24 hours in ms";
	else if (nactions > NQ_MAX_ACTIONS)
		w = "at most 8 actions";
	for (size_t i = 0; !w && i < nactions; i++) {
		if (!text_ok(ids[i], NQ_MAX_ACTION_ID, false) ||
		    !text_ok(labels[i], NQ_MAX_ACTION_LABEL, false))
			w = "action ids must be 1 to 64 bytes, labels 1 to 128";
		else if (strpbrk(ids[i], " \t\n:"))
			w = "action ids may not contain spaces or ':'";
		for (size_t j = 0; !w && j < i; j++)
			if (strcmp(ids[i], ids[j]) == 0)
				w = "action ids must be unique";
	}
	if (why)
		*why = w;
	return w ? -EINVAL : 0;
}

static size_t shown_noncritical(const nq_queue *q)
{
	size_t n = 0;
	for (size_t i = 0; i < q->nactive; i++)
		if (q->active[i]->state == NQ_SHOWN &&
		    q->active[i]->urgency != NQ_URGENCY_CRITICAL)
			n++;
	return n;
}

static int32_t effective_timeout(const nq_queue *q, const nq_notification *n)
{
	return n->timeout_ms < 0 ? q->timeout[n->urgency] : n->timeout_ms;
}

static void arm_expiry(nq_queue *q, nq_notification *n, uint64_t now)
{
	int32_t t = effective_timeout(q, n);
	n->expires_at = t > 0 ? now + (uint64_t)t : 0;
}

static void show(nq_queue *q, nq_notification *n, uint64_t now)
{
	n->state = NQ_SHOWN;
	arm_expiry(q, n, now);
	if (q->sink.shown)
		q->sink.shown(q->ud, n);
}

/* Better candidate for the next free slot: more urgent, then older. */
static bool before(const nq_notification *a, const nq_notification *b)
{
	if (a->urgency != b->urgency)
		return a->urgency > b->urgency;
	return a->seq < b->seq;
}

static void promote(nq_queue *q, uint64_t now)
{
	for (;;) {
		nq_notification *best = NULL;
		for (size_t i = 0; i < q->nactive; i++) {
			nq_notification *n = q->active[i];
			if (n->state != NQ_HELD)
				continue;
			bool may = n->urgency == NQ_URGENCY_CRITICAL ||
				   (!q->dnd && shown_noncritical(q) < q->max_visible);
			if (may && (!best || before(n, best)))
				best = n;
		}
		if (!best)
			return;
		show(q, best, now);
	}
}

static char *dup_or_null(const char *s, bool *oom)
{
	if (!s || !*s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

static ssize_t find_index(const nq_queue *q, uint32_t id);
static void close_at(nq_queue *q, size_t i, enum nq_reason reason);

static size_t client_count(const nq_queue *q, uint64_t client)
{
	size_t n = 0;
	for (size_t i = 0; i < q->nactive; i++)
		n += q->active[i]->client == client;
	return n;
}

/* The oldest non-critical active notification of `client`, or of
 * whichever client holds the most when `client` is NULL; -1 if none. */
static ssize_t eviction_victim(const nq_queue *q, const uint64_t *client)
{
	ssize_t victim = -1;
	size_t most = 0;
	for (size_t i = 0; i < q->nactive; i++) {
		const nq_notification *n = q->active[i];
		if (n->urgency == NQ_URGENCY_CRITICAL || (client && n->client != *client))
			continue;
		size_t held = client ? 1 : client_count(q, n->client);
		if (victim < 0 || held > most || (held == most && n->seq < q->active[victim]->seq)) {
			victim = (ssize_t)i;
			most = held;
		}
	}
	return victim;
}

/* Room for one more from client: 0 with *victim the index of the
 * notification to close for it (-1: none), or -EDQUOT / -ENOSPC. */
static int make_room(const nq_queue *q, uint64_t client, unsigned urgency, ssize_t *victim)
{
	*victim = -1;
	if (!q->max_per_client)
		return q->nactive < NQ_MAX_ACTIVE ? 0 : -ENOSPC;
	if (client_count(q, client) >= q->max_per_client) {
		/* At its cap, a critical one replaces the client's own oldest
		 * non-critical one; anything else waits for one to close. */
		if (urgency == NQ_URGENCY_CRITICAL)
			*victim = eviction_victim(q, &client);
		return *victim >= 0 ? 0 : -EDQUOT;
	}
	if (q->nactive < NQ_MAX_ACTIVE)
		return 0;
	/* Full, and this client is under its cap: the client holding the
	 * most gives up its oldest non-critical one — for a critical one
	 * always; otherwise only if it holds more than this client will.
	 * (Taking from an equal holder would let clients at their share
	 * replace each other's notifications for as long as they send.) */
	*victim = eviction_victim(q, NULL);
	if (*victim >= 0 && urgency != NQ_URGENCY_CRITICAL &&
	    client_count(q, q->active[*victim]->client) <= client_count(q, client) + 1)
		*victim = -1;
	return *victim >= 0 ? 0 : -ENOSPC;
}

int nq_show(nq_queue *q, uint64_t owner, uint64_t client, const char *title, const char *text,
	    const char *icon_path, void *icon, unsigned urgency, int32_t timeout_ms,
	    size_t nactions, const char *const *ids, const char *const *labels, uint64_t now_ms,
	    uint32_t *id_out)
{
	ssize_t victim = -1;
	int r = nq_validate(title, text, urgency, timeout_ms, nactions, ids, labels, NULL);
	if (r == 0 && icon_path && strlen(icon_path) > NQ_MAX_ICON_PATH)
		r = -EINVAL;
	if (r == 0)
		r = make_room(q, client, urgency, &victim);
	if (r < 0) {
		icon_drop(q, &icon);
		return r;
	}
	nq_notification *n = calloc(1, sizeof(*n));
	if (!n) {
		icon_drop(q, &icon);
		return -ENOMEM;
	}
	bool oom = false;
	n->owner = owner;
	n->client = client;
	n->icon = icon;
	n->title = strdup(title);
	n->text = strdup(text);
	n->icon_path = dup_or_null(icon_path, &oom);
	n->urgency = (uint8_t)urgency;
	n->timeout_ms = timeout_ms;
	if (nactions) {
		n->action_ids = calloc(nactions, sizeof(char *));
		n->action_labels = calloc(nactions, sizeof(char *));
		oom |= !n->action_ids || !n->action_labels;
		for (size_t i = 0; !oom && i < nactions; i++) {
			n->action_ids[i] = strdup(ids[i]);
			n->action_labels[i] = strdup(labels[i]);
			n->nactions = i + 1;
			oom |= !n->action_ids[i] || !n->action_labels[i];
		}
	}
	if (oom || !n->title || !n->text) {
		notification_free(q, n);
		return -ENOMEM;
	}
	if (victim >= 0) /* only now: nothing can fail any more */
		close_at(q, (size_t)victim, NQ_REASON_EXPIRED);
	/* ids are never 0 and never one in use: after wrapping, or after a
	 * restored state whose next id is behind its active ones (at most
	 * NQ_MAX_ACTIVE tries). */
	do {
		n->id = q->next_id++;
		if (q->next_id == 0)
			q->next_id = 1;
	} while (find_index(q, n->id) >= 0);
	n->seq = q->next_seq++;
	n->state = NQ_HELD;
	n->created_wall = wall_ms(q);
	q->active[q->nactive++] = n;
	promote(q, now_ms);
	if (id_out)
		*id_out = n->id;
	return 0;
}

static ssize_t find_index(const nq_queue *q, uint32_t id)
{
	for (size_t i = 0; i < q->nactive; i++)
		if (q->active[i]->id == id)
			return (ssize_t)i;
	return -1;
}

const nq_notification *nq_find(const nq_queue *q, uint32_t id)
{
	ssize_t i = find_index(q, id);
	return i < 0 ? NULL : q->active[i];
}

int nq_restore_icon(nq_queue *q, uint32_t id, void *icon)
{
	ssize_t i = find_index(q, id);
	if (i < 0 || q->active[i]->icon) {
		icon_drop(q, &icon);
		return -ENOENT;
	}
	q->active[i]->icon = icon;
	return 0;
}

int nq_update(nq_queue *q, uint32_t id, const char *title, const char *text, bool set_icon,
		 const char *icon_path, void *icon, uint64_t now_ms)
{
	ssize_t i = find_index(q, id);
	if (i < 0 || (title && !text_ok(title, NQ_MAX_TITLE, false)) ||
	    (text && !text_ok(text, NQ_MAX_TEXT, true)) ||
	    (set_icon && icon_path && strlen(icon_path) > NQ_MAX_ICON_PATH)) {
		icon_drop(q, &icon);
		return i < 0 ? -ENOENT : -EINVAL;
	}
	nq_notification *n = q->active[i];
	char *t = title ? strdup(title) : NULL, *x = text ? strdup(text) : NULL;
	bool oom = (title && !t) || (text && !x);
	char *p = set_icon ? dup_or_null(icon_path, &oom) : NULL;
	if (oom) {
		free(t);
		free(x);
		free(p);
		icon_drop(q, &icon);
		return -ENOMEM;
	}
	if (t) {
		free(n->title);
		n->title = t;
	}
	if (x) {
		free(n->text);
		n->text = x;
	}
	if (set_icon) {
		free(n->icon_path);
		n->icon_path = p;
		icon_drop(q, &n->icon);
		n->icon = icon;
	} else {
		icon_drop(q, &icon);
	}
	if (n->state == NQ_SHOWN) {
		arm_expiry(q, n, now_ms);
		if (q->sink.updated)
			q->sink.updated(q->ud, n);
	}
	return 0;
}

static void to_history(nq_queue *q, nq_notification *n)
{
	/* The history keeps words, not pixels. */
	icon_drop(q, &n->icon);
	if (!history_borrowed(q, q->hhead))
		notification_free(q, q->history[q->hhead]);
	q->history[q->hhead] = n;
	q->hhead = (q->hhead + 1) % q->hcap;
	if (q->hcount < q->hcap)
		q->hcount++;
}

static void close_at(nq_queue *q, size_t i, enum nq_reason reason)
{
	nq_notification *n = q->active[i];
	memmove(q->active + i, q->active + i + 1, (q->nactive - i - 1) * sizeof(*q->active));
	q->nactive--;
	n->was_shown = n->state == NQ_SHOWN;
	n->state = NQ_CLOSED;
	n->reason = (uint8_t)reason;
	n->closed_wall = wall_ms(q);
	n->expires_at = 0;
	to_history(q, n);
	if (q->sink.closed)
		q->sink.closed(q->ud, n);
}

int nq_close(nq_queue *q, uint32_t id, enum nq_reason reason, uint64_t now_ms)
{
	ssize_t i = find_index(q, id);
	if (i < 0)
		return -ENOENT;
	close_at(q, (size_t)i, reason);
	promote(q, now_ms);
	return 0;
}

int nq_invoke(nq_queue *q, uint32_t id, const char *action_id, uint64_t now_ms)
{
	ssize_t i = find_index(q, id);
	if (i < 0)
		return -ENOENT;
	nq_notification *n = q->active[i];
	if (n->state != NQ_SHOWN)
		return -EAGAIN;
	size_t a;
	for (a = 0; a < n->nactions; a++)
		if (strcmp(n->action_ids[a], action_id) == 0)
			break;
	/* "default" is what a click on the body does, even without actions. */
	if (a == n->nactions && strcmp(action_id, "default") != 0)
		return -EINVAL;
	if (q->sink.action)
		q->sink.action(q->ud, n, action_id);
	close_at(q, (size_t)i, NQ_REASON_ACTION);
	promote(q, now_ms);
	return 0;
}

void nq_set_dnd(nq_queue *q, bool on, uint64_t now_ms)
{
	if (q->dnd == on)
		return;
	q->dnd = on;
	if (q->sink.dnd_changed)
		q->sink.dnd_changed(q->ud, on);
	promote(q, now_ms);
}

bool nq_dnd(const nq_queue *q) { return q->dnd; }

void nq_tick(nq_queue *q, uint64_t now_ms)
{
	for (size_t i = 0; i < q->nactive;) {
		nq_notification *n = q->active[i];
		if (n->state == NQ_SHOWN && n->expires_at && n->expires_at <= now_ms)
			close_at(q, i, NQ_REASON_EXPIRED);
		else
			i++;
	}
	promote(q, now_ms);
}

uint64_t nq_next_deadline(const nq_queue *q)
{
	uint64_t d = 0;
	for (size_t i = 0; i < q->nactive; i++) {
		const nq_notification *n = q->active[i];
		if (n->state == NQ_SHOWN && n->expires_at && (!d || n->expires_at < d))
			d = n->expires_at;
	}
	return d;
}

void nq_forget_owner(nq_queue *q, uint64_t owner)
{
	if (!owner)
		return;
	for (size_t i = 0; i < q->nactive; i++)
		if (q->active[i]->owner == owner)
			q->active[i]->owner = 0;
}

size_t nq_active_count(const nq_queue *q) { return q->nactive; }

const nq_notification *nq_active_any(const nq_queue *q, size_t index)
{
	return index < q->nactive ? q->active[index] : NULL;
}

size_t nq_owner_count(const nq_queue *q, uint64_t owner)
{
	size_t n = 0;
	for (size_t i = 0; i < q->nactive; i++)
		n += q->active[i]->owner == owner;
	return n;
}

/* Listing order: shown by appearance (seq), then held by queue order. */
static bool list_before(const nq_notification *a, const nq_notification *b)
{
	if (a->state != b->state)
		return a->state == NQ_SHOWN;
	if (a->state == NQ_SHOWN)
		return a->seq < b->seq;
	return before(a, b);
}

const nq_notification *nq_active(const nq_queue *q, size_t index)
{
	if (index >= q->nactive)
		return NULL;
	/* Selection by rank: n is small and listing is rare. */
	for (size_t i = 0; i < q->nactive; i++) {
		size_t rank = 0;
		for (size_t j = 0; j < q->nactive; j++)
			if (j != i && list_before(q->active[j], q->active[i]))
				rank++;
		if (rank == index)
			return q->active[i];
	}
	return NULL;
}

size_t nq_history_count(const nq_queue *q) { return q->hcount; }

const nq_notification *nq_history(const nq_queue *q, size_t index)
{
	if (index >= q->hcount)
		return NULL;
	return q->history[(q->hhead + q->hcap - 1 - index) % q->hcap];
}

/* --- state that survives a crash --------------------------------------------- */
/* "HVNQ1\0\0\0", u32 next_id, u8 dnd, u32 nactive, u32 nhistory, then the
 * active ones in listing order and the history oldest first, each:
 * u32 id, u8 urgency, u8 state, u8 reason, u8 was_shown, i32 timeout_ms,
 * i64 created, i64 closed, str title, str text, str icon_path, u32 nactions,
 * nactions x (str id, str label); str = u32 length + bytes. Little endian. */
#define NQ_MAGIC "HVNQ1\0\0"

static void w_u32(FILE *f, uint32_t v)
{
	v = htole32(v);
	fwrite(&v, 4, 1, f);
}
static void w_u64(FILE *f, uint64_t v)
{
	v = htole64(v);
	fwrite(&v, 8, 1, f);
}
static void w_str(FILE *f, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	w_u32(f, (uint32_t)n);
	fwrite(s ? s : "", 1, n, f);
}

static void w_notification(FILE *f, const nq_notification *n)
{
	w_u32(f, n->id);
	uint8_t b[4] = {n->urgency, n->state, n->reason, n->was_shown};
	fwrite(b, 1, 4, f);
	w_u32(f, (uint32_t)n->timeout_ms);
	w_u64(f, (uint64_t)n->created_wall);
	w_u64(f, (uint64_t)n->closed_wall);
	w_str(f, n->title);
	w_str(f, n->text);
	w_str(f, n->icon_path);
	w_u32(f, (uint32_t)n->nactions);
	for (size_t i = 0; i < n->nactions; i++) {
		w_str(f, n->action_ids[i]);
		w_str(f, n->action_labels[i]);
	}
}

static int list_cmp(const void *a, const void *b)
{
	const nq_notification *x = *(nq_notification *const *)a, *y = *(nq_notification *const *)b;
	return list_before(x, y) ? -1 : list_before(y, x) ? 1 : 0;
}

size_t nq_active_list(const nq_queue *q, const nq_notification **out)
{
	memcpy(out, q->active, q->nactive * sizeof(*out));
	qsort(out, q->nactive, sizeof(*out), list_cmp);
	return q->nactive;
}

int nq_serialize(const nq_queue *q, uint8_t **out, size_t *len)
{
	/* Sorted once: nq_active(q, i) for every i is cubic, and this runs
	 * for every change. */
	const nq_notification *order[NQ_MAX_ACTIVE];
	nq_active_list(q, order);
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	fwrite(NQ_MAGIC, 1, 8, f);
	w_u32(f, q->next_id);
	fputc(q->dnd, f);
	w_u32(f, (uint32_t)q->nactive);
	w_u32(f, (uint32_t)q->hcount);
	for (size_t i = 0; i < q->nactive; i++)
		w_notification(f, order[i]);
	for (size_t i = q->hcount; i-- > 0;)
		w_notification(f, nq_history(q, i));
	bool err = ferror(f);
	if (fclose(f) != 0 || err) {
		free(buf);
		return -ENOMEM;
	}
	*out = (uint8_t *)buf;
	*len = size;
	return 0;
}

typedef struct nq_r {
	const uint8_t *p, *end;
	bool bad;
} nq_r;

static bool r_take(nq_r *r, void *dst, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return false;
	}
	memcpy(dst, r->p, n);
	r->p += n;
	return true;
}
static uint32_t r_u32(nq_r *r)
{
	uint32_t v = 0;
	r_take(r, &v, 4);
	return le32toh(v);
}
static uint64_t r_u64(nq_r *r)
{
	uint64_t v = 0;
	r_take(r, &v, 8);
	return le64toh(v);
}
/* NULL for an empty string (and on error, with r->bad set). */
static char *r_str(nq_r *r, size_t max)
{
	uint32_t n = r_u32(r);
	if (r->bad || n > max || (size_t)(r->end - r->p) < n || memchr(r->p, 0, n)) {
		r->bad = true;
		return NULL;
	}
	if (n == 0)
		return NULL;
	char *s = strndup((const char *)r->p, n);
	if (!s)
		r->bad = true;
	r->p += n;
	return s;
}

static bool utf8_ok(const char *s) { return !s || hv_utf8_valid(s, strlen(s)); }

static nq_notification *r_notification(nq_r *r)
{
	nq_notification *n = calloc(1, sizeof(*n));
	if (!n) {
		r->bad = true;
		return NULL;
	}
	n->id = r_u32(r);
	uint8_t b[4] = {0};
	r_take(r, b, 4);
	n->urgency = b[0];
	n->state = b[1];
	n->reason = b[2];
	n->was_shown = b[3];
	n->timeout_ms = (int32_t)r_u32(r);
	n->created_wall = (int64_t)r_u64(r);
	n->closed_wall = (int64_t)r_u64(r);
	n->title = r_str(r, NQ_MAX_TITLE);
	n->text = r_str(r, NQ_MAX_TEXT);
	n->icon_path = r_str(r, NQ_MAX_ICON_PATH);
	if (!n->text && !r->bad)
		n->text = strdup("");
	uint32_t na = r_u32(r);
	if (!r->bad && na > NQ_MAX_ACTIONS)
		r->bad = true;
	if (!r->bad && na) {
		n->action_ids = calloc(na, sizeof(char *));
		n->action_labels = calloc(na, sizeof(char *));
		if (!n->action_ids || !n->action_labels)
			r->bad = true;
		for (uint32_t i = 0; !r->bad && i < na; i++) {
			n->action_ids[i] = r_str(r, NQ_MAX_ACTION_ID);
			n->action_labels[i] = r_str(r, NQ_MAX_ACTION_LABEL);
			n->nactions = i + 1;
			if (!n->action_ids[i] || !n->action_labels[i])
				r->bad = true;
		}
	}
	if (!r->bad && (!n->title || !n->text || n->urgency > NQ_URGENCY_CRITICAL || n->id == 0 ||
			n->state > NQ_CLOSED))
		r->bad = true;
	/* Only what a client could have shown: the same checks, strings that
	 * can go out as IPC Strings (UTF-8), and a known close reason. */
	if (!r->bad && nq_validate(n->title, n->text, n->urgency, n->timeout_ms, n->nactions,
				      (const char *const *)n->action_ids,
				      (const char *const *)n->action_labels, NULL) < 0)
		r->bad = true;
	if (!r->bad && (!utf8_ok(n->title) || !utf8_ok(n->text) || !utf8_ok(n->icon_path)))
		r->bad = true;
	for (size_t i = 0; !r->bad && i < n->nactions; i++)
		if (!utf8_ok(n->action_ids[i]) || !utf8_ok(n->action_labels[i]))
			r->bad = true;
	if (!r->bad && n->state == NQ_CLOSED &&
	    (n->reason < NQ_REASON_EXPIRED || n->reason > NQ_REASON_ACTION))
		r->bad = true;
	return n;
}

int nq_restore(nq_queue *q, const uint8_t *data, size_t len, uint64_t now_ms)
{
	if (q->nactive || q->hcount)
		return -EBUSY;
	nq_r r = {data, data + len, false};
	char magic[8];
	if (!r_take(&r, magic, 8) || memcmp(magic, NQ_MAGIC, 8))
		return -EBADMSG;
	uint32_t next_id = r_u32(&r);
	uint8_t dnd = 0;
	r_take(&r, &dnd, 1);
	uint32_t nactive = r_u32(&r), nhistory = r_u32(&r);
	if (r.bad || nactive > NQ_MAX_ACTIVE)
		return -EBADMSG;
	for (uint32_t i = 0; !r.bad && i < nactive; i++) {
		nq_notification *n = r_notification(&r);
		if (r.bad || n->state == NQ_CLOSED) {
			r.bad = true;
			notification_free(q, n);
			break;
		}
		if (find_index(q, n->id) >= 0) {
			/* two on screen with one id: closes would hit the wrong one */
			r.bad = true;
			notification_free(q, n);
			break;
		}
		n->seq = q->next_seq++;
		if (n->state == NQ_SHOWN)
			arm_expiry(q, n, now_ms);
		q->active[q->nactive++] = n;
	}
	for (uint32_t i = 0; !r.bad && i < nhistory; i++) {
		nq_notification *n = r_notification(&r);
		if (r.bad || n->state != NQ_CLOSED) {
			r.bad = true;
			notification_free(q, n);
			break;
		}
		to_history(q, n); /* a smaller history bound keeps the newest */
	}
	if (r.bad || r.p != r.end) {
		/* All or nothing: a partial state would show half a screen. */
		for (size_t i = 0; i < q->nactive; i++)
			notification_free(q, q->active[i]);
		q->nactive = 0;
		for (size_t i = 0; i < q->hcap; i++) {
			notification_free(q, q->history[i]);
			q->history[i] = NULL;
		}
		q->hcount = q->hhead = 0;
		return -EBADMSG;
	}
	q->next_id = next_id ? next_id : 1;
	q->dnd = dnd != 0;
	return 0;
}
