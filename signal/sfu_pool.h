/* signal/sfu_pool.h: the signal node's side of the SFU RPC (docs/RPC.md): a set of onair-sfu
 * processes, each reached over its Unix socket. Where they come from (sfu_origin_t): spawned
 * and supervised by this node (demo and single-host mode); named in the configuration; found
 * in a watched socket directory (every *.sock in it, rescanned every second: new sockets are
 * added, vanished ones removed); added at run time (sfu_pool_add); or discovered in the shared
 * SFU registry, where other nodes of the same host registered theirs (sfu_pool_sync_registry).
 * Every node connects to every SFU it knows: an SFU serves several nodes at once, each node's
 * peers on its own connection (docs/RPC.md "Controllers").
 *
 * Each SFU connection does the hello exchange, keeps requests by id with timeouts, delivers
 * events, and reconnects with backoff. A spawned SFU that exits is restarted. The application
 * learns of SFUs going up and down through on_state, and places rooms with sfu_pool_pick().
 * Everything runs on the node's libuv loop; callbacks never run before the call that caused
 * them returns. */
#ifndef SIGNAL_SFU_POOL_H
#define SIGNAL_SFU_POOL_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct sfu_pool sfu_pool_t;
typedef struct sfu sfu_t;
struct store_sfu;

typedef enum sfu_origin {
    SFU_SPAWNED = 0, /* a child process of this node */
    SFU_CONFIGURED,  /* named in --sfu-sockets */
    SFU_WATCHED,     /* a socket in the --sfu-sockets directory */
    SFU_ADDED,       /* sfu_pool_add */
    SFU_DISCOVERED,  /* another node's SFU, from the shared registry */
} sfu_origin_t;

typedef enum sfu_state {
    SFU_DOWN = 0,   /* not connected (starting, restarting, or unreachable) */
    SFU_CONNECTING, /* connected, hello sent */
    SFU_READY,      /* hello answered: takes requests */
} sfu_state_t;

/* Reply to sfu_call. err is NULL on success, else the RPC error code string ("not_found", ...,
 * "timeout" when no reply came in time, "unavailable" when the SFU went away); msg is the
 * error message. result is borrowed for the call. The SFU may be gone by then: the callback
 * gets its id, not a pointer. */
typedef void (*sfu_reply_cb)(const char *sfu_id, const char *err, const char *msg, json_t *result,
                             void *ud);
/* An event from an SFU (data borrowed for the call). */
typedef void (*sfu_event_cb)(sfu_t *sfu, const char *event, json_t *data, void *ud);
/* An SFU changed state. When it goes from READY to DOWN, every peer on it is gone (its rooms
 * must be renegotiated). resumed: on READY after a reconnect within the SFU's grace period,
 * the rooms it kept (borrowed array of strings), else NULL. */
typedef void (*sfu_state_cb)(sfu_t *sfu, sfu_state_t old_state, sfu_state_t new_state,
                             json_t *resumed, void *ud);

typedef struct sfu_pool_config {
    const char *node_id;     /* sent in hello */
    int spawn;               /* spawn this many SFUs (0: connect to `sockets` only) */
    const char *sfu_bin;     /* spawn: the onair-sfu binary */
    const char *sock_dir;    /* spawn: directory for the sockets (sfu-<i>.sock) */
    const char *ip;          /* spawn: --ip for the SFUs */
    int port_low, port_high; /* spawn: the UDP range, split evenly among the SFUs */
    const char *sockets;     /* comma-separated socket paths of operator-run SFUs, or one
                                directory whose *.sock files are SFUs (watched), or NULL */
    uint32_t call_timeout_ms;
} sfu_pool_config_t;

/* Creates the pool and starts spawning/connecting. Returns NULL with *err set (static text)
 * on a configuration error. The config strings are copied. */
sfu_pool_t *sfu_pool_new(uv_loop_t *loop, const sfu_pool_config_t *cfg, sfu_event_cb on_event,
                         sfu_state_cb on_state, void *ud, const char **err);
/* Stops everything: kills spawned SFUs (SIGTERM), closes connections, fails pending calls with
 * "unavailable", then frees the pool once every handle has closed (on the loop). */
