/* tests/unit/test_eio_tq.c: signal/eio_tq.c: deadlines of several lists fire in time order on
 * one timer, stop/restart move entries, a callback may restart its own entry, and close. */
#include "../../signal/eio_tq.h"
#include "t.h"
#include <stdio.h>

typedef struct item {
    tq_ent_t e;
    int id;
    uint64_t fired_at;
    int fired;
} item_t;

static int order[16];
static int norder;
static tq_list_t *again_list; /* item 9 restarts itself once here */

static void on_fire(tq_ent_t *e)
{
    item_t *it = list_entry(e, item_t, e);
    it->fired++;
    it->fired_at = uv_now(again_list->tq->timer.loop);
    order[norder++] = it->id;
    if (it->id == 9 && it->fired == 1) {
        tq_start(again_list, &it->e);
    }
}

static void on_closed(uv_handle_t *h)
{
    *(int *)h->data = 1;
}

TEST(tq_fires_in_deadline_order_across_lists)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    tq_t q;
    tq_init(&q, &loop);
    tq_list_t l30, l10, l20;
    tq_list_init(&q, &l30, 30, on_fire);
    tq_list_init(&q, &l10, 10, on_fire);
    tq_list_init(&q, &l20, 20, on_fire);
    again_list = &l10;
    item_t it[10] = { 0 };
    for (int i = 0; i < 10; i++) {
        it[i].id = i;
        tq_ent_init(&it[i].e);
    }
    uint64_t t0 = uv_now(&loop);
    tq_start(&l30, &it[0].e);
    tq_start(&l10, &it[1].e);
    tq_start(&l20, &it[2].e);
    tq_start(&l30, &it[3].e); /* stopped below: never fires */
    tq_start(&l10, &it[4].e);
    tq_start(&l30, &it[4].e); /* restarted on another list: fires once, at 30 */
    tq_start(&l20, &it[9].e); /* fires at 20, restarts itself on l10: fires again at ~30 */
    ASSERT(tq_active(&it[3].e));
    tq_stop(&it[3].e);
    ASSERT(!tq_active(&it[3].e));
    uv_run(&loop, UV_RUN_DEFAULT); /* returns when nothing is pending */
    ASSERT_EQ(it[3].fired, 0);
    ASSERT_EQ(it[0].fired, 1);
    ASSERT_EQ(it[1].fired, 1);
    ASSERT_EQ(it[2].fired, 1);
    ASSERT_EQ(it[4].fired, 1);
    ASSERT_EQ(it[9].fired, 2);
    ASSERT_EQ(norder, 6);
    ASSERT_EQ(order[0], 1);
    ASSERT(order[1] == 2 || order[1] == 9);
    ASSERT(it[1].fired_at >= t0 + 10);
    ASSERT(it[2].fired_at >= t0 + 20);
    ASSERT(it[0].fired_at >= t0 + 30);
    ASSERT(it[4].fired_at >= t0 + 30);
    ASSERT(it[9].fired_at >= t0 + 30);
    for (int i = 1; i < norder; i++) {
        ASSERT(it[order[i]].fired_at >= it[order[i - 1]].fired_at);
    }
    ASSERT(tq_pop(&l10) == NULL);
    int closed = 0;
    q.timer.data = &closed;
    tq_close(&q, on_closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(closed, 1);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

TEST(tq_pop_and_close_with_pending_entries)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    tq_t q;
    tq_init(&q, &loop);
    tq_list_t l;
    tq_list_init(&q, &l, 60000, on_fire);
    again_list = &l;
    item_t a = { .id = 1 }, b = { .id = 2 };
    tq_ent_init(&a.e);
    tq_ent_init(&b.e);
    tq_start(&l, &a.e);
    tq_start(&l, &b.e);
    int closed = 0;
    q.timer.data = &closed;
    tq_close(&q, on_closed);
    uv_run(&loop, UV_RUN_DEFAULT); /* the closed timer never fires */
    ASSERT_EQ(closed, 1);
    ASSERT_EQ(a.fired + b.fired, 0);
    ASSERT(tq_pop(&l) == &a.e);
    ASSERT(tq_pop(&l) == &b.e);
    ASSERT(tq_pop(&l) == NULL);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}
