/* signal/sfu_pool.h: the signal node's side of the SFU RPC (docs/RPC.md): a set of onair-sfu
 * processes, each reached over its Unix socket, either spawned and supervised by this node
 * (demo and single-host mode) or run by the operator and named in the configuration.
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

typedef enum sfu_state {
    SFU_DOWN = 0,   /* not connected (starting, restarting, or unreachable) */
    SFU_CONNECTING, /* connected, hello sent */
    SFU_READY,      /* hello answered: takes requests */
} sfu_state_t;

/* Reply to sfu_call. err is NULL on success, else the RPC error code string ("not_found", ...,
 * "timeout" when no reply came in time, "unavailable" when the SFU went away); msg is the
 * error message. result is borrowed for the call. The SFU may be gone by then: the callback
 * gets its id, not a pointer. */
typedef void (*sfu_reply_cb)(const char *sfu_id, const char *err, const char *msg,
                             json_t *result, void *ud);
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
    const char *sockets;     /* comma-separated socket paths of operator-run SFUs, or NULL */
    uint32_t call_timeout_ms;
} sfu_pool_config_t;

/* Creates the pool and starts spawning/connecting. Returns NULL with *err set (static text)
 * on a configuration error. The config strings are copied. */
sfu_pool_t *sfu_pool_new(uv_loop_t *loop, const sfu_pool_config_t *cfg, sfu_event_cb on_event,
                         sfu_state_cb on_state, void *ud, const char **err);
/* Stops everything: kills spawned SFUs (SIGTERM), closes connections, fails pending calls with
 * "unavailable", then frees the pool once every handle has closed (on the loop). */
void sfu_pool_close(sfu_pool_t *p);

/* The least loaded READY, non-draining SFU (by peers), or NULL when none is up. */
sfu_t *sfu_pool_pick(sfu_pool_t *p);
sfu_t *sfu_pool_find(sfu_pool_t *p, const char *id);
size_t sfu_pool_count(const sfu_pool_t *p, size_t *ready);

/* Calls fn for each SFU. */
void sfu_pool_foreach(sfu_pool_t *p, void (*fn)(sfu_t *, void *), void *ud);

const char *sfu_id(const sfu_t *s);
const char *sfu_socket_path(const sfu_t *s);
sfu_state_t sfu_get_state(const sfu_t *s);
bool sfu_draining(const sfu_t *s);
/* Load from the last stats event: peers, bitrate in/out (bit/s). */
void sfu_load(const sfu_t *s, uint64_t *peers, uint64_t *bitrate_in, uint64_t *bitrate_out);
/* Marks the SFU as draining (sends drain {on}); the reply is logged. */
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
