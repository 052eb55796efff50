/* signal/eio_tq.c: timer queues (see eio_tq.h). */
#include "eio_tq.h"
#include "../common/xalloc.h"

static void on_tick(uv_timer_t *t);

void tq_init(tq_t *q, uv_loop_t *loop)
{
    q->nlists = 0;
    q->armed = q->closed = false;
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
}

void tq_list_init(tq_t *q, tq_list_t *l, uint64_t dur_ms, void (*cb)(tq_ent_t *))
{
    list_init(&l->head);
    l->dur_ms = dur_ms ? dur_ms : 1;
    l->cb = cb;
    l->tq = q;
    if (q->nlists < TQ_MAX_LISTS) {
        q->lists[q->nlists++] = l;
    }
}

static void arm(tq_t *q)
{
    if (q->closed) {
        return;
    }
    bool any = false;
    uint64_t due = 0;
    for (unsigned i = 0; i < q->nlists; i++) {
        if (!list_empty(&q->lists[i]->head)) {
            tq_ent_t *e = list_entry(q->lists[i]->head.next, tq_ent_t, link);
            if (!any || e->due < due) {
                due = e->due;
                any = true;
            }
        }
    }
    if (!any) {
        if (q->armed) {
            uv_timer_stop(&q->timer);
            q->armed = false;
        }
        return;
    }
    if (q->armed && q->armed_due <= due) {
        return; /* fires earlier anyway; on_tick re-arms */
    }
    uint64_t now = uv_now(q->timer.loop);
    uv_timer_start(&q->timer, on_tick, due > now ? due - now : 0, 0);
    q->armed = true;
    q->armed_due = due;
}

void tq_start(tq_list_t *l, tq_ent_t *e)
{
    list_remove(&e->link);
    e->due = uv_now(l->tq->timer.loop) + l->dur_ms;
    list_insert_tail(&l->head, &e->link);
    arm(l->tq);
}

void tq_stop(tq_ent_t *e)
{
    list_remove(&e->link); /* the timer may fire for nothing once; on_tick re-arms */
}

tq_ent_t *tq_pop(tq_list_t *l)
{
    if (list_empty(&l->head)) {
        return NULL;
    }
    tq_ent_t *e = list_entry(l->head.next, tq_ent_t, link);
    list_remove(&e->link);
    return e;
}

static void on_tick(uv_timer_t *t)
{
    tq_t *q = t->data;
    q->armed = false;
    uint64_t now = uv_now(t->loop);
    for (unsigned i = 0; i < q->nlists && !q->closed; i++) {
        tq_list_t *l = q->lists[i];
        while (!q->closed && !list_empty(&l->head)) {
            tq_ent_t *e = list_entry(l->head.next, tq_ent_t, link);
            if (e->due > now) {
                break;
            }
            list_remove(&e->link);
            l->cb(e);
        }
    }
    arm(q);
}

void tq_close(tq_t *q, uv_close_cb close_cb)
{
    q->closed = true;
    q->armed = false;
    uv_close((uv_handle_t *)&q->timer, close_cb);
}
