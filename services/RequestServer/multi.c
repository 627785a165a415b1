/* multi.c — libcurl's multi interface driven by the service's loop: libcurl
 * says which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call it
 * back (CURLMOPT_TIMERFUNCTION); the loop's fd watches and one timer do
 * it. No thread, no polling: curl_multi_socket_action runs only when a
 * socket is ready or libcurl's timeout expires. */
#include <errno.h>

#include <haven/log.h>
#include <haven/loop.h>

#include "RequestServer.h"

static void check_done(void)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(rqs.multi, &left)))
		if (m->msg == CURLMSG_DONE) {
			struct rqs_request *r = NULL;
			CURLcode code = m->data.result;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			/* m is invalid after the handle is removed. */
			rqs_multi_remove(r);
			rqs_request_done(r, code);
		}
}

static void on_socket_ready(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	(void)loop, (void)userdata;
	int action = 0, running;
	if (events & HV_IO_READ)
		action |= CURL_CSELECT_IN;
	if (events & HV_IO_WRITE)
		action |= CURL_CSELECT_OUT;
	if (events & HV_IO_ERROR)
		action |= CURL_CSELECT_ERR;
	curl_multi_socket_action(rqs.multi, fd, action, &running);
	check_done();
}

static void on_timeout(hv_loop *loop, hv_timer *t, void *userdata)
{
	(void)loop, (void)t, (void)userdata;
	int running;
	curl_multi_socket_action(rqs.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

/* CURLMOPT_SOCKETFUNCTION: the watch of a socket lives in its socketp. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	(void)easy, (void)userp;
	hv_watch *w = socketp;
	if (what == CURL_POLL_REMOVE) {
		hv_watch_free(w);
		curl_multi_assign(rqs.multi, s, NULL);
		return 0;
	}
	uint32_t ev = (what & CURL_POLL_IN ? HV_IO_READ : 0) | (what & CURL_POLL_OUT ? HV_IO_WRITE : 0);
	if (w)
		return hv_watch_set_events(w, ev) < 0 ? -1 : 0;
	int r = hv_loop_add_fd(rqs.loop, s, ev, on_socket_ready, NULL, &w);
	if (r < 0) {
		hv_log_errno(r, "watching libcurl's socket %d", s);
		return -1;
	}
	curl_multi_assign(rqs.multi, s, w);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer, 0 is "as soon as possible"
 * (the next loop iteration: libcurl must not be re-entered from here). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi, (void)userp;
	if (timeout_ms < 0) {
		hv_timer_disarm(rqs.timer);
		return 0;
	}
	uint64_t ns = timeout_ms ? (uint64_t)timeout_ms * 1000000u : 1;
	return hv_timer_arm(rqs.timer, ns, 0) < 0 ? -1 : 0;
}

int rqs_multi_open(hv_loop *loop)
{
	rqs.loop = loop;
	int r = hv_loop_add_timer(loop, 0, 0, on_timeout, NULL, &rqs.timer);
	if (r < 0)
		return r;
	hv_timer_disarm(rqs.timer);
	rqs.multi = curl_multi_init();
	if (!rqs.multi)
		return -ENOMEM;
	curl_multi_setopt(rqs.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(rqs.multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(rqs.multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(rqs.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)rqs_opts.max_host_connections);
	curl_multi_setopt(rqs.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)rqs_opts.max_connections);
	return 0;
}

void rqs_multi_close(void)
{
	if (rqs.multi)
		curl_multi_cleanup(rqs.multi);
	rqs.multi = NULL;
	hv_timer_free(rqs.timer);
	rqs.timer = NULL;
}

int rqs_multi_add(struct rqs_request *r)
{
	CURLMcode m = curl_multi_add_handle(rqs.multi, r->easy);
	if (m != CURLM_OK)
		return -ENOMEM;
	r->state = RQS_RUNNING;
	rqs.running++;
	return 0;
}

void rqs_multi_remove(struct rqs_request *r)
{
	if (r->state != RQS_RUNNING)
		return;
	curl_multi_remove_handle(rqs.multi, r->easy);
	r->state = RQS_IDLE;
	rqs.running--;
}
