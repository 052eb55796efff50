/* tests/unit/test_sfu_fanout.c: sfu/fanout: every slot of every job is sent exactly once, with
 * its own bytes, whichever thread sends it; the byte sums add up; jobs below the threshold and
 * pools without helpers send inline, in order; slots grow between jobs; helpers that wake
 * late never touch a later job. Runs under ASan (a slot sent after its job ended, or twice,
 * shows as a wrong count or a use after free when the slot array grows). */
#include "t.h"
#include "../../sfu/fanout.h"
#include <pthread.h>
#include <stdatomic.h>

#define MAX_DST 4096

typedef struct dst {
    int id;
    _Atomic int got;        /* times sent */
    _Atomic int bad;        /* a slot with somebody else's bytes */
    _Atomic pthread_t last; /* thread that sent it last */
} dst_t;

static dst_t dsts[MAX_DST];

/* The slot for dst i holds len bytes of value (i + job) & 0xff. */
static int cur_job;

static size_t send_fn(void *d, const uint8_t *buf, size_t len)
{
    dst_t *x = d;
    uint8_t want = (uint8_t)(x->id + cur_job);
    for (size_t k = 0; k < len; k++) {
        if (buf[k] != want) {
            atomic_fetch_add(&x->bad, 1);
            break;
        }
    }
    atomic_fetch_add(&x->got, 1);
    atomic_store(&x->last, pthread_self());
    return len;
}

/* One job over n destinations (every third skipped, as subscribers that do not want the
 * track); returns what fanout_end returned and checks each destination got it once. */
static int run_job(fanout_t *f, int n, int job, uint64_t *bytes_out, int *by_others)
{
    cur_job = job;
    uint64_t want = 0;
    for (int i = 0; i < n; i++) {
        dsts[i].id = i;
        atomic_store(&dsts[i].got, 0);
        atomic_store(&dsts[i].bad, 0);
    }
    fanout_begin(f, n, send_fn);
    for (int i = 0; i < n; i++) {
        if (i % 3 == 2) {
            continue;
        }
        size_t len = 100 + (size_t)(i % 7) * 150; /* up to 1000 bytes */
        uint8_t *buf = fanout_slot(f);
        memset(buf, (uint8_t)(i + job), len);
        fanout_push(f, &dsts[i], len);
        want += len;
    }
    *bytes_out = fanout_end(f);
    int wrong = 0;
    *by_others = 0;
    for (int i = 0; i < n; i++) {
        int expect = i % 3 == 2 ? 0 : 1;
        if (atomic_load(&dsts[i].got) != expect || atomic_load(&dsts[i].bad) != 0) {
            wrong++;
        }
        if (expect && !pthread_equal(atomic_load(&dsts[i].last), pthread_self())) {
            (*by_others)++;
        }
    }
    return *bytes_out == want && wrong == 0 ? 0 : -1;
}

TEST(fanout_inline_without_helpers)
{
    fanout_t *f = fanout_new(0, 1);
    ASSERT(f != NULL);
    ASSERT_EQ(fanout_helpers(f), 0);
    uint64_t bytes;
    int others;
    for (int job = 0; job < 20; job++) {
        ASSERT_EQ(run_job(f, 1 + job * 37, job, &bytes, &others), 0);
        ASSERT_EQ(others, 0); /* everything on this thread */
    }
    fanout_free(f);
}

TEST(fanout_small_jobs_stay_inline)
{
    fanout_t *f = fanout_new(2, 48);
    ASSERT(f != NULL);
    uint64_t bytes;
    int others;
    for (int job = 0; job < 50; job++) {
        ASSERT_EQ(run_job(f, 47, job, &bytes, &others), 0);
        ASSERT_EQ(others, 0);
    }
    fanout_free(f);
}

TEST(fanout_every_slot_once_with_helpers)
{
    for (int helpers = 1; helpers <= 3; helpers++) {
        fanout_t *f = fanout_new(helpers, 2);
        ASSERT(f != NULL);
        ASSERT_EQ(fanout_helpers(f), helpers);
        uint64_t bytes;
        int others, total_others = 0;
        /* sizes around the threshold and the wake-up point, then growing (slots reallocated
         * between jobs), then shrinking again */
        static const int sizes[] = { 0, 1, 2, 3, 15, 16, 17, 33, 200, 600, 1500, 4000, 64, 5 };
        for (int r = 0; r < 40; r++) {
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
                int job = r * 100 + (int)k;
                ASSERT_EQ(run_job(f, sizes[k], job, &bytes, &others), 0);
                total_others += others;
            }
        }
        /* the helpers did take part (thousands of slots over 560 jobs) */
        ASSERT(total_others > 0);
        fanout_free(f);
    }
}

TEST(fanout_free_idle_pool)
{
    fanout_t *f = fanout_new(4, 1);
    ASSERT(f != NULL);
    fanout_free(f);
    fanout_free(NULL);
}
