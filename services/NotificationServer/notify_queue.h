/* notify_queue.h — what NotificationServer decides: which notifications are
 * on screen, which wait, when they expire, and what is remembered.
 *
 * Model (one "screen", drawn later by WindowServer; `notify watch` prints it):
 *  - At most max_visible non-critical notifications are shown at once; the
 *    others wait in a queue ordered by urgency, then arrival. Critical ones
 *    are shown at once, whatever the count: they never wait.
 *  - Do Not Disturb holds every new non-critical notification; when it ends,
 *    the held ones are shown in queue order as slots allow. Critical ones
 *    pass through.
 *  - A shown notification expires after its timeout (counted from when it
 *    appeared; -1 = the urgency's default, 0 = never); closed ones go to a
 *    bounded history with the reason.
 *  - Invoking an action (what a click does) tells the owner, then closes it.
 *  - Fair share (max_per_client): a client (the caller's key for whoever
 *    asked: a process) may hold max_per_client active notifications. A
 *    critical one from a client at its cap replaces the client's own
 *    oldest non-critical one; when all NQ_MAX_ACTIVE slots are taken, one
 *    from a client under its cap replaces the oldest non-critical one of
 *    the client holding the most (closed as expired) — if it holds more
 *    than the newcomer will, or the new one is critical. So one client
 *    can neither take the queue from the others nor keep out their
 *    critical ones, and equal holders never swap notifications; -ENOSPC
 *    for a non-critical one when no holder has more, for a critical one
 *    only when nothing non-critical is left to replace.
 *
 * Time is passed in (monotonic ms) so tests drive it; the caller arms a timer
 * for nq_next_deadline(). Every change is reported to the sink, in the
 * order it happened. No IPC in here. Failures are negative errnos.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <haven/util.h>

enum nq_urgency {
	NQ_URGENCY_LOW = 0,
	NQ_URGENCY_NORMAL = 1,
	NQ_URGENCY_CRITICAL = 2,
};

enum nq_state {
	NQ_HELD = 0,  /* queued: no slot yet, or Do Not Disturb */
	NQ_SHOWN = 1, /* on screen */
	NQ_CLOSED = 2,
};

/* Close reasons (freedesktop's 1-3, plus ours). */
enum nq_reason {
	NQ_REASON_EXPIRED = 1,
	NQ_REASON_DISMISSED = 2, /* closed by someone other than its owner (the user) */
	NQ_REASON_CLOSED = 3,    /* closed by its owner */
	NQ_REASON_ACTION = 4,    /* an action was invoked */
};

#define NQ_MAX_ACTIVE 256u
#define NQ_MAX_PER_CLIENT 64u /* NotificationServer's max_per_client */
#define NQ_MAX_ACTIONS 8u
#define NQ_MAX_TITLE 256u
#define NQ_MAX_TEXT 4096u
#define NQ_MAX_ACTION_ID 64u
#define NQ_MAX_ACTION_LABEL 128u
#define NQ_MAX_ICON_PATH 4096u
#define NQ_MAX_TIMEOUT_MS (24 * 3600 * 1000)
#define NQ_DEFAULT_VISIBLE 3u
#define NQ_DEFAULT_HISTORY 100u

typedef struct nq_notification {
	uint32_t id;	/* > 0 */
	uint64_t owner; /* the caller's token for the owning client; 0 = gone */
	uint64_t client; /* whom it is charged to (fair share); kept when the owner goes */
	char *title, *text;
	char *icon_path; /* NULL if none */
	void *icon;      /* caller's icon object (e.g. a bitmap), freed by icon_free */
	uint8_t urgency;
	size_t nactions;
	char **action_ids, **action_labels;
	int32_t timeout_ms; /* as asked */
	/* Kept by the queue: */
	uint8_t state;
	uint8_t reason;	       /* when closed */
	bool was_shown;	       /* when closed: it was on screen until then */
	uint64_t seq;	       /* arrival order */
	uint64_t expires_at;   /* monotonic ms; 0 = never (only when shown) */
	int64_t created_wall;  /* wall-clock ms */
	int64_t closed_wall;   /* wall-clock ms */
} nq_notification;

typedef struct nq_sink {
	void (*shown)(void *ud, const nq_notification *n);
	void (*updated)(void *ud, const nq_notification *n);
	/* n->state is CLOSED, n->reason says why; n is in the history now. */
	void (*closed)(void *ud, const nq_notification *n);
	/* To the owner: action chosen (called before the close). */
	void (*action)(void *ud, const nq_notification *n, const char *action_id);
	void (*dnd_changed)(void *ud, bool on);
} nq_sink;

typedef struct nq_config {
	unsigned max_visible;	    /* non-critical on screen at once; 0 = default */
	unsigned history_max;	    /* 0 = default */
	int32_t default_timeout_ms[3]; /* per urgency; < 0 = built-in default */
	unsigned max_per_client;       /* fair share (see above); 0 = none */
	void (*icon_free)(void *icon);
} nq_config;

typedef struct nq_queue nq_queue;

