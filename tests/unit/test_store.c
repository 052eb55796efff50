/* tests/unit/test_store.c: ONE table of store semantics, run against both backends: memory, and
 * a real redis-server this binary starts itself (test_store_lib.h; a missing redis-server is a
 * failure). Every call checks that its callback runs after the call returned; every case ends
 * with the store closed and uv_loop_close() == 0 (and LeakSanitizer in build/asan). */
#include "test_store_lib.h"

#define START(r_, s_, c_, n_, t_)                                                           \
    store_room_start(                                                                       \
        st, &(store_start_t){ .room = r_, .sub = s_, .conn = c_, .node = n_, .title = t_ }, \
        snap_cb, &S)
#define STOP(r_, s_, c_) store_room_stop(st, r_, s_, c_, snap_cb, &S)
#define GET(r_)          store_room_get(st, r_, snap_cb, &S)
#define JOIN(r_, c_, u_, role_, n_, max_)                     \
    store_member_join(st,                                     \
                      &(store_join_t){ .room = r_,            \
                                       .conn = c_,            \
                                       .user = u_,            \
                                       .name = u_,            \
                                       .role = role_,         \
                                       .node = n_,            \
                                       .max_viewers = max_ }, \
                      snap_cb, &S)
#define LEAVE(r_, c_)             store_member_leave(st, r_, c_, snap_cb, &S)
#define KICK(r_, c_, o_, ms)      store_viewer_kick(st, r_, c_, o_, ms, snap_cb, &S)
#define UPDATE(r_, o_, live_, p_) store_room_update(st, r_, o_, live_, p_, snap_cb, &S)
#define APPEND(r_, s_, n_)        store_chat_append(st, r_, s_, n_, snap_cb, &S)
#define CLAIM(r_, s_, f_)         store_room_sfu_claim(st, r_, s_, f_, snap_cb, &S)
#define SFU_BEAT(id_, load_, ttl_)                                                    \
    store_sfu_beat(st,                                                                \
                   &(store_sfu_t){ .id = id_,                                         \
                                   .node = "n1",                                      \
                                   .load = load_,                                     \
                                   .capacity = 10,                                    \
                                   .info = "{\"rpc\":\"/run/onair/" id_ ".sock\"}" }, \
                   ttl_, snap_cb, &S)

