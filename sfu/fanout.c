/* sfu/fanout.c: see fanout.h. The job's counters carry its generation in their high half
 * (published slots, next slot to send), so a helper that wakes after its job ended can never
 * take a slot of the next one: every claim is a compare-and-swap that checks the generation.
 * The main thread waits only for slots that were claimed (a helper still asleep has none).
 * Plain pthreads and C11 atomics, so that ThreadSanitizer (MODE=tsan) sees every
 * synchronisation. */
#include "fanout.h"
#include <glib.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct slot {
    alignas(64) void *dst;
    uint32_t len;
    uint8_t buf[FANOUT_SLOT];
} slot_t;

#define NO_TOTAL UINT32_MAX
#define GEN(v)   ((uint32_t)((v) >> 32))
#define IDX(v)   ((uint32_t)(v))

struct fanout {
    int helpers, min_parallel;
    pthread_t *threads;
    fanout_send_fn send; /* the current job's */
    pthread_mutex_t mu;
    pthread_cond_t start;   /* a new job (or stop) */
    pthread_cond_t done_cv; /* the last slot of the job was sent */
    bool stop;              /* under mu */
    uint32_t gen;           /* under mu: the current job */
    bool woken;             /* main thread: the helpers know of the current job */
    /* main thread: the slots (resized only between jobs) and the job being filled */
    slot_t *slots;
    int cap;
    bool parallel;
    uint32_t pushed;
    uint64_t inline_bytes;
    slot_t scratch;
    /* shared with the helpers during a job */
    _Atomic uint64_t prod;  /* gen | slots published */
    _Atomic uint64_t claim; /* gen | next slot to send */
    _Atomic uint32_t sent;  /* slots sent (or dropped) */
    _Atomic uint32_t total; /* slots of the job once the main thread is done, else NO_TOTAL */
    _Atomic uint64_t bytes;
};

static void finish_one(fanout_t *f, size_t bytes)
{
    atomic_fetch_add(&f->bytes, bytes);
    uint32_t s = atomic_fetch_add(&f->sent, 1) + 1;
    if (s == atomic_load(&f->total)) {
        pthread_mutex_lock(&f->mu);
        pthread_cond_signal(&f->done_cv);
        pthread_mutex_unlock(&f->mu);
    }
}

/* Sends published slots of job gen until the job is wholly claimed (or is not gen any more).
 * With wait, spins while the main thread is still protecting the next slot. */
static void drain(fanout_t *f, uint32_t gen, bool wait)
{
    unsigned spins = 0;
    for (;;) {
        uint64_t c = atomic_load(&f->claim);
        uint64_t p = atomic_load(&f->prod);
        if (GEN(c) != gen || GEN(p) != gen) {
            return;
        }
        if (IDX(c) < IDX(p)) {
            spins = 0;
            if (atomic_compare_exchange_weak(&f->claim, &c, c + 1)) {
                slot_t *s = &f->slots[IDX(c)];
                finish_one(f, f->send(s->dst, s->buf, s->len));
            }
            continue;
        }
        uint32_t t = atomic_load(&f->total);
        if ((t != NO_TOTAL && IDX(c) >= t) || !wait) {
            return;
        }
        /* caught up with the main thread: it is protecting the next slot (about a µs), or it
         * was preempted, and then this core is better left to whoever preempted it */
        if (++spins < 256) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield();
        }
    }
}

static void *helper_main(void *ud)
{
    fanout_t *f = ud;
    uint32_t seen = 0;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->stop && f->gen == seen) {
            pthread_cond_wait(&f->start, &f->mu);
        }
        if (f->stop) {
            break;
        }
        seen = f->gen;
        pthread_mutex_unlock(&f->mu);
        drain(f, seen, true);
        pthread_mutex_lock(&f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

fanout_t *fanout_new(int helpers, int min_parallel)
{
    fanout_t *f = g_aligned_alloc0(1, sizeof *f, 64);
    f->min_parallel = min_parallel > 1 ? min_parallel : 1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->start, NULL);
    pthread_cond_init(&f->done_cv, NULL);
    f->threads = g_new0(pthread_t, helpers > 0 ? helpers : 1);
    for (int i = 0; i < helpers; i++) {
        if (pthread_create(&f->threads[i], NULL, helper_main, f) != 0) {
            fanout_free(f);
            return NULL;
        }
        char name[16];
        snprintf(name, sizeof name, "fanout-%u", (unsigned)(i + 1) % 100u);
        pthread_setname_np(f->threads[i], name); /* top -H, perf */
        f->helpers++;
    }
    return f;
}

