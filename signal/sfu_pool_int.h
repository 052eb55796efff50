/* signal/sfu_pool_int.h: the SFU pool's internals, shared by sfu_pool.c (connections, calls,
 * spawning) and sfu_pool_set.c (membership: add/remove, the watched directory, the registry,
 * placement). Not for other modules: use sfu_pool.h. */
#ifndef SIGNAL_SFU_POOL_INT_H
#define SIGNAL_SFU_POOL_INT_H
#include "../common/buf.h"
#include "../common/list.h"
#include "sfu_pool.h"

#define SFU_SOCK_PATH_MAX 107 /* sun_path is 108 bytes with the NUL */

typedef struct call {
    list_t node;
    int64_t id;
    uint64_t start_us;
    uint64_t deadline_ms;
    sfu_reply_cb cb;
    void *ud;
    char *sfu_id;
    const char *err; /* deferred failures: the error to report */
} call_t;

struct sfu {
    sfu_pool_t *pool;
    list_t node;
    char *id;
    char *sock_path; /* absolute */
    sfu_origin_t origin;
    sfu_state_t state;
    bool draining;
    bool closing;    /* removed or the pool is closing: handles are being closed */
    bool removing;   /* sfu_pool_remove: shut down from the retry timer */
    int drain_calls; /* drain requests in flight: stats do not override draining meanwhile */
    unsigned seen;   /* watched: the directory scan that last saw its socket */
    unsigned synced; /* the registry sync that last listed it */
    int absent;      /* discovered: registry syncs in a row without it */
    /* connection */
    uv_pipe_t pipe;
    bool pipe_active; /* initialised and not yet closed */
    uv_connect_t connect_req;
    buf_t rbuf;
    int64_t next_id;
    int64_t hello_id;
    list_t pending;
    uv_timer_t retry_timer;
    uint64_t retry_ms;
    /* spawn mode */
    bool spawned;
    uv_process_t proc;
    bool proc_running;
    bool proc_active;
    char ports[32];
    uv_timer_t respawn_timer;
    uint64_t respawn_ms;
    uint64_t started_ms;
    int handles; /* open handles; the sfu is freed at 0 when closing */
    /* load from hello and stats */
    uint64_t peers, rooms, max_peers, bitrate_in, bitrate_out;
    uint64_t asked; /* peers asked for (publisher.offer, subscriber.create) since the stats */
    double cpu;
    uint64_t overload_drops; /* publisher packets the SFU shed, since it started */
};

struct sfu_pool {
    uv_loop_t *loop;
    list_t sfus;
    char *node_id;
    char *sfu_bin;
    char *ip;
    uint32_t call_timeout_ms;
    sfu_event_cb on_event;
    sfu_state_cb on_state;
    void *ud;
    uv_timer_t sweep;
    list_t deferred; /* calls failed before they were sent, answered on the next sweep */
    bool closing;
    int handles;
    sfu_pool_stats_t stats;
    /* sfu_pool_set.c */
    char *watch_dir; /* --sfu-sockets DIR (absolute), or NULL */
    uv_timer_t scan_timer;
    bool scan_active;
    bool scan_failed; /* the last scan could not read the directory (logged once) */
    unsigned scan_gen, sync_gen;
};

/* sfu_pool.c */
/* A new SFU entry (not connected yet), appended to the pool. path must be absolute. */
sfu_t *sfu__new(sfu_pool_t *p, const char *id, const char *path, sfu_origin_t origin);
void sfu__connect(sfu_t *s);
/* Fails its calls, reports it DOWN (unless the pool is closing), closes its connection, stops
 * its process and timers; it is freed once they have closed. */
void sfu__shutdown(sfu_t *s);
/* Marks s removing; sfu__shutdown runs from the loop (its retry timer), after the caller. */
void sfu__remove_later(sfu_t *s);
/* Frees the pool once it is closing and its last handle has closed. */
void pool__maybe_free(sfu_pool_t *p);

/* sfu_pool_set.c */
/* The entry with this socket path, closing and removed ones excluded; NULL when none. */
sfu_t *sfu__find_path(sfu_pool_t *p, const char *path);
/* Absolute form of path into out (the current directory prepended). Returns 0, or -1 when it
 * does not fit a Unix socket address. */
int sfu__abs_path(const char *path, char *out, size_t outlen);
/* Directory mode: when sockets names one directory, watch it. Returns 1 (watching), 0 (not a
 * directory: the caller parses the list) or -1 with *err set. */
int pool__watch_init(sfu_pool_t *p, const char *sockets, const char **err);
void pool__watch_close(sfu_pool_t *p);

#endif