static void run_case(void (*fn)(store_t *), bool redis)
{
    loop_begin();
    store_t *st = open_store(redis, NULL, false, NULL);
    if (st && store_healthy(st)) {
        fn(st);
    } else {
        fprintf(stderr, "  could not open the %s store\n", redis ? "redis" : "memory");
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

/* A case of the table: runs as mem_<name> and redis_<name>. */
#define BOTH(name)                        \
    static void case_##name(store_t *st); \
    TEST(mem_##name)                      \
    {                                     \
        run_case(case_##name, false);     \
    }                                     \
    TEST(redis_##name)                    \
    {                                     \
        run_case(case_##name, true);      \
    }                                     \
    static void case_##name(store_t *st)

BOTH(room_lifecycle)
{
    DO_OK(START("r1", "alice", "c1", "n1", NULL));
    ASSERT(S.changed && S.has_room);
    ASSERT_STR_EQ(S.r_id, "r1");
    ASSERT_STR_EQ(S.r_title, "r1"); /* defaults to the id */
    ASSERT_STR_EQ(S.r_owner, "alice");
    ASSERT(S.room.live && S.room.started_at > 0);
    ASSERT_EQ(S.count, 0);
    ASSERT_STR_EQ(S.r_rec, "(null)");
    ASSERT_STR_EQ(S.r_media, "(null)");
    ASSERT_STR_EQ(S.r_sfu, "(null)");
    int64_t started = S.room.started_at;
    /* the owner again (a reconnect): idempotent, title updated, publisher moves */
    DO_OK(START("r1", "alice", "c2", "n2", "Hello"));
    ASSERT(!S.changed);
    ASSERT_STR_EQ(S.r_title, "Hello");
    ASSERT_STR_EQ(S.r_conn, "c2");
    ASSERT_STR_EQ(S.r_node, "n2");
    ASSERT_EQ(S.room.started_at, started);
    DO_ERR(START("r1", "bob", "c3", "n1", NULL), STORE_ECONFLICT);
    DO_ERR(STOP("r1", "bob", NULL), STORE_EFORBIDDEN);
    DO_OK(STOP("r1", "alice", NULL));
    ASSERT(S.changed && !S.room.live);
    ASSERT_EQ(S.room.started_at, 0);
    ASSERT_STR_EQ(S.r_title, "Hello");
    DO_OK(STOP("r1", "alice", NULL)); /* not live: idempotent */
    ASSERT(!S.changed);
    DO_ERR(STOP("r1", "bob", NULL), STORE_EFORBIDDEN); /* another's room, live or not */
    DO_OK(START("r1", "alice", "c1", "n1", NULL));
    ASSERT(S.changed);
    ASSERT_STR_EQ(S.r_title, "Hello"); /* same owner keeps the title */
    DO_OK(STOP("r1", NULL, NULL));     /* a system stop (media-failed) */
    ASSERT(S.changed);
    /* another admin takes over a room that is not live */
    DO_OK(START("r1", "bob", "c3", "n1", NULL));
    ASSERT(S.changed);
    ASSERT_STR_EQ(S.r_owner, "bob");
    ASSERT_STR_EQ(S.r_title, "r1");
    DO_OK(GET("r1"));
    ASSERT_STR_EQ(S.r_owner, "bob");
    ASSERT(S.room.live);
    ASSERT(S.room.created_at > 0 && S.room.last_active >= S.room.created_at);
    DO_ERR(GET("nope"), STORE_ENOTFOUND);
    DO_ERR(STOP("nope", NULL, NULL), STORE_ENOTFOUND);
}

/* store_rooms_owned: the rooms a sub owns now (a takeover moves the room to the new owner). */
BOTH(rooms_owned)
{
    DO_OK(START("o1", "alice", "c1", "n1", NULL));
    DO_OK(START("o2", "alice", "c1", "n1", NULL));
    DO_OK(START("o3", "bob", "c2", "n1", NULL));
    DO_OK(store_rooms_owned(st, "alice", snap_cb, &S));
    ASSERT_EQ(S.nrooms, 2);
    ASSERT(has(S.rooms, S.nrooms, "o1") && has(S.rooms, S.nrooms, "o2"));
    DO_OK(STOP("o2", "alice", NULL)); /* not live: still hers */
    DO_OK(store_rooms_owned(st, "alice", snap_cb, &S));
    ASSERT_EQ(S.nrooms, 2);
    DO_OK(START("o2", "bob", "c2", "n1", NULL)); /* taken over */
    DO_OK(store_rooms_owned(st, "alice", snap_cb, &S));
    ASSERT_EQ(S.nrooms, 1);
    ASSERT(has(S.rooms, S.nrooms, "o1"));
    DO_OK(store_rooms_owned(st, "bob", snap_cb, &S));
    ASSERT_EQ(S.nrooms, 2);
    ASSERT(has(S.rooms, S.nrooms, "o2") && has(S.rooms, S.nrooms, "o3"));
    DO_OK(store_rooms_owned(st, "carol", snap_cb, &S));
    ASSERT_EQ(S.nrooms, 0);
    DO_OK(store_room_list(st, snap_cb, &S)); /* unfiltered */
    ASSERT_EQ(S.nrooms, 3);
    DO_ERR(store_rooms_owned(st, "", snap_cb, &S), STORE_EINVAL);
    DO_ERR(store_rooms_owned(st, NULL, snap_cb, &S), STORE_EINVAL);
}

BOTH(stop_only_current_publisher)
{
    DO_OK(START("r2", "alice", "c1", "n1", NULL));
    DO_OK(START("r2", "alice", "c9", "n2", NULL)); /* came back on c9 within the grace */
    DO_OK(STOP("r2", NULL, "c1"));                 /* c1's grace timer fires: no effect */
    ASSERT(!S.changed && S.room.live);
    DO_OK(STOP("r2", NULL, "c9"));
    ASSERT(S.changed && !S.room.live);
}

BOTH(room_update)
{
    DO_OK(START("r3", "alice", "c1", "n1", NULL));
    store_patch_t p = { .set = STORE_SET_MEDIA_STATE | STORE_SET_RECORDING,
                        .media_state = "{\"audio\":true,\"video\":false}",
                        .recording = "{\"id\":\"rec1\",\"startedAt\":1,\"file\":\"a.webm\"}" };
    DO_ERR(UPDATE("r3", "bob", false, &p), STORE_EFORBIDDEN);
    DO_OK(UPDATE("r3", "alice", true, &p));
    ASSERT(S.changed);
    ASSERT_STR_EQ(S.r_media, p.media_state);
    ASSERT_STR_EQ(S.r_rec, p.recording);
    store_patch_t t = { .set = STORE_SET_TITLE, .title = "Zo\xc3\xab's \"room\" \\ /" };
    DO_OK(UPDATE("r3", NULL, false, &t));
    ASSERT_STR_EQ(S.r_title, t.title);
    store_patch_t clr = { .set = STORE_SET_RECORDING }; /* NULL clears */
    DO_OK(UPDATE("r3", "alice", false, &clr));
    ASSERT_STR_EQ(S.r_rec, "(null)");
    ASSERT_STR_EQ(S.r_media, p.media_state);
    DO_OK(STOP("r3", "alice", NULL)); /* mediaState resets when the broadcast ends */
    ASSERT_STR_EQ(S.r_media, "(null)");
    DO_OK(UPDATE("r3", "alice", true, &p)); /* live_only on a stopped room: nothing */
    ASSERT(!S.changed);
    ASSERT_STR_EQ(S.r_media, "(null)");
    DO_ERR(UPDATE("nope", NULL, false, &p), STORE_ENOTFOUND);
}

BOTH(join_leave)
{
    DO_OK(START("r4", "alice", "a1", "n1", NULL));
    DO_OK(JOIN("r4", "v1", "u1", "viewer", "n1", 0));
    ASSERT(S.changed && S.has_member && S.has_room);
    ASSERT_EQ(S.count, 1);
    ASSERT_EQ(S.room.viewers, 1);
    ASSERT_STR_EQ(S.m_user, "u1");
    ASSERT_STR_EQ(S.m_role, "viewer");
    ASSERT_STR_EQ(S.m_node, "n1");
    ASSERT(S.m_joined > 0);
    ASSERT_EQ(S.nchat, 0);
    DO_OK(JOIN("r4", "v2", "u2", "viewer", "n2", 0));
    ASSERT_EQ(S.count, 2);
    DO_OK(JOIN("r4", "a2", "boss", "admin", "n1", 0));
    ASSERT(S.changed);
    ASSERT_EQ(S.count, 2); /* admins are not viewers */
    DO_OK(JOIN("r4", "v1", "u1", "viewer", "n1", 0));
    ASSERT(!S.changed); /* a repeated join: no second viewer-joined */
    ASSERT_EQ(S.count, 2);
    DO_OK(store_viewers_list(st, "r4", snap_cb, &S));
    ASSERT_EQ(S.nmembers, 2);
    ASSERT_EQ(S.count, 2);
    ASSERT_STR_EQ(S.members[0], "v1"); /* oldest join first */
    ASSERT_STR_EQ(S.members[1], "v2");
    ASSERT_STR_EQ(S.member_nodes[1], "n2");
    ASSERT_STR_EQ(S.member_rooms[0], "r4");
    DO_OK(store_member_get(st, "r4", "a2", snap_cb, &S));
    ASSERT_STR_EQ(S.m_role, "admin");
    ASSERT_STR_EQ(S.m_room, "r4");
    DO_ERR(store_member_get(st, "r4", "zz", snap_cb, &S), STORE_ENOTFOUND);
    DO_ERR(store_member_get(st, "nope", "v1", snap_cb, &S), STORE_ENOTFOUND);
    DO_OK(LEAVE("r4", "v1"));
    ASSERT(S.changed && S.has_member);
    ASSERT_EQ(S.count, 1);
    ASSERT_STR_EQ(S.m_user, "u1");
    DO_OK(LEAVE("r4", "v1"));
    ASSERT(!S.changed);
    ASSERT_EQ(S.count, 1);
    DO_OK(LEAVE("r4", "a2"));
    ASSERT(S.changed);
    ASSERT_STR_EQ(S.m_role, "admin");
    ASSERT_EQ(S.count, 1);
    DO_ERR(JOIN("nope", "v1", "u1", "viewer", "n1", 0), STORE_ENOTFOUND);
    DO_ERR(LEAVE("nope", "v1"), STORE_ENOTFOUND);
    DO_ERR(store_viewers_list(st, "nope", snap_cb, &S), STORE_ENOTFOUND);
    DO_OK(STOP("r4", "alice", NULL)); /* viewers may join a room that is not live */
    DO_OK(JOIN("r4", "v3", "u3", "viewer", "n1", 0));
    ASSERT(S.changed && !S.room.live);
}

BOTH(max_viewers)
{
    DO_OK(START("r5", "alice", "a1", "n1", NULL));
    DO_OK(JOIN("r5", "v1", "u1", "viewer", "n1", 2));
    DO_OK(JOIN("r5", "v2", "u2", "viewer", "n1", 2));
    DO_ERR(JOIN("r5", "v3", "u3", "viewer", "n1", 2), STORE_EFULL);
    DO_OK(JOIN("r5", "a2", "boss", "admin", "n1", 2)); /* admins are not limited */
    DO_OK(JOIN("r5", "v1", "u1", "viewer", "n1", 2));  /* a member again: fine */
    ASSERT(!S.changed);
    DO_OK(LEAVE("r5", "v1"));
    DO_OK(JOIN("r5", "v3", "u3", "viewer", "n1", 2));
    ASSERT(S.changed);
    ASSERT_EQ(S.count, 2);
}

BOTH(kick_and_ban)
{
    DO_OK(START("r6", "alice", "a1", "n1", NULL));
    DO_OK(JOIN("r6", "v1", "u1", "viewer", "n1", 0));
    DO_OK(JOIN("r6", "v2", "u1", "viewer", "n2", 0)); /* the same user, another tab/node */
    DO_OK(JOIN("r6", "v3", "u2", "viewer", "n1", 0));
    DO_OK(JOIN("r6", "a2", "boss", "admin", "n1", 0));
    DO_ERR(KICK("r6", "zz", "bob", 400), STORE_ENOTFOUND); /* not_found before forbidden */
    DO_ERR(KICK("r6", "v1", "bob", 400), STORE_EFORBIDDEN);
    DO_ERR(KICK("r6", "a2", "alice", 400), STORE_ENOTFOUND); /* admins are not viewers */
    DO_ERR(KICK("nope", "v1", NULL, 400), STORE_ENOTFOUND);
    DO_OK(KICK("r6", "v1", "alice", 400));
    ASSERT_EQ(S.nmembers, 2); /* every connection of u1 */
    ASSERT_STR_EQ(S.members[0], "v1");
    ASSERT_STR_EQ(S.members[1], "v2");
    ASSERT_STR_EQ(S.member_nodes[1], "n2");
    ASSERT_STR_EQ(S.member_users[0], "u1");
    ASSERT_EQ(S.count, 1);
    DO_ERR(JOIN("r6", "v4", "u1", "viewer", "n1", 0), STORE_EKICKED);
    DO_ERR(JOIN("r6", "v4", "u1", "viewer", "n1", 1), STORE_EKICKED); /* forbidden before full */
    DO_OK(JOIN("r6", "v5", "u2", "viewer", "n1", 0));                 /* others unaffected */
    wait_ms(450);                                                     /* the ban (400 ms) ends */
    DO_OK(JOIN("r6", "v4", "u1", "viewer", "n1", 0));
    ASSERT(S.changed);
}

BOTH(chat_history)
{
    DO_OK(START("r7", "alice", "a1", "n1", NULL));
    char m[64];
    for (int i = 0; i < 55; i++) {
        snprintf(m, sizeof(m), "{\"id\":\"m%d\",\"text\":\"hi %d\"}", i, i);
        DO_OK(APPEND("r7", m, strlen(m)));
        ASSERT_EQ(S.count, i < 50 ? i + 1 : 50);
    }
    DO_OK(store_chat_list(st, "r7", snap_cb, &S));
    ASSERT_EQ(S.nchat, 50);
    ASSERT_STR_EQ(S.chat[0], "{\"id\":\"m5\",\"text\":\"hi 5\"}"); /* oldest first */
    ASSERT_STR_EQ(S.chat[49], "{\"id\":\"m54\",\"text\":\"hi 54\"}");
    DO_OK(JOIN("r7", "v1", "u1", "viewer", "n1", 0)); /* the join ack carries the history */
    ASSERT_EQ(S.nchat, 50);
    ASSERT_STR_EQ(S.chat[49], "{\"id\":\"m54\",\"text\":\"hi 54\"}");
    const char *u = "{\"text\":\"Zo\xc3\xab \\\"q\\\" \\u2028 / \\\\\"}";
    DO_OK(APPEND("r7", u, strlen(u)));
    DO_OK(store_chat_list(st, "r7", snap_cb, &S));
    ASSERT_STR_EQ(S.chat[49], u); /* bytes as given */
    DO_ERR(APPEND("nope", m, strlen(m)), STORE_ENOTFOUND);
    DO_ERR(store_chat_list(st, "nope", snap_cb, &S), STORE_ENOTFOUND);
    DO_ERR(APPEND("r7", "\xff\xfe", 2), STORE_EINVAL);
    DO_ERR(APPEND("r7", "a\0b", 3), STORE_EINVAL);
    /* RFC 3629, as jansson decodes it: surrogates, overlongs, past U+10FFFF, cut sequences */
    DO_ERR(APPEND("r7", "\"\xed\xa0\x80\"", 5), STORE_EINVAL);
    DO_ERR(APPEND("r7", "\"\xc0\xaf\"", 4), STORE_EINVAL);
    DO_ERR(APPEND("r7", "\"\xf4\x90\x80\x80\"", 6), STORE_EINVAL);
    DO_ERR(APPEND("r7", "\"\xe2\x82", 3), STORE_EINVAL);
    DO_ERR(APPEND("r7", "", 0), STORE_EINVAL);
}

BOTH(idle_expiry)
{
    DO_OK(START("e1", "alice", "c1", "n1", NULL));
    DO_OK(APPEND("e1", "{}", 2));
    DO_OK(STOP("e1", "alice", NULL));              /* idle */
    DO_OK(START("e2", "alice", "c1", "n1", NULL)); /* live */
    DO_OK(START("e3", "alice", "c1", "n1", NULL));
    DO_OK(STOP("e3", "alice", NULL));
    DO_OK(JOIN("e3", "v1", "u1", "viewer", "n1", 0)); /* has a viewer */
    DO_OK(START("e4", "alice", "c1", "n1", NULL));
    DO_OK(STOP("e4", "alice", NULL));
    DO_OK(JOIN("e4", "a1", "boss", "admin", "n1", 0)); /* has an admin */
    DO_OK(store_rooms_expire(st, 24LL * 3600 * 1000, snap_cb, &S));
    ASSERT_EQ(S.nids, 0);
    clock_off = 25LL * 3600 * 1000; /* a day later */
    DO_OK(store_rooms_expire(st, 24LL * 3600 * 1000, snap_cb, &S));
    ASSERT_EQ(S.nids, 1);
    ASSERT_STR_EQ(S.ids[0], "e1");
    DO_ERR(GET("e1"), STORE_ENOTFOUND);
    DO_ERR(store_chat_list(st, "e1", snap_cb, &S), STORE_ENOTFOUND);
    DO_OK(GET("e2"));
    DO_OK(GET("e3"));
    DO_OK(GET("e4"));
    DO_OK(START("e1", "bob", "c2", "n1", NULL)); /* a new room under the old id */
    ASSERT(S.changed);
    ASSERT_STR_EQ(S.r_owner, "bob");
    DO_OK(store_chat_list(st, "e1", snap_cb, &S));
    ASSERT_EQ(S.nchat, 0);
    DO_OK(store_room_list(st, snap_cb, &S));
    ASSERT_EQ(S.nrooms, 4);
    ASSERT(has(S.rooms, S.nrooms, "e1") && has(S.rooms, S.nrooms, "e4"));
}

static bool node_gone, nodes_done;
static void on_nodes(store_t *st, const store_res_t *r, void *ud)
{
    nodes_done = true;
    node_gone = r->err == 0;
    for (size_t i = 0; i < r->nids; i++) {
        node_gone = node_gone && strcmp(r->ids[i], (const char *)ud) != 0;
    }
}

/* Polls the node list until node is gone (its TTL is what is under test), at most 3 s. */
static bool wait_node_gone(store_t *st, const char *node)
{
    for (int i = 0; i < 60; i++) {
        nodes_done = node_gone = false;
        store_nodes_list(st, on_nodes, (void *)node);
        if (!wait_flag(&nodes_done, 5000)) {
            return false;
        }
        if (node_gone) {
            return true;
        }
        wait_ms(50);
    }
    return false;
}

BOTH(nodes_and_reaping)
{
    DO_OK(store_node_beat(st, "n1", 10000, "{\"addr\":\"10.0.0.1\"}", snap_cb, &S));
    ASSERT(S.changed);
    DO_OK(store_node_beat(st, "n1", 10000, NULL, snap_cb, &S));
    ASSERT(!S.changed);
    DO_OK(store_node_beat(st, "n2", 200, NULL, snap_cb, &S));
    DO_OK(store_nodes_list(st, snap_cb, &S));
    ASSERT_EQ(S.nids, 2);
    DO_OK(START("q1", "alice", "c1", "n2", NULL)); /* published from n2 */
    DO_OK(START("q2", "bob", "c2", "n1", NULL));
    DO_OK(JOIN("q1", "v1", "u1", "viewer", "n2", 0));
    DO_OK(JOIN("q2", "v2", "u2", "viewer", "n2", 0));
    DO_OK(JOIN("q1", "v3", "u3", "viewer", "n1", 0));
    DO_OK(JOIN("q2", "a9", "boss", "admin", "n2", 0));
    DO_OK(store_nodes_reap(st, "n1", snap_cb, &S)); /* n2 is alive */
    ASSERT_EQ(S.nnodes, 0);
    ASSERT_EQ(S.nmembers, 0);
    ASSERT(wait_node_gone(st, "n2"));
    DO_OK(store_nodes_reap(st, "n2", snap_cb, &S)); /* never reaps itself */
    ASSERT_EQ(S.nnodes, 0);
    DO_OK(store_nodes_reap(st, "n1", snap_cb, &S));
    ASSERT_EQ(S.nnodes, 1);
    ASSERT_STR_EQ(S.nodes[0], "n2");
    ASSERT_EQ(S.nmembers, 3);
    ASSERT_STR_EQ(S.members[0], "v1");
    ASSERT_STR_EQ(S.member_rooms[0], "q1");
    ASSERT_STR_EQ(S.members[2], "a9");
    ASSERT_EQ(S.nids, 1);
    ASSERT_STR_EQ(S.ids[0], "q1");
    DO_OK(GET("q1"));
    ASSERT(!S.room.live);
    ASSERT_EQ(S.room.viewers, 1); /* v3 (on n1) stays */
    DO_OK(GET("q2"));
    ASSERT(S.room.live);
    ASSERT_EQ(S.room.viewers, 0);
    DO_OK(store_nodes_reap(st, "n1", snap_cb, &S)); /* the work is done once */
    ASSERT_EQ(S.nnodes, 0);
    ASSERT_EQ(S.nmembers, 0);
    /* a clean shutdown of n1 */
    DO_OK(store_node_leave(st, "n1", snap_cb, &S));
    ASSERT_EQ(S.nnodes, 1);
    ASSERT_EQ(S.nmembers, 1);
    ASSERT_STR_EQ(S.members[0], "v3");
    ASSERT_EQ(S.nids, 1);
    ASSERT_STR_EQ(S.ids[0], "q2");
    DO_OK(store_nodes_list(st, snap_cb, &S));
    ASSERT_EQ(S.nids, 0);
    /* a member who left before the reap is not reported */
    DO_OK(store_node_beat(st, "n3", 10000, NULL, snap_cb, &S));
    ASSERT(S.changed);
    DO_OK(JOIN("q2", "v7", "u7", "viewer", "n3", 0));
    DO_OK(LEAVE("q2", "v7"));
    DO_OK(store_node_leave(st, "n3", snap_cb, &S));
    ASSERT_EQ(S.nmembers, 0);
}

BOTH(sfu_registry_and_placement)
{
    DO_OK(SFU_BEAT("s1", 3, 10000));
    ASSERT(S.changed);
    DO_OK(SFU_BEAT("s2", 1, 10000));
    DO_OK(SFU_BEAT("s1", 4, 10000));
    ASSERT(!S.changed);
    DO_OK(store_sfu_list(st, snap_cb, &S));
    ASSERT_EQ(S.nsfus, 2);
    ASSERT_EQ(S.sfu_load[strcmp(S.sfus[0], "s1") == 0 ? 0 : 1], 4);
    DO_OK(START("p1", "alice", "c1", "n1", NULL));
    DO_OK(CLAIM("p1", "s1", false));
    ASSERT(S.changed);
    ASSERT_STR_EQ(S.sfu, "s1");
    ASSERT_STR_EQ(S.r_sfu, "s1");
    DO_OK(CLAIM("p1", "s2", false)); /* another node lost the race: keeps s1 */
    ASSERT(!S.changed);
    ASSERT_STR_EQ(S.sfu, "s1");
    DO_OK(CLAIM("p1", "s2", true));
    ASSERT(S.changed);
    ASSERT_STR_EQ(S.sfu, "s2");
    DO_OK(store_sfu_remove(st, "s2", snap_cb, &S));
    ASSERT(S.changed);
    DO_OK(store_sfu_remove(st, "s2", snap_cb, &S));
    ASSERT(!S.changed);
    DO_OK(CLAIM("p1", "s1", false)); /* the placement died: moves */
    ASSERT(S.changed);
    ASSERT_STR_EQ(S.sfu, "s1");
    DO_ERR(CLAIM("p1", "s9", true), STORE_EUNAVAILABLE); /* not registered */
    DO_ERR(CLAIM("nope", "s1", false), STORE_ENOTFOUND);
    store_patch_t sp = { .set = STORE_SET_SFU, .sfu = "s7" };
    DO_OK(UPDATE("p1", NULL, false, &sp));
    ASSERT_STR_EQ(S.r_sfu, "s7");
    sp.sfu = NULL;
    DO_OK(UPDATE("p1", NULL, false, &sp));
    ASSERT_STR_EQ(S.r_sfu, "(null)");
    DO_OK(SFU_BEAT("s3", 0, 100));
    wait_ms(200); /* its TTL */
    DO_OK(store_sfu_list(st, snap_cb, &S));
    ASSERT_EQ(S.nsfus, 1);
    ASSERT_STR_EQ(S.sfus[0], "s1");
}

static bool msgs_at_least(const void *n)
{
    return M.n >= *(const int *)n;
}

BOTH(pubsub)
{
    DO_OK(store_subscribe(st, "room:a", snap_cb, &S));
    DO_OK(store_subscribe(st, "room:a", snap_cb, &S)); /* two references */
    static const char bin[] = "x\0y{\"k\":1}";
    DO_OK(store_publish(st, "room:a", bin, sizeof(bin) - 1, snap_cb, &S));
    ASSERT_EQ(S.count, 1);
    int want = 1;
    ASSERT(wait_until(msgs_at_least, &want, 3000));
    ASSERT_STR_EQ(M.channel[0], "room:a");
    ASSERT_MEM_EQ(M.data[0], M.len[0], bin, sizeof(bin) - 1); /* binary-safe */
    ASSERT(M.st[0] == st);
    ASSERT_EQ(store_unsubscribe(st, "room:a"), 0);
    DO_OK(store_publish(st, "room:a", "two", 3, snap_cb, &S)); /* one reference left */
    want = 2;
    ASSERT(wait_until(msgs_at_least, &want, 3000));
    ASSERT_EQ(store_unsubscribe(st, "room:a"), 0);
    ASSERT_EQ(store_unsubscribe(st, "room:a"), STORE_EINVAL);
    /* unsubscribe then subscribe again at once */
    DO_OK(store_subscribe(st, "room:c", snap_cb, &S));
    ASSERT_EQ(store_unsubscribe(st, "room:c"), 0);
    DO_OK(store_subscribe(st, "room:c", snap_cb, &S));
    DO_OK(store_subscribe(st, "room:b", snap_cb, &S));
    store_publish(st, "room:a", "zero", 4, NULL, NULL);          /* no callback: no result */
    DO_OK(store_publish(st, "room:a", "three", 5, snap_cb, &S)); /* nobody wants it */
    DO_OK(store_publish(st, "room:c", "four", 4, snap_cb, &S));
    DO_OK(store_publish(st, "room:b", "five", 4, snap_cb, &S));
    want = 4;
    ASSERT(wait_until(msgs_at_least, &want, 3000));
    ASSERT_STR_EQ(M.channel[2], "room:c"); /* "three" never arrived */
    ASSERT_MEM_EQ(M.data[2], M.len[2], "four", 4);
    ASSERT_STR_EQ(M.channel[3], "room:b");
    store_stats_t s;
    store_stats(st, &s);
    ASSERT_EQ(s.received, 4);
    ASSERT_EQ(s.published, 6); /* "zero" without a callback too */
    ASSERT_EQ(s.channels, 2);
    ASSERT_EQ(store_unsubscribe(st, "room:b"), 0);
    ASSERT_EQ(store_unsubscribe(st, "room:c"), 0);
}

/* The join ack's history, byte for byte: each entry exactly as appended (length, bytes and the
 * NUL after them), with the characters a JSON round trip could alter: quotes, backslashes,
 * "\/", escaped and raw U+2028/U+2029, 2-4 byte UTF-8, control escapes, and one 64 KiB entry. */
#define HIST 50
static char *hist_want[HIST];
static size_t hist_len[HIST];
static struct {
    bool done;
    int err;
    size_t nchat, same;
    int64_t count;
    bool changed, has_member;
} H;

static void hist_cb(store_t *st, const store_res_t *r, void *ud)
{
    (void)st, (void)ud;
    H.done = true;
    H.err = r->err;
    H.nchat = r->nchat;
    H.count = r->count;
    H.changed = r->changed;
    H.has_member = r->member && strcmp(r->member->id, "hv1") == 0;
    H.same = 0;
    for (size_t i = 0; i < r->nchat && i < HIST; i++) {
        const store_blob_t *b = &r->chat[i];
        H.same += b->len == hist_len[i] && memcmp(b->data, hist_want[i], b->len) == 0 &&
                  b->data[b->len] == 0;
    }
}

BOTH(join_history_bytes)
{
    static const char *const kinds[] = {
        "{\"text\":\"say \\\"hi\\\"\"}",
        "{\"text\":\"C:\\\\dir\\\\file \\\\\\\" end\"}",
        "{\"text\":\"Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x8e\xa5 \xe4\xb8\xad\"}",
        "{\"text\":\"\\u2028 and \\u2029 escaped\"}",
        "{\"text\":\"\xe2\x80\xa8 raw line separator \xe2\x80\xa9\"}",
        "{\"text\":\"a/b <\\/script> \\n\\t\\r\\b\\f \\u0000\"}",
        "not json at all: ' \" \\ } ]",
    };
    DO_OK(START("h1", "alice", "a1", "n1", NULL));
    for (int i = 0; i < HIST + 3; i++) { /* 3 beyond the cap: the oldest go */
        char *m;
        if (i == 20) {
            size_t n = 65536;
            m = malloc(n + 1);
            ASSERT(m);
            for (size_t k = 0; k < n; k++) {
                m[k] = "\\\"/x"[k % 4]; /* backslashes, quotes, slashes */
            }
            memcpy(m, "{\"t\":\"", 6);
            memcpy(m + n - 2, "\"}", 2);
            m[n] = 0;
        } else {
            const char *k = kinds[i % (sizeof(kinds) / sizeof(kinds[0]))];
            size_t n = strlen(k) + 32;
            m = malloc(n);
            ASSERT(m);
            snprintf(m, n, "%d %s", i, k);
        }
        DO_OK(APPEND("h1", m, strlen(m)));
        if (i >= 3) {
            hist_want[i - 3] = m;
            hist_len[i - 3] = strlen(m);
        } else {
            free(m);
        }
    }
    const store_join_t j = {
        .room = "h1", .conn = "hv1", .user = "u1", .name = "U", .role = "viewer", .node = "n1"
    };
    for (int round = 0; round < 2; round++) { /* new member, then already a member */
        memset(&H, 0, sizeof(H));
        store_member_join(st, &j, hist_cb, NULL);
        ASSERT(wait_flag(&H.done, 5000));
        ASSERT_EQ(H.err, STORE_OK);
        ASSERT_EQ(H.changed, round == 0);
        ASSERT_EQ(H.count, 1);
        ASSERT(H.has_member);
        ASSERT_EQ(H.nchat, HIST);
        ASSERT_EQ(H.same, HIST);
    }
    memset(&H, 0, sizeof(H));
    store_chat_list(st, "h1", hist_cb, NULL);
    ASSERT(wait_flag(&H.done, 5000));
    ASSERT_EQ(H.err, STORE_OK);
    ASSERT_EQ(H.nchat, HIST);
    ASSERT_EQ(H.same, HIST);
    /* a join without a callback (the reply is dropped), and the history list stays intact */
    store_member_join(st,
                      &(store_join_t){ .room = "h1",
                                       .conn = "hv2",
                                       .user = "u2",
                                       .name = "V",
                                       .role = "viewer",
                                       .node = "n1" },
                      NULL, NULL);
    DO_OK(store_chat_list(st, "h1", snap_cb, &S));
    ASSERT_EQ(S.nchat, HIST);
    DO_OK(GET("h1"));
    ASSERT_EQ(S.count, 2);
    for (int i = 0; i < HIST; i++) {
        free(hist_want[i]);
        hist_want[i] = NULL;
    }
}

BOTH(invalid_arguments)
{
    char longid[70];
    memset(longid, 'a', 65);
    longid[65] = 0;
    DO_ERR(START("bad room", "a", "c", "n1", NULL), STORE_EINVAL);
    DO_ERR(START(longid, "a", "c", "n1", NULL), STORE_EINVAL);
    DO_ERR(START("r", NULL, "c", "n1", NULL), STORE_EINVAL);
    DO_ERR(START("r", "a", "c", "n:1", NULL), STORE_EINVAL);
    DO_ERR(START("r", "a", "c", "n1", ""), STORE_EINVAL);
    DO_ERR(JOIN("r", "c", "u", "owner", "n1", 0), STORE_EINVAL);
    DO_ERR(JOIN("r", "c", "\xff", "viewer", "n1", 0), STORE_EINVAL); /* not UTF-8 */
    DO_ERR(GET(NULL), STORE_EINVAL);
    DO_ERR(store_node_beat(st, "n1", 0, NULL, snap_cb, &S), STORE_EINVAL);
    DO_ERR(store_publish(st, "", "x", 1, snap_cb, &S), STORE_EINVAL);
    DO_ERR(store_subscribe(st, NULL, snap_cb, &S), STORE_EINVAL);
    DO_ERR(KICK("r", NULL, NULL, 0), STORE_EINVAL);
    DO_ERR(CLAIM("r", "bad/sfu", false), STORE_EINVAL);
    store_stats_t s;
    store_stats(st, &s);
    ASSERT_EQ(s.ops_failed, 13);
    ASSERT_EQ(s.pending, 0);
    /* a NULL callback is allowed */
    store_room_start(st, &(store_start_t){ .room = "r", .sub = "a", .conn = "c", .node = "n1" },
                     NULL, NULL);
    DO_OK(GET("r"));
}

/* Operations issued after store_close complete with STORE_ECLOSED; the close callback still
 * comes and the loop closes clean. */
static void closed_case(bool redis)
{
    loop_begin();
    store_t *st = open_store(redis, NULL, false, NULL);
    ASSERT(st);
    bool closed = false;
    memset(&S, 0, sizeof(S));
    store_close(st, on_closed, &closed);
    store_close(st, on_closed, &closed); /* idempotent */
    GET("r1");
    S.returned = true;
    ASSERT(wait_flag(&closed, 5000));
    ASSERT(S.done && !S.early);
    ASSERT_EQ(S.err, STORE_ECLOSED);
    ASSERT_EQ(loop_end(), 0);
}

TEST(mem_closed)
{
    closed_case(false);
}

TEST(redis_closed)
{
    closed_case(true);
}

TEST(id_valid)
{
    char id64[65], id65[66];
    memset(id64, 'a', 64), id64[64] = 0;
    memset(id65, 'a', 65), id65[65] = 0;
    ASSERT_EQ(store_id_valid("room_1-A", false), true);
    ASSERT_EQ(store_id_valid(id64, false), true);
    ASSERT_EQ(store_id_valid(id65, false), false);
    ASSERT_EQ(store_id_valid("", false), false);
    ASSERT_EQ(store_id_valid(NULL, false), false);
    ASSERT_EQ(store_id_valid("a.b", false), false);
    ASSERT_EQ(store_id_valid("a.b", true), true);
    ASSERT_EQ(store_id_valid("a\"b", true), false);
    ASSERT_EQ(store_id_valid("caf\xc3\xa9", false), false);
}

TEST(error_mapping)
{
    ASSERT_EQ(store_err_app(STORE_OK), APP_OK);
    ASSERT_EQ(store_err_app(STORE_ENOTFOUND), APP_ENOT_FOUND);
    ASSERT_EQ(store_err_app(STORE_EKICKED), APP_EFORBIDDEN);
    ASSERT_EQ(store_err_app(STORE_EFORBIDDEN), APP_EFORBIDDEN);
    ASSERT_EQ(store_err_app(STORE_EFULL), APP_ECONFLICT);
    ASSERT_EQ(store_err_app(STORE_ECONFLICT), APP_ECONFLICT);
    ASSERT_EQ(store_err_app(STORE_EUNAVAILABLE), APP_EUNAVAILABLE);
    ASSERT_EQ(store_err_app(STORE_EINVAL), APP_EINTERNAL);
    ASSERT_STR_EQ(store_strerror(STORE_EFULL), "the room is full (max viewers)");
    ASSERT_STR_EQ(store_strerror(12345), "unknown store error");
}
