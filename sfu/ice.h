/* sfu/ice.h: libnice glue for one peer connection: a full ICE agent (RFC 5245 mode, trickle,
 * consent freshness) with one stream and one component (BUNDLE + rtcp-mux), host candidates on
 * the configured addresses and port range only (no UPnP, no ICE-TCP). Callbacks run on the
 * GLib main context. */
#ifndef SFU_ICE_H
#define SFU_ICE_H
#include "sfu.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ice ice_t;

typedef enum ice_state {
    ICE_CHECKING = 0,
    ICE_CONNECTED, /* a working pair: media can flow */
    ICE_FAILED,
} ice_state_t;

typedef struct ice_cbs {
    /* A local candidate, "candidate:..." (no "a="), or NULL when gathering is done. */
    void (*on_candidate)(void *ud, const char *cand);
    void (*on_state)(void *ud, ice_state_t st);
    /* A datagram that is not STUN. buf may be modified in place (len bytes). */
    void (*on_recv)(void *ud, uint8_t *buf, size_t len);
} ice_cbs_t;

/* Creates the agent (controlling or controlled) with its local credentials; gathering waits
 * for ice_gather. Returns NULL with a message in err. */
ice_t *ice_new(sfu_t *s, bool controlling, const ice_cbs_t *cbs, void *ud, const char *log_id,
               char *err, size_t errlen);
/* Gathers host candidates; those found during the call are reported through on_candidate
 * before it returns. Returns 0, or -1 with a message in err (ports exhausted). */
int ice_gather(ice_t *ice, char *err, size_t errlen);
/* Detaches every callback and frees the agent. Call from an idle callback, not from inside one
 * of the agent's own callbacks. NULL is ignored. */
void ice_free(ice_t *ice);
/* Stops callbacks at once (the agent itself goes with ice_free). */
void ice_stop(ice_t *ice);

/* The local ufrag and password (borrowed, valid until the next restart). */
const char *ice_local_ufrag(const ice_t *ice);
const char *ice_local_pwd(const ice_t *ice);
/* The local candidates as "candidate:..." strings: a NULL-terminated array to g_strfreev. */
char **ice_local_candidates(ice_t *ice);
bool ice_gathering_done(const ice_t *ice);

/* Sets the remote credentials. Returns 0 or -1. */
int ice_set_remote(ice_t *ice, const char *ufrag, const char *pwd);
/* Adds one remote candidate, "a=candidate:..." or "candidate:...". Returns 1 when added, 0
 * when libnice could not use it (ignored), -1 on a bad string. */
int ice_add_remote_candidate(ice_t *ice, const char *cand);
/* The remote side has no more candidates: lets the checks conclude (FAILED when none works). */
void ice_remote_done(ice_t *ice);
/* New local credentials (RFC 8445 9); the remote's come with the next ice_set_remote. */
int ice_restart(ice_t *ice);

/* Sends one datagram on the selected pair. Returns 0 or -1 (not connected, would block).
 * A UDP pair without a relay is sent on directly (one sendto on the pair's socket, about 1 µs
 * less than nice_agent_send per datagram: no agent lock, no GIO); others go through libnice.
 * Thread-safe against other ice_send calls; the pair itself changes only on the main context
 * (callers on other threads must not overlap with it: router.c's fan-out does not). */
int ice_send(ice_t *ice, const uint8_t *buf, size_t len);

#endif
