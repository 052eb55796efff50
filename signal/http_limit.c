/* signal/http_limit.c: the per-client HTTP request rate limit: one token bucket per client
 * address (rate tokens per second up to burst; each request takes one), in a hash map plus a
 * least-recently-used list. The table is capped (the least recently seen client makes room)
 * and a sweep drops clients whose bucket is full again, so memory stays bounded. Requests from
 * trusted reverse proxies are keyed by the client address they append to X-Forwarded-For. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "http_impl.h"
#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rl_client {
    list_t link; /* http_rl_t.lru, least recently used first */
    double tokens;
    uint64_t last_ms;
    char key[HTTP_RL_KEY_MAX];
} rl_client_t;

/* ms after which an untouched bucket is full again, i.e. the client is forgotten */
static uint64_t full_after_ms(const http_rl_t *rl)
{
    return (uint64_t)ceil(rl->burst / rl->rate * 1000.0);
}

static void drop(http_rl_t *rl, rl_client_t *e)
{
    strmap_del(&rl->map, e->key);
    list_remove(&e->link);
    free(e);
}

static void sweep(http_rl_t *rl, uint64_t now)
{
    uint64_t idle = full_after_ms(rl);
    while (!list_empty(&rl->lru)) {
        rl_client_t *e = list_entry(rl->lru.next, rl_client_t, link);
        if (now - e->last_ms < idle) {
            break; /* the rest were seen later */
        }
        drop(rl, e);
    }
}

static void on_sweep(uv_timer_t *t)
{
    http_server_t *srv = t->data;
    sweep(&srv->rl, uv_now(srv->loop));
}

static void rl_clear(http_rl_t *rl)
{
    while (!list_empty(&rl->lru)) {
        drop(rl, list_entry(rl->lru.next, rl_client_t, link));
    }
}

int http_server_set_rate_limit(http_server_t *srv, double per_sec, double burst, size_t max_clients)
{
    http_rl_t *rl = &srv->rl;
    if (!(per_sec >= 0) || !(burst >= 0) || per_sec > 1e9 || burst > 1e9) {
        return -1;
    }
    rl_clear(rl);
    rl->rate = per_sec;
    rl->burst = per_sec > 0 && burst < 1 ? 1 : burst;
    rl->max_clients = max_clients ? max_clients : 100000;
    if (per_sec > 0) {
        /* sweep about when buckets fill up again, between 1 s and 1 min */
        uint64_t every = full_after_ms(rl);
        every = every < 1000 ? 1000 : every > 60000 ? 60000 : every;
        uv_timer_start(&rl->sweep, on_sweep, every, every);
    } else {
        uv_timer_stop(&rl->sweep);
    }
    return 0;
}

size_t http_server_rate_clients(const http_server_t *srv)
{
    return srv->rl.map.n;
}

/* Normalises an address for comparison: IPv4-mapped IPv6 as plain IPv4, IPv6 compressed.
 * Returns false when text is not an IP address. */
static bool norm_ip(const char *text, size_t len, char *out, size_t cap)
{
    char tmp[64];
    if (len == 0 || len >= sizeof tmp) {
        return false;
    }
    memcpy(tmp, text, len);
    tmp[len] = 0;
    unsigned char a[16];
    if (inet_pton(AF_INET, tmp, a) == 1) {
        return inet_ntop(AF_INET, a, out, (socklen_t)cap) != NULL;
    }
    if (inet_pton(AF_INET6, tmp, a) != 1) {
        return false;
    }
    static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp(a, v4mapped, 12) == 0) {
        return inet_ntop(AF_INET, a + 12, out, (socklen_t)cap) != NULL;
    }
    return inet_ntop(AF_INET6, a, out, (socklen_t)cap) != NULL;
}

int http_server_set_trusted_proxies(http_server_t *srv, const char *list)
{
    char *buf = xstrdup(list ? list : "");
    size_t n = 0;
    for (char *p = buf; *p; p++) {
        n += *p == ',';
    }
    char **ips = xcalloc(n + 2, sizeof(*ips));
    size_t k = 0;
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        char ip[64];
        if (!norm_ip(tok, strlen(tok), ip, sizeof ip)) {
            rc = -1;
            break;
        }
        ips[k++] = xstrdup(ip);
    }
    free(buf);
    if (rc != 0) {
        for (size_t i = 0; i < k; i++) {
            free(ips[i]);
        }
        free(ips);
        return -1;
    }
    http__rl_free(srv, false);
    srv->rl.trusted = ips;
    srv->rl.ntrusted = k;
    return 0;
}

