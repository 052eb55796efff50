/* tests/unit/test_store_lib.h: helpers shared by test_store.c and test_store_redis.c (included
 * by each; static functions only). A redis-server child on a free port in a temp dir (waited on
 * through its "Ready to accept connections" log line, bounded), stopped at exit; a snapshot of
 * store results; and "wait until this callback ran" on a uv loop with a guard timer (no sleeps:
 * the loop runs until the event or the guard fires). */
#ifndef TEST_STORE_LIB_H
#define TEST_STORE_LIB_H
#include "../../common/clock.h"
#include "../../signal/store.h"
#include "t.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- redis-server --- */

static struct {
    pid_t pid;
    int port;
    char dir[64];
    char sock[96];
    bool atexit_set;
} R;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t n = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &n) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

static void redis_stop(void)
{
    if (R.pid > 0) {
        kill(R.pid, SIGCONT);
        kill(R.pid, SIGKILL);
        waitpid(R.pid, NULL, 0);
        R.pid = 0;
    }
}

static void redis_cleanup(void)
{
    redis_stop();
    if (R.dir[0]) {
        unlink(R.sock);
        rmdir(R.dir);
        R.dir[0] = 0;
    }
}

/* Starts redis-server on port (0: a free one) and waits (at most 10 s) for its ready line.
 * Returns 0, or -1 (binary missing, port taken, no ready line): a test failure, never a skip. */
static int redis_spawn_once(int port)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return -1;
    }
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed or killed test */
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port", ps, "--dir", R.dir,
               "--save", "", "--appendonly", "no", "--unixsocket", R.sock, "--unixsocketperm",
               "700", "--daemonize", "no", "--logfile", "", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    char buf[8192];
    size_t have = 0;
    bool ready = false;
    uint64_t deadline = clock_mono_ms() + 10000;
    while (!ready && clock_mono_ms() < deadline) {
        struct pollfd p = { .fd = fds[0], .events = POLLIN };
        if (poll(&p, 1, (int)(deadline - clock_mono_ms())) <= 0) {
            break;
        }
        ssize_t n = read(fds[0], buf + have, sizeof(buf) - 1 - have);
        if (n <= 0) {
            break; /* exited: port taken, or no binary */
        }
        have += (size_t)n;
        buf[have] = 0;
        ready = strstr(buf, "Ready to accept connections") != NULL;
        if (have > sizeof(buf) / 2) { /* keep the tail */
            memmove(buf, buf + have - 200, 200);
            have = 200;
        }
    }
    close(fds[0]); /* redis ignores SIGPIPE: later log lines are dropped */
    if (!ready) {
        fprintf(stderr, "  redis-server on port %d did not get ready: %s\n", port, buf);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    R.pid = pid;
    R.port = port;
    return 0;
}

