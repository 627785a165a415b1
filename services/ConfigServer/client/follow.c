/* follow.c — conf_follow: one setting followed on the caller's loop with no
 * call that waits. The socket connects non-blocking (a frozen
 * ConfigServer's full listen queue cannot stall it), monitor_domain and
 * the first read go out as async requests, and their answers and the
 * change events arrive on the loop whenever ConfigServer gets to them. A
 * lost or absent ConfigServer is retried from a timer with a growing
 * delay; the caller keeps the value it has meanwhile. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <haven/log.h>

#include "ConfigServer.ipc.h"
#include "config-client.h"
#include "internal.h"

struct conf_follow {
	hv_loop *loop;
	char *socket_path; /* NULL: the portal, resolved at each attempt */
	char *domain, *group, *key;
	conf_follow_cb cb;
	void *userdata;
	conf_watcher watcher; /* {on_event, this} */
	hv_conn *conn;	     /* the current connection, or NULL */
	hv_conn *lost;	     /* ended; closed from the timer (not in its own callback) */
	hv_timer *retry;
	unsigned retry_ms;
	bool said_absent; /* "no ConfigServer" logged once, not at every retry */
};

/* Connected and writable, or a negative errno; never waits. */
static int connect_nonblocking(const conf_follow *f, int *out)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int r = 0;
	if (f->socket_path)
		r = strlen(f->socket_path) < sizeof path ? 0 : -ENAMETOOLONG;
	else
		r = hv_portal_path(CONF_PORTAL, path, sizeof path);
	if (r < 0)
		return r;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, f->socket_path ? f->socket_path : path);
	_hv_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* AF_UNIX completes at once or fails: EAGAIN is a full listen queue. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -errno;
	*out = HV_TAKE_FD(fd);
	return 0;
}

static bool is_ours(const conf_follow *f, const conf_event *e)
{
	return !strcmp(e->domain, f->domain) && !strcmp(e->group, f->group) &&
	       (!e->key || !strcmp(e->key, f->key));
}

static void on_event(const conf_event *e, void *userdata)
{
	conf_follow *f = userdata;
	if (!is_ours(f, e))
		return;
	if (e->kind == CONF_CHANGED && e->key)
		f->cb(e->value, f->userdata);
	else if (e->kind == CONF_REMOVED_KEY || e->kind == CONF_REMOVED_GROUP)
		f->cb(NULL, f->userdata);
}

static void on_read(hv_conn *c, int status, const config_server_read_string_value_rep *rep,
		    void *userdata)
{
	conf_follow *f = userdata;
	if (c != f->conn)
		return; /* a connection that ended (or is being closed) */
	if (status < 0) {
		if (hv_conn_last_error(c)->remote)
			hv_log_warn("ConfigServer refused to read %s/%s/%s: %s", f->domain, f->group,
				    f->key, hv_conn_strerror(c, status));
		return; /* a transport error: on_gone follows */
	}
	f->retry_ms = CONF_FOLLOW_RETRY_FIRST_MS;
	f->said_absent = false;
	f->cb(rep->value.present ? rep->value.value : NULL, f->userdata);
}

static void on_monitoring(hv_conn *c, int status, const config_server_monitor_domain_rep *rep,
			  void *userdata)
{
	conf_follow *f = userdata;
	if (c == f->conn && status < 0 && hv_conn_last_error(c)->remote)
		hv_log_warn("ConfigServer refused to report changes to %s: %s", f->domain,
			    hv_conn_strerror(c, status));
}

static void schedule_retry(conf_follow *f)
{
	hv_timer_arm(f->retry, (uint64_t)f->retry_ms * 1000000u, 0);
	f->retry_ms = HV_MIN(f->retry_ms * 2, CONF_FOLLOW_RETRY_MAX_MS);
}

static void on_gone(hv_conn *c, void *userdata)
{
	conf_follow *f = userdata;
	hv_log_info("lost ConfigServer; following %s/%s/%s again once it is back", f->domain,
		    f->group, f->key);
	f->lost = c;
	f->conn = NULL;
	schedule_retry(f);
}

static void drop(hv_conn **c)
{
	if (*c) {
		hv_conn_on_disconnect(*c, NULL, NULL); /* leaving, not lost */
		hv_conn *gone = *c;
		*c = NULL; /* before closing: replies cut short find it gone */
		hv_conn_close(gone);
	}
}

/* One attempt: connect, then monitor and read, both asynchronous. */
static int attempt(conf_follow *f)
{
	int fd = -1;
	int r = connect_nonblocking(f, &fd);
	if (r == 0)
		r = hv_conn_from_fd(f->loop, fd, &f->conn);
	if (r == 0 && (r = conf_serve_events(f->conn, &f->watcher, true)) == 0 &&
	    (r = config_server_monitor_domain_async(f->conn, f->domain, on_monitoring, f)) == 0)
		r = config_server_read_string_value_async(f->conn, f->domain, f->group, f->key,
							  on_read, f);
	if (r < 0) {
		drop(&f->conn);
		if (!f->said_absent)
			hv_log_info("no ConfigServer (%s): %s/%s/%s keeps its value; retrying",
				    strerror(-r), f->domain, f->group, f->key);
		f->said_absent = true;
		return r;
	}
	hv_conn_on_disconnect(f->conn, on_gone, f);
	return 0;
}

static void on_retry(hv_loop *loop, hv_timer *t, void *userdata)
{
	conf_follow *f = userdata;
	drop(&f->lost);
	if (attempt(f) < 0)
		schedule_retry(f);
}

int conf_follow_new(hv_loop *loop, const char *socket_path, const char *domain, const char *group,
		   const char *key, conf_follow_cb cb, void *userdata, conf_follow **out)
{
	if (!loop || !domain || !group || !key || !cb)
		return -EINVAL;
	conf_follow *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	*f = (conf_follow){.loop = loop, .cb = cb, .userdata = userdata,
			  .retry_ms = CONF_FOLLOW_RETRY_FIRST_MS};
	f->watcher = (conf_watcher){on_event, f};
	f->domain = strdup(domain);
	f->group = strdup(group);
	f->key = strdup(key);
	f->socket_path = socket_path ? strdup(socket_path) : NULL;
	int r = -ENOMEM;
	/* The first attempt runs from the loop, at once. */
	if (f->domain && f->group && f->key && (!socket_path || f->socket_path))
		r = hv_loop_add_timer(loop, 0, 0, on_retry, f, &f->retry);
	if (r < 0) {
		conf_follow_free(f);
		return r;
	}
	*out = f;
	return 0;
}

void conf_follow_free(conf_follow *f)
{
	if (!f)
		return;
	hv_timer_free(f->retry);
	drop(&f->conn);
	drop(&f->lost);
	free(f->socket_path);
	free(f->domain);
	free(f->group);
	free(f->key);
	free(f);
}
