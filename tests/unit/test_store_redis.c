/* tests/unit/test_store_redis.c: what only the Redis backend has: a server killed and started
 * again on the same port mid-test (prompt STORE_EUNAVAILABLE, then reconnect and resubscribe by
 * itself), a hung server (SIGSTOP: command and connect timeouts), scripts flushed under it, no
 * server at start, two stores as two nodes (pub/sub, shared state, races, reaping), URLs (unix
 * socket, host names via uv_getaddrinfo, db), and closing with commands in flight. */
#include "test_store_lib.h"

#define START(r_, s_, c_, n_)                                                               \
    store_room_start(st, &(store_start_t){ .room = r_, .sub = s_, .conn = c_, .node = n_ }, \
                     snap_cb, &S)
#define GET(r_) store_room_get(st, r_, snap_cb, &S)
#define JOIN(r_, c_, u_, n_)                                                                \
    store_member_join(                                                                      \
        st,                                                                                 \
        &(store_join_t){                                                                    \
            .room = r_, .conn = c_, .user = u_, .name = u_, .role = "viewer", .node = n_ }, \
        snap_cb, &S)

/* Fast reconnects and short timeouts, so failures show within a test's time. */
static const store_opts_t FAST = { .connect_timeout_ms = 300,
                                   .command_timeout_ms = 300,
                                   .ping_interval_ms = 100,
                                   .reconnect_min_ms = 20,
                                   .reconnect_max_ms = 200 };

/* Opens a store with opts, runs fn, closes, checks the loop. */
static void run(void (*fn)(store_t *), const store_opts_t *o)
{
    loop_begin();
    store_t *st = open_store(true, NULL, false, (store_opts_t *)o);
    if (st && store_healthy(st)) {
        fn(st);
    } else {
        fprintf(stderr, "  could not open the redis store\n");
        t__failed_now = 1;
    }
    int failed = t__failed_now;
    if (st && !close_store(st)) {
        fprintf(stderr, "  store did not close\n");
        failed = 1;
    }
    if (loop_end() != 0) {
        failed = 1;
    }
    t__failed_now = failed;
}

static bool msgs_at_least(const void *n)
{
    return M.n >= *(const int *)n;
}

static bool subscribed_2(const void *st)
{
    store_stats_t s;
    store_stats((const store_t *)st, &s);
    return s.subscribed == 2;
}

static void case_restart(store_t *st)
{
    DO_OK(store_subscribe(st, "ev", snap_cb, &S));
    DO_OK(START("x1", "alice", "c1", "n1"));
    int downs0 = downs, ups0 = ups;
    redis_stop(); /* SIGKILL mid-test */
    ASSERT(wait_until(is_unhealthy, st, 3000));
    ASSERT_EQ(downs, downs0 + 1);
    uint64_t t0 = clock_mono_ms();
    DO_ERR(GET("x1"), STORE_EUNAVAILABLE);
    DO_ERR(store_publish(st, "ev", "x", 1, snap_cb, &S), STORE_EUNAVAILABLE);
    DO_ERR(store_subscribe(st, "ev2", snap_cb, &S), STORE_EUNAVAILABLE); /* kept for later */
    DO_ERR(store_subscribe(st, "ev", snap_cb, &S), STORE_EUNAVAILABLE);  /* a 2nd ref: not active */
    ASSERT_EQ(store_unsubscribe(st, "ev"), 0);
    ASSERT(clock_mono_ms() - t0 < 100); /* prompt: nothing waits for Redis */
    ASSERT(!store_healthy(st));
    wait_ms(150); /* down for a while: refused reconnect attempts, with backoff */
    store_stats_t s;
    store_stats(st, &s);
    ASSERT(s.connect_errors >= 4);
    ASSERT_EQ(s.timeouts, 0);     /* refusals are seen at once, not through the connect timeout */
    ASSERT_EQ(redis_ensure(), 0); /* the same port */
    ASSERT(wait_until(is_healthy, st, 5000));
    ASSERT_EQ(ups, ups0 + 1);
    DO_ERR(GET("x1"), STORE_ENOTFOUND); /* a new server without persistence */
    DO_OK(START("x1", "alice", "c1", "n1"));
    ASSERT(wait_until(subscribed_2, st, 3000)); /* both channels re-subscribed by themselves */
    DO_OK(store_publish(st, "ev", "a", 1, snap_cb, &S));
    ASSERT_EQ(S.count, 1);
    DO_OK(store_publish(st, "ev2", "b", 1, snap_cb, &S));
    ASSERT_EQ(S.count, 1);
    int want = 2;
    ASSERT(wait_until(msgs_at_least, &want, 3000));
    ASSERT_STR_EQ(M.channel[0], "ev");
    ASSERT_STR_EQ(M.channel[1], "ev2");
    store_stats(st, &s);
    ASSERT(s.disconnects >= 2 && s.connects >= 4);
    ASSERT_EQ(s.unavailable, 4);
    ASSERT_EQ(s.pending, 0);
}

