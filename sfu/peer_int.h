/* sfu/peer_int.h: helpers shared by peer.c (lifecycle, transport, candidates) and peer_sdp.c
 * (offer/answer). Not for other modules. */
#ifndef SFU_PEER_INT_H
#define SFU_PEER_INT_H
#include "peer.h"

#define PEER_CONNECT_TIMEOUT_MS 30000 /* remote description to DTLS connected */
#define PEER_HELD_MAX           64    /* candidates held before the remote description */
#define PEER_DTLS_OUT_MAX       16    /* DTLS records held until ICE is up */

/* Creates the ICE agent and the DTLS state of a fresh peer. Returns 0 or -1 with why. */
int peer__transport_new(peer_t *p, bool controlling, char *why, size_t whylen);
/* Replaces the transport of a peer whose browser made a new connection (new DTLS identity):
 * stops the old agent and DTLS (close_notify; both freed from an idle callback), forgets the
 * remote transport, SRTP keys and held candidates, and sets the state back to new without an
 * event. peer__transport_new then makes the new one. */
void peer__transport_reset(peer_t *p);
/* Applies what the remote description brings to the transport: credentials (ICE restart done
 * by the caller), candidates in the SDP, held candidates, and starts DTLS as server now or as
 * client once ICE is up. Returns 0 or -1 with why. */
int peer__apply_remote(peer_t *p, const sdp_remote_t *rem, bool dtls_client, char *why,
                       size_t whylen);
/* Fails the peer: peer.state failed with reason, then closed ("failed"). */
void peer__fail(peer_t *p, const char *reason);

#endif
