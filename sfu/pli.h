/* sfu/pli.h: keyframe request coalescing for one publisher track. Subscribers' PLIs/FIRs and
 * new subscribers ask for a keyframe; at most one request goes upstream per interval, and a
 * request that arrives too early waits (pending) until the interval has passed, unless a
 * keyframe arrives first. Pure: no I/O. */
#ifndef SFU_PLI_H
#define SFU_PLI_H
#include <stdbool.h>
#include <stdint.h>

typedef struct plictl {
    uint64_t last_ms; /* when the last request went upstream */
    bool sent;        /* a request went upstream at least once */
    bool pending;
} plictl_t;

/* A keyframe is wanted at now_ms. Returns true when a request must go upstream now (recorded as
 * sent); false when one went out less than interval_ms ago (the wish is kept pending). */
bool plictl_request(plictl_t *c, uint64_t now_ms, uint64_t interval_ms);
/* Returns true when a pending wish is due now (recorded as sent). */
bool plictl_poll(plictl_t *c, uint64_t now_ms, uint64_t interval_ms);
/* A keyframe arrived from the publisher: pending wishes are satisfied. */
void plictl_keyframe(plictl_t *c);

#endif