TEST(redis_restarted_mid_test)
{
    run(case_restart, &FAST);
}

static void case_hung(store_t *st)
{
    DO_OK(START("y1", "alice", "c1", "n1"));
    kill(R.pid, SIGSTOP); /* accepts TCP, answers nothing */
    uint64_t t0 = clock_mono_ms();
    DO_ERR(GET("y1"), STORE_EUNAVAILABLE);
    uint64_t took = clock_mono_ms() - t0;
    ASSERT(took >= 250 && took < 1500); /* the 300 ms command timeout, not a hang */
    store_stats_t s;
    store_stats(st, &s);
    ASSERT(s.timeouts >= 1);
    ASSERT(!store_healthy(st));
    t0 = clock_mono_ms();
    DO_ERR(GET("y1"), STORE_EUNAVAILABLE); /* reconnecting: fails at once */
    ASSERT(clock_mono_ms() - t0 < 100);
    wait_ms(400); /* reconnect attempts hit the 300 ms connect timeout meanwhile */
    store_stats(st, &s);
    ASSERT(s.timeouts >= 2);
    kill(R.pid, SIGCONT);
    ASSERT(wait_until(is_healthy, st, 5000));
    DO_OK(GET("y1")); /* the same server: the data is still there */
    ASSERT(S.room.live);
}

static void case_idle(store_t *st)
{
    DO_OK(store_subscribe(st, "quiet", snap_cb, &S));
    wait_ms(1000); /* ten heartbeat periods with nothing else going on */
    store_stats_t s;
    store_stats(st, &s);
    ASSERT(store_healthy(st));
    ASSERT_EQ(s.disconnects, 0); /* the heartbeat keeps both connections up: no false alarm */
    ASSERT_EQ(s.timeouts, 0);
    ASSERT_EQ(s.subscribed, 1);
    ASSERT_EQ(s.received, 0); /* heartbeats are not delivered to the app */
}

TEST(redis_idle_heartbeat)
{
    run(case_idle, &FAST);
}

TEST(redis_hung_server_times_out)
{
    run(case_hung, &FAST);
}

