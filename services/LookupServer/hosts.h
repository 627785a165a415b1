/* hosts.h — the hosts file, indexed: loaded once and again whenever it
 * changes (inotify on its directory, so an editor's rename is seen too),
 * never scanned per lookup. Names map to addresses, addresses to the
 * first name given for them (as glibc's files module answers PTR). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <haven/loop.h>

typedef struct lks_hosts lks_hosts;

/* Load path and watch it on loop; a missing file is an empty table (it
 * may appear later). on_change runs after every reload. */
int lks_hosts_open(hv_loop *loop, const char *path, void (*on_change)(void *), void *userdata,
		   lks_hosts **out);
void lks_hosts_free(lks_hosts *h);

/* The addresses of a canonical name ("host.example."), of family
 * AF_INET or AF_INET6: up to max, in file order, 4 or 16 bytes each at
 * addrs. Returns how many; 0 when the name has none of that family. And
 * whether the name is in the file at all (for NoData vs. asking DNS). */
size_t lks_hosts_find(const lks_hosts *h, const char *name, int family, uint8_t (*addrs)[16],
		      size_t max, int *known);
/* The first name of an address (4 or 16 bytes), or NULL. */
const char *lks_hosts_reverse(const lks_hosts *h, int family, const uint8_t *addr);
size_t lks_hosts_count(const lks_hosts *h);
uint64_t lks_hosts_reloads(const lks_hosts *h);