void sfu_pool_close(sfu_pool_t *p);

/* Adds an operator-run SFU at run time and starts connecting (a relative path is made
 * absolute). id names it until its hello says its own sfu_id. Returns it, or NULL when an SFU
 * with this id or socket path is known already or the path is too long for a Unix socket. */
sfu_t *sfu_pool_add(sfu_pool_t *p, const char *id, const char *socket_path);
/* Removes an SFU (any origin; a spawned one is stopped with SIGTERM): its pending calls fail
 * with "unavailable" and on_state reports it DOWN (if it was up), from the loop, after this
 * returns; from now on find/pick/foreach/count no longer see it. Returns 0, or -1 when there
 * is no such SFU. */
int sfu_pool_remove(sfu_pool_t *p, const char *id);
/* The shared SFU registry's records (store_sfu_list): each record whose info JSON names a
 * "socket" that exists on this host and that this pool does not know yet is added
 * (SFU_DISCOVERED); a discovered SFU missing from 3 syncs in a row is removed. */
void sfu_pool_sync_registry(sfu_pool_t *p, const struct store_sfu *sfus, size_t n);

/* The READY, non-draining SFU with the lowest load score, or NULL when none is up. The score is
 * peers (from the last stats, plus the peers asked for since) + 200 x cpu (cores busy: a busy
 * SFU counts as many peers); ties go to the SFU with fewer rooms. An SFU at its max_peers is
 * never picked. */
sfu_t *sfu_pool_pick(sfu_pool_t *p);
sfu_t *sfu_pool_find(sfu_pool_t *p, const char *id);
size_t sfu_pool_count(const sfu_pool_t *p, size_t *ready);

/* Calls fn for each SFU (fn may remove SFUs). */
void sfu_pool_foreach(sfu_pool_t *p, void (*fn)(sfu_t *, void *), void *ud);

const char *sfu_id(const sfu_t *s);
/* Absolute path of the SFU's RPC socket. */
const char *sfu_socket_path(const sfu_t *s);
sfu_state_t sfu_get_state(const sfu_t *s);
sfu_origin_t sfu_origin(const sfu_t *s);
const char *sfu_origin_str(sfu_origin_t o);
/* True for an SFU learnt from the registry: another node registers it, this one does not. */
bool sfu_discovered(const sfu_t *s);
/* Draining, as the SFU last said (hello, stats) or as this node set it since. */
bool sfu_draining(const sfu_t *s);
/* Load from the last stats event: peers, bitrate in/out (bit/s). */
void sfu_load(const sfu_t *s, uint64_t *peers, uint64_t *bitrate_in, uint64_t *bitrate_out);
typedef struct sfu_load_info {
    uint64_t peers, rooms, max_peers, bitrate_in, bitrate_out;
    double cpu; /* process CPU time per wall time over the SFU's last interval (1.0: one core) */
    double score;
    uint64_t overload_drops; /* publisher packets it shed (--media-budget-ms), since it started */
} sfu_load_info_t;
void sfu_get_load(const sfu_t *s, sfu_load_info_t *out);
/* Marks the SFU as draining (sends drain {on}; every node sees it in the SFU's next stats);
 * the reply is logged. */
void sfu_set_draining(sfu_t *s, bool on);

/* Sends method with params (reference stolen; NULL = {}). cb runs exactly once. Returns 0, or
 * -1 when the SFU is not READY (cb is then still called, deferred, with "unavailable"). */
int sfu_call(sfu_t *s, const char *method, json_t *params, sfu_reply_cb cb, void *ud);

/* RPC latency counters for /metrics: count and sum of reply times, and a cumulative histogram
 * with buckets 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000 ms (+Inf = count). */
#define SFU_LAT_BUCKETS 10
typedef struct sfu_pool_stats {
    uint64_t calls, errors, timeouts;
    uint64_t lat_count;
    double lat_sum_ms;
    uint64_t lat_bucket[SFU_LAT_BUCKETS];
    uint64_t restarts;
} sfu_pool_stats_t;
extern const double sfu_lat_bounds_ms[SFU_LAT_BUCKETS];
void sfu_pool_stats(const sfu_pool_t *p, sfu_pool_stats_t *out);

#endif
