/* sfu/rtcp_fb.h: RTCP feedback (RFC 4585, RFC 5104): receiver reports and REMB to publishers,
 * NACKs for upstream losses, coalesced keyframe requests, answers to subscribers' NACKs from the
 * packet cache, sender reports forwarded to subscribers. */
#ifndef SFU_RTCP_FB_H
#define SFU_RTCP_FB_H
#include "sfu.h"

/* Periodic work for every publisher (every few tens of ms): NACK retries, pending keyframe
 * requests, receiver reports + REMB once a second; also the rate update of stats. */
void rtcp_fb_tick(sfu_t *s);

#endif
