/* process.c — RequestServer's process around its handlers: the option
 * values and table, and main.c's service hooks (libcurl, its multi handle
 * on the service's loop and the share handle every request uses; then
 * their end). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/service.h>

#include "RequestServer.h"

struct rqs_service rqs;

struct rqs_options rqs_opts = {
	.ca_file = "/etc/ssl/certs/ca-certificates.crt",
	.connect_timeout_ms = 30000,
	.idle_timeout_ms = 60000,
	.max_host_connections = 6,
	.max_connections = 256,
};

const hv_option rqs_option_table[] = {
	HV_OPT_STRING("lookup-socket", "PATH", &rqs_opts.lookup_socket,
		      "LookupServer's socket (default: the \"lookup\" portal)"),
	HV_OPT_STRING("ca-file", "FILE", &rqs_opts.ca_file,
		      "the CA store (default /etc/ssl/certs/ca-certificates.crt)"),
	HV_OPT_STRING("file-root", "DIR", &rqs_opts.file_root, "file:// may read under DIR (default: nothing)"),
	HV_OPT_STRING("cookie-file", "FILE", &rqs_opts.cookie_file,
		      "keep persistent cookies in FILE across restarts (\"default\":\n"
		      "$XDG_DATA_HOME/haven/RequestServer/cookies.txt; without it: in memory only)"),
	HV_OPT_STRING("gemini-known-hosts", "FILE", &rqs_opts.gemini_known_hosts,
		      "remember the keys of gemini:// servers (trust on first use) in FILE\n"
		      "(\"default\": $XDG_DATA_HOME/haven/RequestServer/gemini-known-hosts;\n"
		      "without it: in memory only)"),
	HV_OPT_STRING("proxy", "URL", &rqs_opts.proxy, "the default proxy (default: $https_proxy,\n$http_proxy, $all_proxy; $no_proxy)"),
	HV_OPT_INT("connect-timeout", "MS", &rqs_opts.connect_timeout_ms, 1, 600000,
		   "default connect timeout (30000)"),
	HV_OPT_INT("idle-timeout", "MS", &rqs_opts.idle_timeout_ms, 1000, 3600000,
		   "default: a transfer that receives nothing this long ends (60000)"),
	HV_OPT_INT("max-host-connections", "N", &rqs_opts.max_host_connections, 1, 1000,
		   "connections to one host at once (6)"),
	HV_OPT_INT("max-connections", "N", &rqs_opts.max_connections, 1, 100000,
		   "connections at once (256)"),
	{0},
};

char rqs_pledge[96] = "stdio rpath inet unix recvfd";

/* A file the service keeps (--cookie-file, --gemini-known-hosts):
 * "default" is $XDG_DATA_HOME/haven/RequestServer/NAME; its directory is
 * made, unveiled rwc and wpath cpath promised (only then: without such a
 * file the service writes nothing). */
static int kept_file(const char **file, const char *name, const char **dir)
{
	static char dirs[2][PATH_MAX];
	static unsigned ndirs;
	char *owned = NULL;
	if (!*file)
		return 0;
	if (!strcmp(*file, "default")) {
		_hv_free_ char *sub = NULL;
		if (asprintf(&sub, "haven/RequestServer/%s", name) < 0)
			return -ENOMEM;
		int r = hv_xdg_path(HV_XDG_DATA, sub, &owned);
		if (r < 0)
			return hv_log_errno(r, "no $XDG_DATA_HOME or $HOME for %s", name);
		*file = owned; /* kept for the process's life */
	}
	char *d = dirs[ndirs++ % 2];
	snprintf(d, PATH_MAX, "%s", *file);
	*dir = dirname(d); /* the file is replaced by rename */
	int r = hv_mkdir_p(*dir, 0700);
	if (r < 0)
		return hv_log_errno(r, "creating %s", *dir);
	if (!strstr(rqs_pledge, "wpath"))
		strcat(rqs_pledge, " wpath cpath");
	return 0;
}

int rqs_replace_kept_file(const char *path, hv_fill_fn fill, void *userdata)
{
	char dir[PATH_MAX], base[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	int dfd = open(dirname(dir), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int r = hv_replace_file_at(dfd, basename(base), 0600, 0, fill, userdata, NULL);
	close(dfd);
	return r;
}

int rqs_setup(hv_server *srv)
{
	/* A client that closes its end of the body pipe is an EPIPE to
	 * handle, not a signal that ends every client's transfers. */
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return hv_log_errno(-EIO, "initialising libcurl");
	rqs.share = curl_share_init();
	if (!rqs.share)
		return -ENOMEM;
	/* One loop thread: no lock functions. */
	curl_share_setopt(rqs.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
	curl_share_setopt(rqs.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(rqs.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(rqs.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	int r = kept_file(&rqs_opts.cookie_file, "cookies.txt", &rqs_opts.cookie_dir);
	if (r < 0 || (r = kept_file(&rqs_opts.gemini_known_hosts, "gemini-known-hosts", &rqs_opts.gemini_dir)) < 0)
		return r;
	r = rqs_cookies_load();
	return r < 0 ? r : rqs_multi_open(hv_server_loop(srv));
}

void rqs_teardown(int exit_code)
{
	(void)exit_code;
	rqs_multi_close();
	rqs_cookies_save();
	if (rqs.share)
		curl_share_cleanup(rqs.share);
	rqs.share = NULL;
	rqs_resolve_close();
	rqs_gemini_cleanup();
	rqs_tofu_free();
	curl_global_cleanup();
}
