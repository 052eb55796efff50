/* sfu/pli.c: see pli.h. */
#include "pli.h"

static bool due(const plictl_t *c, uint64_t now_ms, uint64_t interval_ms)
{
    return !c->sent || now_ms - c->last_ms >= interval_ms;
}

bool plictl_request(plictl_t *c, uint64_t now_ms, uint64_t interval_ms)
{
    if (due(c, now_ms, interval_ms)) {
        c->sent = true;
        c->last_ms = now_ms;
        c->pending = false;
        return true;
    }
    c->pending = true;
    return false;
}

bool plictl_poll(plictl_t *c, uint64_t now_ms, uint64_t interval_ms)
{
    if (!c->pending || !due(c, now_ms, interval_ms)) {
        return false;
    }
    c->pending = false;
    c->sent = true;
    c->last_ms = now_ms;
    return true;
}

void plictl_keyframe(plictl_t *c)
{
    c->pending = false;
}