/* Starts the shared server if needed. */
static int redis_ensure(void)
{
    if (R.pid > 0) {
        return 0;
    }
    if (!R.dir[0]) {
        snprintf(R.dir, sizeof(R.dir), "/tmp/onair-redis-XXXXXX");
        if (!mkdtemp(R.dir)) {
            R.dir[0] = 0;
            return -1;
        }
        snprintf(R.sock, sizeof(R.sock), "%s/redis.sock", R.dir);
    }
    if (!R.atexit_set) {
        atexit(redis_cleanup);
        R.atexit_set = true;
    }
    for (int i = 0; i < 5; i++) {
        int port = R.port ? R.port : free_port();
        if (port > 0 && redis_spawn_once(port) == 0) {
            return 0;
        }
        if (!R.port) {
            continue;
        }
        /* a restart on the same port: it may take a moment for the old socket to go */
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* --- results --- */

#define SN 64 /* list entries kept */
typedef struct snap {
    bool done, returned, early;
    int err;
    bool changed;
    int64_t count;
    bool has_room;
    store_room_t room; /* strings below */
    char r_id[80], r_title[256], r_owner[128], r_conn[128], r_node[80], r_sfu[80], r_rec[256],
        r_media[256];
    bool has_member;
    char m_id[128], m_user[128], m_name[128], m_role[16], m_node[80], m_room[80];
    int64_t m_joined;
    size_t nmembers, nchat, nrooms, nids, nnodes, nsfus;
    char members[SN][128], member_users[SN][128], member_rooms[SN][80], member_nodes[SN][80];
    char chat[SN][256];
    char rooms[SN][80];
    bool rooms_live[SN];
    char ids[SN][80], nodes[SN][80], sfus[SN][80];
    int64_t sfu_load[SN];
    char sfu[80];
} snap_t;

#define CPY(dst, src) snprintf(dst, sizeof(dst), "%s", (src) ? (src) : "(null)")

static void snap_cb(store_t *st, const store_res_t *r, void *ud)
{
    snap_t *s = ud;
    s->early = !s->returned;
    s->done = true;
    s->err = r->err;
    s->changed = r->changed;
    s->count = r->count;
    if ((s->has_room = r->room != NULL)) {
        s->room = *r->room;
        CPY(s->r_id, r->room->id);
        CPY(s->r_title, r->room->title);
        CPY(s->r_owner, r->room->owner);
        CPY(s->r_conn, r->room->owner_conn);
        CPY(s->r_node, r->room->owner_node);
        CPY(s->r_sfu, r->room->sfu);
        CPY(s->r_rec, r->room->recording);
        CPY(s->r_media, r->room->media_state);
    }
    if ((s->has_member = r->member != NULL)) {
        CPY(s->m_id, r->member->id);
        CPY(s->m_user, r->member->user_id);
        CPY(s->m_name, r->member->name);
        CPY(s->m_role, r->member->role);
        CPY(s->m_node, r->member->node);
        CPY(s->m_room, r->member->room_id);
        s->m_joined = r->member->joined_at;
    }
    s->nmembers = r->nmembers;
    for (size_t i = 0; i < r->nmembers && i < SN; i++) {
        CPY(s->members[i], r->members[i].id);
        CPY(s->member_users[i], r->members[i].user_id);
        CPY(s->member_rooms[i], r->members[i].room_id);
        CPY(s->member_nodes[i], r->members[i].node);
    }
    s->nchat = r->nchat;
    for (size_t i = 0; i < r->nchat && i < SN; i++) {
        snprintf(s->chat[i], sizeof(s->chat[i]), "%.*s", (int)r->chat[i].len, r->chat[i].data);
    }
    s->nrooms = r->nrooms;
    for (size_t i = 0; i < r->nrooms && i < SN; i++) {
        CPY(s->rooms[i], r->rooms[i].id);
        s->rooms_live[i] = r->rooms[i].live;
    }
    s->nids = r->nids;
    for (size_t i = 0; i < r->nids && i < SN; i++) {
        CPY(s->ids[i], r->ids[i]);
    }
    s->nnodes = r->nnodes;
    for (size_t i = 0; i < r->nnodes && i < SN; i++) {
        CPY(s->nodes[i], r->nodes[i]);
    }
    s->nsfus = r->nsfus;
    for (size_t i = 0; i < r->nsfus && i < SN; i++) {
        CPY(s->sfus[i], r->sfus[i].id);
        s->sfu_load[i] = r->sfus[i].load;
    }
    CPY(s->sfu, r->sfu);
}

/* True when list (n entries) contains s. */
static bool has(char (*list)[80], size_t n, const char *s)
{
    for (size_t i = 0; i < n && i < SN; i++) {
        if (strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* --- the loop --- */

static uv_loop_t *L;
static uv_timer_t guard;
static bool guard_fired;
static int64_t clock_off; /* added to the wall clock: idle expiry without waiting a day */
static int64_t clock_tick;

/* Strictly increasing wall-clock ms, so join order is deterministic. */
static int64_t test_clock(void)
{
    return clock_wall_ms() + clock_off + clock_tick++;
}

static void on_guard(uv_timer_t *t)
{
    guard_fired = true;
}

/* Runs the loop until pred(arg) or ms pass. Returns pred(arg). */
static bool wait_until(bool (*pred)(const void *), const void *arg, uint64_t ms)
{
    guard_fired = false;
    uv_timer_start(&guard, on_guard, ms, 0);
    while (!pred(arg) && !guard_fired) {
        uv_run(L, UV_RUN_ONCE);
    }
    uv_timer_stop(&guard);
    return pred(arg);
}

static bool flag_set(const void *p)
{
    return *(const bool *)p;
}

static bool is_healthy(const void *st)
{
    return store_healthy((const store_t *)st);
}

__attribute__((unused)) static bool is_unhealthy(const void *st)
{
    return !store_healthy((const store_t *)st);
}

/* Runs the loop until *flag or ms pass. Returns *flag. */
static bool wait_flag(const bool *flag, uint64_t ms)
{
    return wait_until(flag_set, flag, ms);
}

/* Runs the loop for ms (to let a TTL pass: the thing under test is time itself). */
static void wait_ms(uint64_t ms)
{
    bool never = false;
    wait_flag(&never, ms);
}

static snap_t S;
/* Runs one store call with snap_cb/&S and waits for it (5 s guard). The callback must not run
 * before the call returns. */
#define DO(call)                                                         \
    do {                                                                 \
        memset(&S, 0, sizeof(S));                                        \
        call;                                                            \
        S.returned = true;                                               \
        if (!wait_flag(&S.done, 5000))                                   \
            T_FAIL_("no completion within 5 s: %s", #call);              \
        if (S.early)                                                     \
            T_FAIL_("callback ran before the call returned: %s", #call); \
    } while (0)
#define DO_ERR(call, want)                                                                      \
    do {                                                                                        \
        DO(call);                                                                               \
        if (S.err != (want))                                                                    \
            T_FAIL_("%s: err %d (%s), want %d (%s)", #call, S.err, store_strerror(S.err), want, \
                    store_strerror(want));                                                      \
    } while (0)
#define DO_OK(call) DO_ERR(call, STORE_OK)

/* pub/sub and state observations */
#define MSGS 32
static struct {
    int n;
    store_t *st[MSGS];
    char channel[MSGS][64];
    char data[MSGS][128];
    size_t len[MSGS];
} M;
static int ups, downs;
static bool up_now;

static void on_msg(store_t *st, const char *ch, const char *data, size_t len, void *ud)
{
    if (M.n < MSGS) {
        M.st[M.n] = st;
        snprintf(M.channel[M.n], sizeof(M.channel[0]), "%s", ch);
        memcpy(M.data[M.n], data, len < sizeof(M.data[0]) ? len : sizeof(M.data[0]));
        M.len[M.n] = len;
        M.n++;
    }
}

static void on_state(store_t *st, bool up, void *ud)
{
    up ? ups++ : downs++;
    up_now = up;
}

static void loop_begin(void)
{
    L = malloc(sizeof(*L));
    uv_loop_init(L);
    uv_timer_init(L, &guard);
    memset(&M, 0, sizeof(M));
    ups = downs = 0;
    up_now = false;
    clock_off = 0;
}

static void on_walk(uv_handle_t *h, void *arg)
{
    fprintf(stderr, "  leaked handle: type %d active %d\n", (int)h->type, uv_is_active(h));
}

/* Closes the guard, drains the loop, and checks uv_loop_close() == 0. */
static int loop_end(void)
{
    uv_close((uv_handle_t *)&guard, NULL);
    for (int i = 0; i < 20; i++) {
        uv_run(L, UV_RUN_NOWAIT);
    }
    int rc = uv_loop_close(L);
    if (rc != 0) {
        uv_walk(L, on_walk, NULL);
        fprintf(stderr, "  uv_loop_close: %s\n", uv_strerror(rc));
        /* leave the loop allocated: its handles point into it */
        return rc;
    }
    free(L);
    L = NULL;
    return 0;
}

static void on_closed(store_t *st, void *ud)
{
    *(bool *)ud = true;
}

/* Closes st and waits for its close callback. Returns true when it came. */
static bool close_store(store_t *st)
{
    bool closed = false;
    store_close(st, on_closed, &closed);
    return wait_flag(&closed, 5000);
}

static unsigned prefix_seq;

/* Opens a store on L: redis (url NULL: the shared server over TCP) or memory. A fresh key
 * prefix per store keeps tests apart on the shared server (same_prefix: the previous one, for
 * a second "node"). Waits for it to be up. */
static store_t *open_store(bool redis, const char *url, bool same_prefix, store_opts_t *extra)
{
    char u[160], prefix[32];
    if (redis && !url) {
        if (redis_ensure() != 0) {
            return NULL;
        }
        snprintf(u, sizeof(u), "redis://127.0.0.1:%d", R.port);
        url = u;
    }
    if (!same_prefix) {
        prefix_seq++;
    }
    snprintf(prefix, sizeof(prefix), "t%u-%d:", prefix_seq, (int)getpid());
    store_opts_t o = extra ? *extra : (store_opts_t){ 0 };
    o.url = redis ? url : NULL;
    o.prefix = prefix;
    o.clock = test_clock;
    o.on_message = on_msg;
    o.on_state = on_state;
    store_t *st = NULL;
    char err[256] = "";
    if (store_open(L, &o, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "  store_open: %s\n", err);
        return NULL;
    }
    if (redis && !wait_until(is_healthy, st, 5000)) {
        fprintf(stderr, "  redis store did not come up\n");
    }
    return st;
}

#endif