static bool trusted(const http_rl_t *rl, const char *ip)
{
    for (size_t i = 0; i < rl->ntrusted; i++) {
        if (strcmp(rl->trusted[i], ip) == 0) {
            return true;
        }
    }
    return false;
}

/* The client a request counts for: the peer, or behind trusted proxies the rightmost
 * X-Forwarded-For entry that is not a trusted proxy (the one the last proxy appended cannot be
 * forged). Returns false when the request is not limited (a trusted proxy's own request). */
static bool client_key(const http_rl_t *rl, const char *peer, const char *xff, char *key)
{
    char ip[64];
    if (!norm_ip(peer, strlen(peer), ip, sizeof ip)) {
        snprintf(ip, sizeof ip, "%s", peer);
    }
    if (!trusted(rl, ip)) {
        snprintf(key, HTTP_RL_KEY_MAX, "%s", ip);
        return true;
    }
    if (!xff) {
        return false;
    }
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *comma = end;
        while (comma > xff && comma[-1] != ',') {
            comma--;
        }
        const char *s = comma, *e = end;
        while (s < e && (*s == ' ' || *s == '\t')) {
            s++;
        }
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        if (!norm_ip(s, (size_t)(e - s), ip, sizeof ip)) {
            /* not an address: a client's own junk; count it under the proxy's view of it */
            snprintf(key, HTTP_RL_KEY_MAX, "xff:%.*s", (int)((e - s) > 40 ? 40 : e - s), s);
            return true;
        }
        if (!trusted(rl, ip)) {
            snprintf(key, HTTP_RL_KEY_MAX, "%s", ip);
            return true;
        }
        end = comma > xff ? comma - 1 : xff;
    }
    return false; /* only trusted proxies in the chain */
}

bool http__rl_allow(http_server_t *srv, const char *peer, const char *xff, unsigned *retry_after)
{
    http_rl_t *rl = &srv->rl;
    if (rl->rate <= 0) {
        return true;
    }
    char key[HTTP_RL_KEY_MAX];
    if (!client_key(rl, peer, xff, key)) {
        return true;
    }
    uint64_t now = uv_now(srv->loop);
    rl_client_t *e = strmap_get(&rl->map, key);
    if (!e) {
        if (rl->map.n >= rl->max_clients) {
            drop(rl, list_entry(rl->lru.next, rl_client_t, link)); /* least recently seen */
        }
        e = xcalloc(1, sizeof(*e));
        memcpy(e->key, key, sizeof key);
        e->tokens = rl->burst;
        e->last_ms = now;
        list_init(&e->link);
        strmap_put(&rl->map, e->key, e);
    } else {
        e->tokens += (double)(now - e->last_ms) * rl->rate / 1000.0;
        if (e->tokens > rl->burst) {
            e->tokens = rl->burst;
        }
        e->last_ms = now;
        list_remove(&e->link);
    }
    list_insert_tail(&rl->lru, &e->link);
    if (e->tokens >= 1) {
        e->tokens -= 1;
        return true;
    }
    double wait = ceil((1 - e->tokens) / rl->rate);
    *retry_after = wait < 1 ? 1 : wait > 3600 ? 3600 : (unsigned)wait;
    LOG_D("http", "rate limited", "\"client\":\"%s\"", log_esc(key));
    return false;
}

void http__rl_init(http_server_t *srv)
{
    http_rl_t *rl = &srv->rl;
    strmap_init(&rl->map);
    list_init(&rl->lru);
    uv_timer_init(srv->loop, &rl->sweep);
    rl->sweep.data = srv;
    uv_unref((uv_handle_t *)&rl->sweep);
}

void http__rl_free(http_server_t *srv, bool all)
{
    http_rl_t *rl = &srv->rl;
    for (size_t i = 0; i < rl->ntrusted; i++) {
        free(rl->trusted[i]);
    }
    free(rl->trusted);
    rl->trusted = NULL;
    rl->ntrusted = 0;
    if (all) {
        rl_clear(rl);
        strmap_deinit(&rl->map);
    }
}