void fanout_free(fanout_t *f)
{
    if (!f) {
        return;
    }
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_broadcast(&f->start);
    pthread_mutex_unlock(&f->mu);
    for (int i = 0; i < f->helpers; i++) {
        pthread_join(f->threads[i], NULL);
    }
    g_free(f->threads);
    g_aligned_free(f->slots);
    pthread_cond_destroy(&f->done_cv);
    pthread_cond_destroy(&f->start);
    pthread_mutex_destroy(&f->mu);
    g_aligned_free(f);
}

int fanout_helpers(const fanout_t *f)
{
    return f ? f->helpers : 0;
}

void fanout_begin(fanout_t *f, int n, fanout_send_fn send)
{
    f->send = send; /* helpers read it only after claiming a slot of this job */
    f->pushed = 0;
    f->inline_bytes = 0;
    f->parallel = f->helpers > 0 && n >= f->min_parallel;
    if (!f->parallel) {
        return;
    }
    if (f->cap < n) {
        /* no helper can hold a slot between jobs: every claim of the last job was sent */
        g_aligned_free(f->slots);
        f->cap = n + n / 2;
        f->slots = g_aligned_alloc(f->cap, sizeof(slot_t), 64);
    }
    pthread_mutex_lock(&f->mu);
    f->gen = f->gen + 1 ? f->gen + 1 : 1;
    atomic_store(&f->total, NO_TOTAL);
    atomic_store(&f->sent, 0);
    atomic_store(&f->bytes, 0);
    atomic_store(&f->prod, (uint64_t)f->gen << 32);
    atomic_store(&f->claim, (uint64_t)f->gen << 32);
    pthread_mutex_unlock(&f->mu);
    f->woken = false;
}

/* The helpers are woken once a few slots are ready: they start with work queued (protecting
 * is faster than sending, so they stay behind the main thread) and their wake-up latency
 * overlaps with its protecting. */
#define WAKE_AFTER 16

static void wake(fanout_t *f)
{
    f->woken = true;
    pthread_mutex_lock(&f->mu);
    pthread_cond_broadcast(&f->start);
    pthread_mutex_unlock(&f->mu);
}

uint8_t *fanout_slot(fanout_t *f)
{
    return f->parallel ? f->slots[f->pushed].buf : f->scratch.buf;
}

void fanout_push(fanout_t *f, void *dst, size_t len)
{
    if (!f->parallel) {
        f->inline_bytes += f->send(dst, f->scratch.buf, len);
        return;
    }
    slot_t *s = &f->slots[f->pushed];
    s->dst = dst;
    s->len = (uint32_t)len;
    f->pushed++;
    atomic_store(&f->prod, ((uint64_t)f->gen << 32) | f->pushed);
    if (!f->woken && f->pushed >= WAKE_AFTER) {
        wake(f);
    }
}

uint64_t fanout_end(fanout_t *f)
{
    if (!f->parallel) {
        return f->inline_bytes;
    }
    atomic_store(&f->total, f->pushed);
    if (!f->woken && f->pushed > 1) {
        wake(f);
    }
    drain(f, f->gen, false);
    if (atomic_load(&f->sent) != f->pushed) {
        pthread_mutex_lock(&f->mu);
        while (atomic_load(&f->sent) != f->pushed) {
            pthread_cond_wait(&f->done_cv, &f->mu);
        }
        pthread_mutex_unlock(&f->mu);
    }
    return atomic_load(&f->bytes);
}
