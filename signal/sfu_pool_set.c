/* signal/sfu_pool_set.c: which SFUs the pool knows (sfu_pool.h): run-time add and remove, the
 * watched socket directory (rescanned every second), SFUs discovered in the shared registry,
 * lookups, placement (sfu_pool_pick) and the accessors. Connections live in sfu_pool.c. */
#include "../common/log.h"
#include "../common/xalloc.h"
#include "sfu_pool_int.h"
#include "store.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SCAN_MS         1000
#define ABSENT_SYNCS    3     /* a discovered SFU missing from this many syncs is removed */
#define CPU_PEER_WEIGHT 200.0 /* one busy core counts as this many peers */
#define SCORE_EPSILON   1e-9

static bool visible(const sfu_t *s)
{
    return !s->closing && !s->removing;
}

/* ---- paths ------------------------------------------------------------------------------- */

int sfu__abs_path(const char *path, char *out, size_t outlen)
{
    size_t cap = outlen < SFU_SOCK_PATH_MAX + 1 ? outlen : SFU_SOCK_PATH_MAX + 1;
    int n;
    if (path[0] == '/') {
        n = snprintf(out, cap, "%s", path);
    } else {
        char cwd[4096];
        size_t len = sizeof cwd;
        if (uv_cwd(cwd, &len) != 0) {
            return -1;
        }
        n = snprintf(out, cap, "%s/%s", cwd, path);
    }
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static bool is_socket(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* ---- lookups ------------------------------------------------------------------------------ */

sfu_t *sfu_pool_find(sfu_pool_t *p, const char *id)
{
    list_t *pos;
    list_foreach(pos, &p->sfus)
    {
        sfu_t *s = list_entry(pos, sfu_t, node);
        if (visible(s) && !strcmp(s->id, id)) {
            return s;
        }
    }
    return NULL;
}

sfu_t *sfu__find_path(sfu_pool_t *p, const char *path)
{
    list_t *pos;
    list_foreach(pos, &p->sfus)
    {
        sfu_t *s = list_entry(pos, sfu_t, node);
        if (visible(s) && !strcmp(s->sock_path, path)) {
            return s;
        }
    }
    return NULL;
}

size_t sfu_pool_count(const sfu_pool_t *p, size_t *ready)
{
    size_t n = 0, r = 0;
    const list_t *pos;
    for (pos = p->sfus.next; pos != &p->sfus; pos = pos->next) {
        const sfu_t *s = list_entry(pos, sfu_t, node);
        if (visible(s)) {
            n++;
            r += s->state == SFU_READY;
        }
    }
    if (ready) {
        *ready = r;
    }
    return n;
}

void sfu_pool_foreach(sfu_pool_t *p, void (*fn)(sfu_t *, void *), void *ud)
{
    /* removal only marks an entry (it leaves the list later, from the loop): safe here */
    list_t *pos, *tmp;
    list_foreach_safe(pos, tmp, &p->sfus)
    {
        sfu_t *s = list_entry(pos, sfu_t, node);
        if (visible(s)) {
            fn(s, ud);
        }
    }
}

/* ---- add and remove ------------------------------------------------------------------------ */

sfu_t *sfu_pool_add(sfu_pool_t *p, const char *id, const char *socket_path)
{
    char path[SFU_SOCK_PATH_MAX + 1];
    if (p->closing || !id || !*id || !socket_path ||
        sfu__abs_path(socket_path, path, sizeof path) != 0) {
        return NULL;
    }
    if (sfu_pool_find(p, id) || sfu__find_path(p, path)) {
        return NULL;
    }
    sfu_t *s = sfu__new(p, id, path, SFU_ADDED);
    sfu__connect(s);
    return s;
}

int sfu_pool_remove(sfu_pool_t *p, const char *id)
{
    sfu_t *s = sfu_pool_find(p, id);
    if (!s) {
        return -1;
    }
    LOG_I("sfu", "sfu removed", "\"sfu\":\"%s\",\"socket\":\"%s\",\"origin\":\"%s\"",
          log_esc(s->id), log_esc(s->sock_path), sfu_origin_str(s->origin));
    sfu__remove_later(s);
    return 0;
}

/* ---- the watched directory ------------------------------------------------------------------ */

static void scan_dir(sfu_pool_t *p)
{
    unsigned gen = ++p->scan_gen;
    DIR *d = opendir(p->watch_dir);
    if (!d) {
        if (!p->scan_failed) {
            LOG_W("sfu", "cannot read the SFU socket directory", "\"dir\":\"%s\"",
                  log_esc(p->watch_dir));
        }
        p->scan_failed = true;
    } else {
        if (p->scan_failed) {
            LOG_I("sfu", "the SFU socket directory is readable again", "\"dir\":\"%s\"",
                  log_esc(p->watch_dir));
        }
        p->scan_failed = false;
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            char path[SFU_SOCK_PATH_MAX + 1];
            if (n <= 5 || strcmp(e->d_name + n - 5, ".sock") != 0 ||
                snprintf(path, sizeof path, "%s/%s", p->watch_dir, e->d_name) >= (int)sizeof path ||
                !is_socket(path)) {
                continue;
            }
            sfu_t *s = sfu__find_path(p, path);
            if (!s) {
                s = sfu__new(p, path, path, SFU_WATCHED);
                sfu__connect(s);
            }
            s->seen = gen;
        }
        closedir(d);
    }
    list_t *pos, *tmp;
    list_foreach_safe(pos, tmp, &p->sfus)
    {
        sfu_t *s = list_entry(pos, sfu_t, node);
        if (visible(s) && s->origin == SFU_WATCHED && s->seen != gen) {
            LOG_I("sfu", "sfu socket gone", "\"sfu\":\"%s\",\"socket\":\"%s\"", log_esc(s->id),
                  log_esc(s->sock_path));
            sfu__shutdown(s);
        }
    }
}

static void on_scan_timer(uv_timer_t *t)
{
    sfu_pool_t *p = t->data;
    if (!p->closing) {
        scan_dir(p);
    }
}

int pool__watch_init(sfu_pool_t *p, const char *sockets, const char **err)
{
    struct stat st;
    char dir[SFU_SOCK_PATH_MAX + 1];
    if (strchr(sockets, ',') || stat(sockets, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return 0;
    }
    if (sfu__abs_path(sockets, dir, sizeof dir) != 0 || strlen(dir) > 90) {
        *err = "the --sfu-sockets directory path is too long for socket paths in it";
        return -1;
    }
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') {
        dir[--n] = 0;
    }
    p->watch_dir = xstrdup(dir);
    uv_timer_init(p->loop, &p->scan_timer);
    p->scan_timer.data = p;
    p->scan_active = true;
    p->handles++;
    uv_timer_start(&p->scan_timer, on_scan_timer, SCAN_MS, SCAN_MS);
    uv_unref((uv_handle_t *)&p->scan_timer);
    LOG_I("sfu", "watching the SFU socket directory", "\"dir\":\"%s\",\"every_ms\":%d",
          log_esc(dir), SCAN_MS);
    scan_dir(p);
    return 1;
}

static void on_scan_closed(uv_handle_t *h)
{
    sfu_pool_t *p = h->data;
    p->handles--;
    pool__maybe_free(p);
}

void pool__watch_close(sfu_pool_t *p)
{
    if (p->scan_active) {
        p->scan_active = false;
        uv_close((uv_handle_t *)&p->scan_timer, on_scan_closed);
    }
}

/* ---- the shared registry ----------------------------------------------------------------------
 */

void sfu_pool_sync_registry(sfu_pool_t *p, const struct store_sfu *sfus, size_t n)
{
    if (p->closing) {
        return;
    }
    unsigned gen = ++p->sync_gen;
    for (size_t i = 0; i < n; i++) {
        const store_sfu_t *r = &sfus[i];
        if (!r->id || !*r->id) {
            continue;
        }
        sfu_t *s = sfu_pool_find(p, r->id);
        if (s) {
            s->synced = gen;
            continue;
        }
        json_t *info = r->info ? json_loads(r->info, 0, NULL) : NULL;
        const char *sock = json_string_value(json_object_get(info, "socket"));
        /* same host only: the socket must exist here */
        if (sock && sock[0] == '/' && strlen(sock) <= SFU_SOCK_PATH_MAX &&
            !sfu__find_path(p, sock) && is_socket(sock)) {
            s = sfu__new(p, r->id, sock, SFU_DISCOVERED);
            s->synced = gen;
            sfu__connect(s);
        }
        json_decref(info);
    }
    list_t *pos, *tmp;
    list_foreach_safe(pos, tmp, &p->sfus)
    {
        sfu_t *s = list_entry(pos, sfu_t, node);
        if (!visible(s) || s->origin != SFU_DISCOVERED) {
            continue;
        }
        if (s->synced == gen) {
            s->absent = 0;
        } else if (++s->absent >= ABSENT_SYNCS) {
            LOG_I("sfu", "sfu no longer registered", "\"sfu\":\"%s\"", log_esc(s->id));
            sfu_pool_remove(p, s->id);
        }
    }
}

/* ---- placement ------------------------------------------------------------------------------ */

static double load_score(const sfu_t *s)
{
    return (double)(s->peers + s->asked) + CPU_PEER_WEIGHT * s->cpu;
}

sfu_t *sfu_pool_pick(sfu_pool_t *p)
{
    sfu_t *best = NULL;
    double best_score = 0;
    list_t *pos;
    list_foreach(pos, &p->sfus)
    {
        sfu_t *s = list_entry(pos, sfu_t, node);
        if (!visible(s) || s->state != SFU_READY || s->draining ||
            (s->max_peers && s->peers + s->asked >= s->max_peers)) {
            continue;
        }
        double sc = load_score(s);
        if (!best || sc < best_score - SCORE_EPSILON ||
            (sc <= best_score + SCORE_EPSILON && s->rooms < best->rooms)) {
            best = s;
            best_score = sc;
        }
    }
    return best;
}

/* ---- accessors --------------------------------------------------------------------------------
 */

const char *sfu_id(const sfu_t *s)
{
    return s->id;
}

const char *sfu_socket_path(const sfu_t *s)
{
    return s->sock_path;
}

sfu_state_t sfu_get_state(const sfu_t *s)
{
    return s->state;
}

sfu_origin_t sfu_origin(const sfu_t *s)
{
    return s->origin;
}

const char *sfu_origin_str(sfu_origin_t o)
{
    static const char *const names[] = { "spawned", "configured", "watched", "added",
                                         "discovered" };
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "?";
}

bool sfu_discovered(const sfu_t *s)
{
    return s->origin == SFU_DISCOVERED;
}

bool sfu_draining(const sfu_t *s)
{
    return s->draining;
}

void sfu_load(const sfu_t *s, uint64_t *peers, uint64_t *bitrate_in, uint64_t *bitrate_out)
{
    *peers = s->peers;
    *bitrate_in = s->bitrate_in;
    *bitrate_out = s->bitrate_out;
}

void sfu_get_load(const sfu_t *s, sfu_load_info_t *out)
{
    out->peers = s->peers;
    out->rooms = s->rooms;
    out->max_peers = s->max_peers;
    out->bitrate_in = s->bitrate_in;
    out->bitrate_out = s->bitrate_out;
    out->cpu = s->cpu;
    out->score = load_score(s);
    out->overload_drops = s->overload_drops;
}