/* Runs redis-cli against the test server with up to 8 arguments; returns its exit status. */
static int redis_cli(const char *const *args)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", R.port);
    const char *argv[12] = { "redis-cli", "-p", port };
    for (int i = 0; args[i] && i < 8; i++) {
        argv[3 + i] = args[i];
    }
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execvp("redis-cli", (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void case_noscript(store_t *st)
{
    DO_OK(START("f1", "alice", "c1", "n1"));
    ASSERT_EQ(redis_cli((const char *[]){ "SCRIPT", "FLUSH", NULL }), 0);
    DO_ERR(GET("f1"), STORE_EUNAVAILABLE); /* NOSCRIPT: the connection is redone */
    ASSERT(wait_until(is_healthy, st, 5000));
    DO_OK(GET("f1")); /* the handshake loaded the scripts again */
}

TEST(redis_scripts_flushed)
{
    run(case_noscript, &FAST);
}

TEST(redis_down_at_start)
{
    loop_begin();
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", free_port()); /* nothing listens */
    store_opts_t o = FAST;
    o.url = url;
    o.clock = test_clock;
    o.on_state = on_state;
    store_t *st = NULL;
    char err[128];
    ASSERT_EQ(store_open(L, &o, &st, err, sizeof(err)), 0);
    ASSERT(!store_healthy(st));
    ASSERT_STR_EQ(store_backend(st), "redis");
    uint64_t t0 = clock_mono_ms();
    DO_ERR(GET("r1"), STORE_EUNAVAILABLE);
    DO_ERR(store_subscribe(st, "c", snap_cb, &S), STORE_EUNAVAILABLE);
    ASSERT(clock_mono_ms() - t0 < 100);
    wait_ms(300); /* several refused attempts with backoff */
    ASSERT(!store_healthy(st));
    ASSERT_EQ(ups, 0);
    store_stats_t s;
    store_stats(st, &s);
    ASSERT_EQ(s.connects, 0);
    ASSERT(s.connect_errors >= 6); /* 20, 40, 80, 160 ms backoff, both connections */
    ASSERT_EQ(s.timeouts, 0);
    ASSERT(close_store(st)); /* while a reconnect is scheduled */
    ASSERT_EQ(loop_end(), 0);
}

/* --- two nodes --- */

static snap_t S2;

static void case_two_nodes(store_t *a)
{
    store_t *b = open_store(true, NULL, true, NULL); /* same prefix: the same deployment */
    ASSERT(b && store_healthy(b));
    store_t *st = a;
    DO_OK(store_subscribe(b, "room:z", snap_cb, &S));
    DO_OK(store_subscribe(a, "room:z", snap_cb, &S));
    DO_OK(store_publish(a, "room:z", "hello", 5, snap_cb, &S));
    ASSERT_EQ(S.count, 2); /* both nodes, the sender included */
    int want = 2;
    ASSERT(wait_until(msgs_at_least, &want, 3000));
    ASSERT(M.st[0] != M.st[1]);
    ASSERT_MEM_EQ(M.data[0], M.len[0], "hello", 5);
    ASSERT_MEM_EQ(M.data[1], M.len[1], "hello", 5);
    /* shared state */
    DO_OK(START("z1", "alice", "c1", "na"));
    st = b;
    DO_OK(JOIN("z1", "v1", "u1", "nb"));
    ASSERT(S.room.live);
    ASSERT_EQ(S.count, 1);
    st = a;
    DO_OK(GET("z1"));
    ASSERT_EQ(S.room.viewers, 1);
    /* two admins start the same room at once on two nodes: exactly one wins */
    memset(&S, 0, sizeof(S));
    memset(&S2, 0, sizeof(S2));
    store_room_start(a, &(store_start_t){ .room = "z2", .sub = "ann", .conn = "ca", .node = "na" },
                     snap_cb, &S);
    store_room_start(b, &(store_start_t){ .room = "z2", .sub = "ben", .conn = "cb", .node = "nb" },
                     snap_cb, &S2);
    S.returned = S2.returned = true;
    ASSERT(wait_flag(&S.done, 3000) && wait_flag(&S2.done, 3000));
    ASSERT((S.err == 0) != (S2.err == 0));
    ASSERT_EQ(S.err + S2.err, STORE_ECONFLICT);
    /* node na dies (its heartbeat expires); nb reaps it */
    DO_OK(store_node_beat(a, "na", 200, NULL, snap_cb, &S));
    DO_OK(store_node_beat(b, "nb", 10000, NULL, snap_cb, &S));
    st = a;
    DO_OK(JOIN("z1", "v2", "u2", "na"));
    wait_ms(300); /* the TTL under test */
    DO_OK(store_nodes_reap(b, "nb", snap_cb, &S));
    ASSERT_EQ(S.nnodes, 1);
    ASSERT_STR_EQ(S.nodes[0], "na");
    ASSERT_EQ(S.nmembers, 1);
    ASSERT_STR_EQ(S.members[0], "v2");
    ASSERT(has(S.ids, S.nids, "z1"));              /* published from na */
    DO_OK(store_nodes_reap(a, "na", snap_cb, &S)); /* someone else did the work */
    ASSERT_EQ(S.nnodes, 0);
    DO_OK(GET("z1"));
    ASSERT(!S.room.live);
    ASSERT_EQ(S.room.viewers, 1); /* v1 on nb stays */
    ASSERT(close_store(b));
}

TEST(redis_two_nodes)
{
    run(case_two_nodes, NULL);
}

/* --- URLs --- */

TEST(redis_urls)
{
    loop_begin();
    ASSERT_EQ(redis_ensure(), 0);
    const char *bad[] = { "redis://",        "redis://:6379", "redis://h:0",
                          "redis://h:99999", "redis://h/abc", "http://h",
                          "unix://relative", "redis://[::1",  "redis://h:12x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        store_opts_t o = { .url = bad[i] };
        store_t *st = (store_t *)1;
        char err[128] = "";
        if (store_open(L, &o, &st, err, sizeof(err)) != -1 || st != NULL || !*err) {
            fprintf(stderr, "  url %s was accepted\n", bad[i]);
            t__failed_now = 1;
        }
    }
    char url[160];
    snprintf(url, sizeof(url), "unix://%s", R.sock);
    store_t *st = open_store(true, url, false, NULL);
    ASSERT(st && store_healthy(st));
    DO_OK(START("u1", "alice", "c1", "n1"));
    /* the same prefix through a host name (uv_getaddrinfo) and database 2: another keyspace */
    snprintf(url, sizeof(url), "redis://localhost:%d/2", R.port);
    store_t *db2 = open_store(true, url, true, NULL);
    ASSERT(db2 && store_healthy(db2));
    store_t *keep = st;
    st = db2;
    DO_ERR(GET("u1"), STORE_ENOTFOUND);
    DO_OK(START("u1", "bob", "c1", "n1"));
    st = keep;
    DO_OK(GET("u1"));
    ASSERT_STR_EQ(S.r_owner, "alice");
    ASSERT(close_store(db2));
    ASSERT(close_store(st));
    ASSERT_EQ(loop_end(), 0);
}

/* --- closing --- */

static int completions, completions_ok;
static void on_count(store_t *st, const store_res_t *r, void *ud)
{
    completions++;
    completions_ok += r->err == 0;
}

TEST(redis_close_with_commands_in_flight)
{
    loop_begin();
    store_t *st = open_store(true, NULL, false, NULL);
    ASSERT(st && store_healthy(st));
    completions = completions_ok = 0;
    for (int i = 0; i < 50; i++) {
        char room[16];
        snprintf(room, sizeof(room), "w%d", i);
        store_room_start(st, &(store_start_t){ .room = room, .sub = "a", .conn = "c", .node = "n" },
                         on_count, NULL);
    }
    ASSERT(close_store(st));
    ASSERT_EQ(completions, 50);
    ASSERT_EQ(completions_ok, 50); /* the graceful disconnect waited for the replies */
    ASSERT_EQ(loop_end(), 0);
}

static bool closed_in_cb;
static void close_from_cb(store_t *st, const store_res_t *r, void *ud)
{
    store_close(st, on_closed, &closed_in_cb); /* inside a hiredis reply callback */
    store_room_get(st, "r", snap_cb, &S);      /* after close: ECLOSED */
    S.returned = true;
}

TEST(redis_close_from_a_callback)
{
    loop_begin();
    store_t *st = open_store(true, NULL, false, NULL);
    ASSERT(st && store_healthy(st));
    closed_in_cb = false;
    memset(&S, 0, sizeof(S));
    store_room_get(st, "r", close_from_cb, NULL);
    ASSERT(wait_flag(&closed_in_cb, 5000));
    ASSERT(S.done);
    ASSERT_EQ(S.err, STORE_ECLOSED);
    ASSERT_EQ(loop_end(), 0);
}

TEST(redis_auth)
{
    loop_begin();
    ASSERT_EQ(redis_ensure(), 0);
    ASSERT_EQ(redis_cli((const char *[]){ "ACL", "SETUSER", "tester", "on", ">s3cret", "~*", "&*",
                                          "+@all", NULL }),
              0);
    char url[160];
    snprintf(url, sizeof(url), "redis://tester:s3cret@127.0.0.1:%d", R.port);
    store_t *st = open_store(true, url, false, NULL);
    ASSERT(st && store_healthy(st));
    DO_OK(START("k1", "alice", "c1", "n1"));
    DO_OK(store_subscribe(st, "k", snap_cb, &S)); /* the sub connection authenticated too */
    ASSERT(close_store(st));
    /* a wrong password: never up, operations fail at once, retried quietly */
    store_opts_t o = FAST;
    snprintf(url, sizeof(url), "redis://tester:wrong@127.0.0.1:%d", R.port);
    o.url = url;
    o.on_state = on_state;
    char err[128];
    ASSERT_EQ(store_open(L, &o, &st, err, sizeof(err)), 0);
    wait_ms(300);
    ASSERT(!store_healthy(st));
    DO_ERR(GET("k1"), STORE_EUNAVAILABLE);
    store_stats_t s;
    store_stats(st, &s);
    ASSERT(s.connect_errors >= 4);
    ASSERT(close_store(st));
    ASSERT_EQ(loop_end(), 0);
}
