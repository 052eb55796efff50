/* sfu/rtcp_fb.h: RTCP on both sides of the SFU (RFC 3550, RFC 4585, RFC 5104, REMB).
 * Publisher side: receiver reports and REMB once a second, NACKs for sequence gaps (retried),
 * coalesced keyframe requests (PLI, or FIR when only that was negotiated); its sender reports
 * are forwarded to subscribers for lip sync. Subscriber side: NACKs answered from the packet
 * cache, PLI/FIR turned into (coalesced) upstream requests, receiver reports read for loss. */
#ifndef SFU_RTCP_FB_H
#define SFU_RTCP_FB_H
#include "sfu.h"
#include <stddef.h>
#include <stdint.h>

/* An unprotected RTCP datagram from a publisher / a subscriber (room for the trailer). */
void rtcp_fb_on_pub_rtcp(peer_t *pub, uint8_t *pkt, size_t len);
void rtcp_fb_on_sub_rtcp(peer_t *sub, uint8_t *pkt, size_t len);

/* Asks the room publisher for a keyframe on every video track (coalesced per track by
 * --pli-interval-ms); asker is the subscriber that needs it (named in track.keyframe_needed). */
void rtcp_fb_keyframe(peer_t *pub, peer_t *asker);

/* Sends the NACKs due on publisher track idx now. */
void rtcp_fb_send_nacks(peer_t *pub, int idx, uint64_t now_ms);

/* Protects rtcp[0..len) (room for the trailer past len) and sends it to p. Returns 0 or -1. */
int rtcp_fb_send(peer_t *p, uint8_t *rtcp, size_t len);

/* Periodic work (every few tens of ms): NACK retries, pending keyframe requests, receiver
 * reports + REMB once a second, loss counters and the stats rates. */
void rtcp_fb_tick(sfu_t *s);

#endif
