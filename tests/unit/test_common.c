/* tests/unit/test_common.c: common/ buf, shbuf, cfg, list, rc, log escaping. */
#include "../../common/buf.h"
#include "../../common/cfg.h"
#include "../../common/list.h"
#include "../../common/log.h"
#include "../../common/rc.h"
#include "../../common/shbuf.h"
#include "../../proto/err.h"
#include "t.h"

TEST(buf_append_and_cap)
{
    buf_t b;
    buf_init(&b, 8);
    ASSERT_EQ(buf_append(&b, "abcd", 4), 0);
    ASSERT_EQ(buf_append(&b, "efgh", 4), 0);
    ASSERT_EQ(buf_append(&b, "i", 1), PROTO_ETOOBIG);
    ASSERT_MEM_EQ(b.data, b.len, "abcdefgh", 8);
    buf_consume(&b, 3);
    ASSERT_MEM_EQ(b.data, b.len, "defgh", 5);
    ASSERT_EQ(buf_printf(&b, "%d", 123), 0);
    ASSERT_EQ(buf_printf(&b, "%d", 4567), PROTO_ETOOBIG);
    ASSERT_MEM_EQ(b.data, b.len, "defgh123", 8);
    buf_deinit(&b);
}

TEST(buf_reserve_overflow)
{
    buf_t b;
    buf_init(&b, 0);
    ASSERT_EQ(buf_append(&b, "x", 1), 0);
    ASSERT_EQ(buf_reserve(&b, SIZE_MAX), PROTO_ETOOBIG);
    buf_deinit(&b);
}

TEST(buf_json_str)
{
    buf_t b;
    buf_init(&b, 0);
    ASSERT_EQ(buf_append_json_str(&b, "a\"b\\c\n\x01\xc3\xa9", 9), 0);
    ASSERT_MEM_EQ(b.data, b.len, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"", 19);
    buf_deinit(&b);
}

TEST(shbuf_refs)
{
    shbuf_t *s = shbuf_from("hello", 5);
    shbuf_ref(s);
    ASSERT_EQ(s->refs, 2);
    shbuf_unref(s);
    ASSERT_STR_EQ((char *)s->data, "hello");
    shbuf_unref(s);
    shbuf_unref(NULL);
}

TEST(cfg_flags_win_over_env)
{
    long port = 0;
    const char *name = NULL;
    int flag = 0;
    size_t size = 0;
    cfg_opt_t opts[] = {
        { "port", "T_CFG_PORT", CFG_INT, &port, "3000", "port" },
        { "name", NULL, CFG_STR, &name, "x", "name" },
        { "flag", NULL, CFG_BOOL, &flag, "0", "flag" },
        { "size", NULL, CFG_SIZE, &size, "1e6", "size" },
        { 0 },
    };
    char err[512];
    setenv("T_CFG_PORT", "4000", 1);
    char *argv1[] = { "p", NULL };
    ASSERT_EQ(cfg_parse(opts, 1, argv1, err, sizeof err), 0);
    ASSERT_EQ(port, 4000);
    ASSERT_UEQ(size, 1000000);
    char *argv2[] = { "p", "--port=5000", "--name", "y", "--flag", "--size", "64k", NULL };
    ASSERT_EQ(cfg_parse(opts, 7, argv2, err, sizeof err), 0);
    ASSERT_EQ(port, 5000);
    ASSERT_STR_EQ(name, "y");
    ASSERT_EQ(flag, 1);
    ASSERT_UEQ(size, 65536);
    char *argv3[] = { "p", "--port", "abc", NULL };
    ASSERT_EQ(cfg_parse(opts, 3, argv3, err, sizeof err), -1);
    ASSERT(strstr(err, "--port") != NULL);
    char *argv4[] = { "p", "--nope", NULL };
    ASSERT_EQ(cfg_parse(opts, 2, argv4, err, sizeof err), -1);
    char *argv5[] = { "p", "--name", NULL };
    ASSERT_EQ(cfg_parse(opts, 2, argv5, err, sizeof err), -1);
    unsetenv("T_CFG_PORT");
}

typedef struct item {
    int v;
    list_t node;
    rc_t rc;
} item_t;

static int freed;
static void item_free(rc_t *rc)
{
    freed++;
    free(container_of(rc, item_t, rc));
}

TEST(list_and_rc)
{
    list_t head, *pos, *tmp;
    list_init(&head);
    for (int i = 0; i < 3; i++) {
        item_t *it = calloc(1, sizeof(*it));
        it->v = i;
        rc_init(&it->rc, item_free);
        list_insert_tail(&head, &it->node);
    }
    int sum = 0;
    list_foreach(pos, &head)
    {
        sum += list_entry(pos, item_t, node)->v;
    }
    ASSERT_EQ(sum, 3);
    freed = 0;
    list_foreach_safe(pos, tmp, &head)
    {
        item_t *it = list_entry(pos, item_t, node);
        list_remove(pos);
        rc_ref(&it->rc);
        ASSERT_EQ(rc_unref(&it->rc), 0);
        ASSERT_EQ(rc_unref(&it->rc), 1);
    }
    ASSERT_EQ(freed, 3);
    ASSERT(list_empty(&head));
}

TEST(log_escape)
{
    ASSERT_STR_EQ(log_esc("a\"b\\\n"), "a\\\"b\\\\\\u000a");
    ASSERT_STR_EQ(log_esc(NULL), "");
    /* valid UTF-8 passes; what is not becomes U+FFFD, so the line stays valid JSON */
    ASSERT_STR_EQ(log_esc("caf\xc3\xa9 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
    ASSERT_STR_EQ(log_esc("a\xff!"), "a\\ufffd!");
    ASSERT_STR_EQ(log_esc("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd"); /* a surrogate */
    ASSERT_STR_EQ(log_esc("\xc0\xaf"), "\\ufffd\\ufffd");            /* overlong */
    ASSERT_STR_EQ(log_escn("\xc3\xa9", 1), "\\ufffd");               /* cut by n */
    /* a long string is cut at a character boundary, never inside one */
    char big[600];
    for (size_t i = 0; i + 2 < sizeof big; i += 2) {
        big[i] = '\xc3', big[i + 1] = '\xa9';
    }
    big[sizeof big - 2] = 0;
    const char *e = log_esc(big);
    size_t elen = strlen(e);
    ASSERT(elen < 512);
    ASSERT_STR_EQ(e + elen - 3, "...");
    ASSERT_EQ((elen - 3) % 2, 0);
    ASSERT_EQ((unsigned char)e[elen - 5], 0xc3);
    ASSERT_EQ(log_set_level("debug"), 0);
    ASSERT_EQ(log_set_level("loud"), -1);
    log_set_level("info");
}