int nq_new(const nq_config *cfg, const nq_sink *sink, void *ud, nq_queue **out);
void nq_free(nq_queue *q);
HV_DEFINE_CLEANUP(nq_queue *, nq_free)
/* A copy of q for a dry run: the same state and settings, no sink (its
 * changes tell nobody), icons shared with q but not owned (it never frees
 * one, even one given to it), and the history borrowed from q: free the
 * copy with nq_free before q changes. */
int nq_clone(const nq_queue *q, nq_queue **out);
/* The wall-clock time (ms) the next changes are stamped with (created,
 * closed), so a dry run and the change itself agree; 0: the clock. */
void nq_set_wall(nq_queue *q, int64_t wall_ms);
/* The id the next notification gets; move it forward (never back) to
 * next_id, so an id a dry run handed out is never handed out again. */
uint32_t nq_next_id(const nq_queue *q);
void nq_skip_ids(nq_queue *q, uint32_t next_id);

/* Check what a client sends: lengths, urgency, timeout, actions (ids
 * non-empty, unique). 0 or -EINVAL with *why set to a static sentence. */
int nq_validate(const char *title, const char *text, unsigned urgency, int32_t timeout_ms,
		   size_t nactions, const char *const *ids, const char *const *labels,
		   const char **why);
/* New notification from copies of the strings (icon is taken, also on
 * failure), owned by `owner` and charged to `client`. -EINVAL for what
 * nq_validate refuses or an icon path over NQ_MAX_ICON_PATH; -ENOSPC when
 * NQ_MAX_ACTIVE are active, -EDQUOT when the client holds max_per_client
 * (with fair share, only when nothing can be replaced: see above). */
int nq_show(nq_queue *q, uint64_t owner, uint64_t client, const char *title, const char *text,
	    const char *icon_path, void *icon, unsigned urgency, int32_t timeout_ms,
	    size_t nactions, const char *const *ids, const char *const *labels, uint64_t now_ms,
	    uint32_t *id_out);
/* Give a restored notification (nq_restore) back its icon, which its
 * saved state cannot hold: no event, nothing else changes. icon is taken;
 * -ENOENT (icon freed) if id is not active or has an icon already. */
int nq_restore_icon(nq_queue *q, uint32_t id, void *icon);
/* Replace title/text (NULL keeps) and, if set_icon, the icon; a shown one
 * restarts its timeout. -ENOENT if not active. icon is taken. */
int nq_update(nq_queue *q, uint32_t id, const char *title, const char *text, bool set_icon,
		 const char *icon_path, void *icon, uint64_t now_ms);
int nq_close(nq_queue *q, uint32_t id, enum nq_reason reason, uint64_t now_ms);
/* A click on action_id: -ENOENT (not active), -EAGAIN (held: not on screen),
 * -EINVAL (no such action). */
int nq_invoke(nq_queue *q, uint32_t id, const char *action_id, uint64_t now_ms);
void nq_set_dnd(nq_queue *q, bool on, uint64_t now_ms);
bool nq_dnd(const nq_queue *q);
/* Expire what is due and show what may now be shown. */
void nq_tick(nq_queue *q, uint64_t now_ms);
/* Next expiry (monotonic ms), or 0 when nothing will expire. */
uint64_t nq_next_deadline(const nq_queue *q);
/* The owner is gone: its notifications stay, their events go nowhere. */
void nq_forget_owner(nq_queue *q, uint64_t owner);

/* Active ones (shown first in the order they appeared, then held in queue
 * order); NULL past the end. */
const nq_notification *nq_active(const nq_queue *q, size_t index);
size_t nq_active_count(const nq_queue *q);
/* All of them in that order into out (room for nq_active_count): sorted
 * once, where nq_active(q, i) for every i ranks each (cubic). Returns
 * how many. */
size_t nq_active_list(const nq_queue *q, const nq_notification **out);
/* The same in no particular order, in constant time (nq_active ranks). */
const nq_notification *nq_active_any(const nq_queue *q, size_t index);
/* Active ones owned by `owner`. */
size_t nq_owner_count(const nq_queue *q, uint64_t owner);
const nq_notification *nq_find(const nq_queue *q, uint32_t id);
/* History, newest first. */
const nq_notification *nq_history(const nq_queue *q, size_t index);
size_t nq_history_count(const nq_queue *q);

/* The whole state (active ones, history, Do Not Disturb, next id) as bytes,
 * malloc'd into *out; icons are not kept (a desktop redraws without them). */
int nq_serialize(const nq_queue *q, uint8_t **out, size_t *len);
/* Load a serialized state into an empty queue (owners are gone: 0). Shown
 * ones are shown again with their timeout restarted from now_ms. No sink
 * calls. -EBADMSG when data is not a whole state. */
int nq_restore(nq_queue *q, const uint8_t *data, size_t len, uint64_t now_ms);

const char *nq_urgency_name(unsigned urgency);
int nq_urgency_parse(const char *s); /* "low"|"normal"|"critical" -> value, else -EINVAL */
const char *nq_reason_name(unsigned reason);
