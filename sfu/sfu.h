/* sfu/sfu.h: the onair-sfu process context, shared by the sfu/ modules. One sfu_t per process,
 * created by main.c; everything runs on its one GLib main context (docs/SFU.md). */
#ifndef SFU_SFU_H
#define SFU_SFU_H
#include "../proto/rpc.h"
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define SFU_MAX_IPS 8

typedef struct sfu_cfg {
    const char *rpc_path;
    const char *ips;      /* "--ip a[,b]" as given */
    const char *ports;    /* "--ports LOW-HIGH" as given */
    const char *id;       /* --id, default "sfu-<pid>" */
    long grace_ms;        /* keep peers this long after the controller left */
    long stats_ms;        /* periodic stats event (0: off) */
    long pli_interval_ms; /* at most one upstream keyframe request per this interval */
    long max_peers;
    long remb_bps;        /* the REMB we send publishers */
    long start_kbps;      /* x-google-start-bitrate in answers to publishers (0: none) */
    long fanout_threads;  /* helper threads for the fan-out, besides the main thread */
    long fanout_min;      /* rooms with fewer subscribers fan out on the main thread only */
    long media_budget_ms; /* longer than this in one loop iteration: drop publisher media */
    long test_loss_in;    /* testing only: % of incoming RTP dropped (no netem here) */
    long test_loss_out;   /* testing only: % of outgoing RTP dropped */
    /* parsed */
    char ip[SFU_MAX_IPS][64];
    int n_ips;
    unsigned port_min, port_max;
} sfu_cfg_t;

typedef struct rpc_server rpc_server_t;
typedef struct fanout fanout_t;
typedef struct dtls_ctx dtls_ctx_t;
typedef struct room room_t;
typedef struct peer peer_t;
typedef struct pub_media pub_media_t;
typedef struct sub_media sub_media_t;

typedef struct sfu {
    sfu_cfg_t cfg;
    char id[160];
    GMainContext *ctx;   /* borrowed: the default context */
    GMainLoop *loop;     /* owned */
    rpc_server_t *rpc;   /* owned */
    fanout_t *fanout;    /* owned: the fan-out and its helper threads (router.c) */
    dtls_ctx_t *dtls;    /* owned: the process certificate and SSL_CTX */
    void *srtp_sentinel; /* owned srtp_t kept alive for the process life (c-deps.md 7) */
    GHashTable *rooms;   /* id -> room_t*; the table owns the rooms */
    GHashTable *peers;   /* id -> peer_t*; the table holds one reference */
    bool draining;
    /* controllers (api.c): one per signal node, named by the node id of its hello */
    GHashTable *ctls;  /* node GQuark -> ctl (owned): connected or in its grace period */
    GHashTable *conns; /* RPC connection id -> ctl (borrowed): connections that said hello */
    bool quiet;        /* shutdown: no events */
    guint stats_timer;
    guint tick_timer; /* periodic RTCP work (receiver reports, NACK retries, coalesced PLIs) */
    /* overload: the main loop's last wake-up (main.c), publisher RTP dropped for being late */
    uint64_t loop_mark_us;
    uint64_t overload_drops;
    uint64_t overload_logged_us;
    /* process totals for the load figures */
    uint64_t bytes_in, bytes_out, last_bytes_in, last_bytes_out;
    uint64_t last_stats_ms, last_cpu_us;
    double bitrate_in, bitrate_out, cpu;
    /* events raised while a request is handled go out after its response */
    GArray *deferred; /* api.c's held events, or NULL outside a request */
} sfu_t;

/* Sends an event (api.c). One that names a known peer ("peer" in data) goes to the peer's
 * owner (the controller whose node created it), any other to every controller; dropped when
 * the addressee is not connected. Steals data. */
void sfu_emit(sfu_t *s, rpc_event_t ev, json_t *data);

/* Room and peer lookups; NULL when absent. Borrowed pointers. */
room_t *sfu_room_find(sfu_t *s, const char *id);
peer_t *sfu_peer_find(sfu_t *s, const char *id);

/* Testing only (--test-loss-in/out): true when this packet should be dropped. */
static inline bool sfu_test_drop(long pct)
{
    static _Thread_local uint32_t x = 2463534242u; /* xorshift32: cheap, deterministic */
    if (pct <= 0) {
        return false;
    }
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x % 100 < (uint32_t)pct;
}

/* For one publisher RTP packet (peer.c): true when it must be shed because the main loop has
 * spent more than the media budget since its last wake-up (the fan-out is behind; media is
 * shed until the loop has run its timers, RPC and handshakes again). A true answer counts the
 * packet in overload_drops and logs a warning at most every 5 s. */
bool sfu_shed_media(sfu_t *s);

/* Closes every peer and room (grace expiry, shutdown). */
void sfu_close_all(sfu_t *s, const char *reason);

#endif
