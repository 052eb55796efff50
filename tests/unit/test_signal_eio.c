/* tests/unit/test_signal_eio.c: loop tests of signal/http + eio + sio: the server runs on an
 * ephemeral 127.0.0.1 port inside the test's own uv loop, raw HTTP requests go through a uv
 * TCP client, and every test ends with every handle closed and uv_loop_close() == 0. */
#include "../../common/buf.h"
#include "../../signal/eio.h"
#include "../../signal/http.h"
#include "../../signal/sio.h"
#include "t.h"
#include <uv.h>

typedef struct cli {
    uv_tcp_t tcp;
    uv_connect_t cr;
    uv_write_t wr;
    char *req;
    buf_t resp;
    bool done;
} cli_t;

static void cli_closed(uv_handle_t *h)
{
    cli_t *c = h->data;
    c->done = true;
}

static void cli_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char mem[65536];
    b->base = mem;
    b->len = sizeof mem;
}

static void cli_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    cli_t *c = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)&c->tcp, cli_closed);
        return;
    }
    buf_append(&c->resp, b->base, (size_t)n);
}

static void cli_written(uv_write_t *w, int status)
{
}

static void cli_connected(uv_connect_t *cr, int status)
{
    cli_t *c = cr->data;
    if (status < 0) {
        uv_close((uv_handle_t *)&c->tcp, cli_closed);
        return;
    }
    uv_buf_t b = uv_buf_init(c->req, (unsigned)strlen(c->req));
    uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, cli_written);
    uv_read_start((uv_stream_t *)&c->tcp, cli_alloc, cli_read);
}

/* Sends req (the whole request text) on a new connection; the response is complete when the
 * server closes the connection (requests say Connection: close). */
static void cli_start(cli_t *c, uv_loop_t *loop, int port, const char *req)
{
    memset(c, 0, sizeof(*c));
    buf_init(&c->resp, 0);
    c->req = strdup(req);
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c->cr.data = c;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    uv_tcp_connect(&c->cr, &c->tcp, (struct sockaddr *)&a, cli_connected);
}

static void cli_free(cli_t *c)
{
    free(c->req);
    buf_deinit(&c->resp);
}

static const char *body_of(cli_t *c)
{
    buf_append_byte(&c->resp, 0);
    c->resp.len--;
    const char *p = strstr((const char *)c->resp.data, "\r\n\r\n");
    return p ? p + 4 : "";
}

/* Runs the loop until *flag or 3 s have passed. */
static bool run_until(uv_loop_t *loop, const bool *flag)
{
    uint64_t end = uv_now(loop) + 3000;
    while (!*flag && uv_now(loop) < end) {
        uv_run(loop, UV_RUN_ONCE);
        uv_update_time(loop);
    }
    return *flag;
}

typedef struct srv {
    uv_loop_t loop;
    http_server_t *http;
    sio_server_t *sio;
    int port;
    bool closed;
} srv_t;

static int on_connect_refuse(sio_socket_t *s, const sio_handshake_t *hs, void *ud, char **err)
{
    *err = strdup("{\"message\":\"unauthorized\"}");
    return 1;
}

static void on_event_close(sio_socket_t *s, const sio_event_t *ev, void *ud)
{
    if (strcmp(ev->name, "close-session") == 0) {
        sio_close_session(s);
    } else if (strcmp(ev->name, "disconnect-me") == 0) {
        sio_disconnect(s);
    }
}

static void srv_start(srv_t *s)
{
    uv_loop_init(&s->loop);
    http_cors_t cors = { "*", false };
    s->http = http_server_new(&s->loop, NULL, &cors);
    sio_config_t cfg = { 200, 200, 1000, 1000, 500, 0, 0, 300 };
    s->sio = sio_server_new(s->http, "/socket.io/", &cfg);
    static const sio_nsp_ops_t ops = { NULL, on_event_close, NULL };
    static const sio_nsp_ops_t refuse = { on_connect_refuse, NULL, NULL };
    sio_nsp_add(s->sio, "/", &ops, NULL);
    sio_nsp_add(s->sio, "/private", &refuse, NULL);
    http_server_listen(s->http, "127.0.0.1", 0);
    s->port = http_server_port(s->http);
}

static void on_http_closed(http_server_t *h, void *ud)
{
    ((srv_t *)ud)->closed = true;
}

static int srv_stop(srv_t *s)
{
    sio_server_close(s->sio);
    http_server_close(s->http, on_http_closed, s);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    sio_server_free(s->sio);
    http_server_free(s->http);
    return uv_loop_close(&s->loop);
}

/* GET request text for path, one per connection. */
static char *get_req(const char *path)
{
    static char r[1024];
    snprintf(r, sizeof r, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    return r;
}

static void extract_sid(const char *body, char *sid)
{
    const char *p = strstr(body, "\"sid\":\"");
    sid[0] = 0;
    if (p) {
        memcpy(sid, p + 7, 20);
        sid[20] = 0;
    }
}

TEST(loop_handshake_and_errors)
{
    srv_t s = { 0 };
    srv_start(&s);
    cli_t c;
    cli_start(&c, &s.loop, s.port, get_req("/socket.io/?EIO=4&transport=polling"));
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT(strncmp((char *)c.resp.data, "HTTP/1.1 200", 12) == 0);
    ASSERT(strstr(body_of(&c), "\"upgrades\":[\"websocket\"],\"pingInterval\":200") != NULL);
    cli_free(&c);
    struct {
        const char *path;
        const char *want;
    } cases[] = {
        { "/socket.io/?EIO=5&transport=polling",
          "{\"code\":5,\"message\":\"Unsupported protocol version\"}" },
        { "/socket.io/?transport=polling",
          "{\"code\":5,\"message\":\"Unsupported protocol version\"}" },
        { "/socket.io/?EIO=4&transport=foo", "{\"code\":0,\"message\":\"Transport unknown\"}" },
        { "/socket.io/?EIO=4", "{\"code\":0,\"message\":\"Transport unknown\"}" },
        { "/socket.io/?EIO=4&transport=polling&sid=nope",
          "{\"code\":1,\"message\":\"Session ID unknown\"}" },
        { "/socket.io/?EIO=4&transport=websocket", "{\"code\":3,\"message\":\"Bad request\"}" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cli_start(&c, &s.loop, s.port, get_req(cases[i].path));
        ASSERT(run_until(&s.loop, &c.done));
        ASSERT(strncmp((char *)c.resp.data, "HTTP/1.1 400", 12) == 0);
        ASSERT_STR_EQ(body_of(&c), cases[i].want);
        cli_free(&c);
    }
    cli_start(&c, &s.loop, s.port,
              "POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: "
              "close\r\nContent-Length: 2\r\n\r\n40");
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_STR_EQ(body_of(&c), "{\"code\":2,\"message\":\"Bad handshake method\"}");
    cli_free(&c);
    ASSERT_EQ(srv_stop(&s), 0);
}

TEST(loop_pipelining_in_order)
{
    srv_t s = { 0 };
    srv_start(&s);
    cli_t c;
    cli_start(&c, &s.loop, s.port,
              "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"
              "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
              "GET /socket.io/?EIO=3&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: "
              "close\r\n\r\n");
    ASSERT(run_until(&s.loop, &c.done));
    buf_append_byte(&c.resp, 0);
    const char *r = (const char *)c.resp.data;
    const char *a = strstr(r, "HTTP/1.1 200"), *b = strstr(r, "HTTP/1.1 404"),
               *d = strstr(r, ":0{\"sid\"");
    ASSERT(a && b && d && a < b && b < d);
    cli_free(&c);
    ASSERT_EQ(srv_stop(&s), 0);
}

TEST(loop_connect_error_and_overlap)
{
    srv_t s = { 0 };
    srv_start(&s);
    cli_t c, g1, g2;
    char sid[32], path[256], req[512];
    cli_start(&c, &s.loop, s.port, get_req("/socket.io/?EIO=4&transport=polling"));
    ASSERT(run_until(&s.loop, &c.done));
    extract_sid(body_of(&c), sid);
    ASSERT_EQ(strlen(sid), 20);
    cli_free(&c);
    /* CONNECT to a refusing namespace and to an unknown one */
    snprintf(req, sizeof req,
             "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nConnection: "
             "close\r\nContent-Length: 20\r\n\r\n40/private,\x1e"
             "40/nope,",
             sid);
    cli_start(&c, &s.loop, s.port, req);
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_STR_EQ(body_of(&c), "ok");
    cli_free(&c);
    snprintf(path, sizeof path, "/socket.io/?EIO=4&transport=polling&sid=%s", sid);
    cli_start(&c, &s.loop, s.port, get_req(path));
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_STR_EQ(body_of(&c), "44/private,{\"message\":\"unauthorized\"}\x1e"
                               "44/nope,{\"message\":\"Invalid namespace\"}");
    cli_free(&c);
    /* two concurrent GETs: the second gets 400, the first the close packet */
    cli_start(&g1, &s.loop, s.port, get_req(path));
    for (int i = 0; i < 20; i++) {
        uv_run(&s.loop, UV_RUN_NOWAIT);
    }
    cli_start(&g2, &s.loop, s.port, get_req(path));
    ASSERT(run_until(&s.loop, &g2.done));
    ASSERT(run_until(&s.loop, &g1.done));
    ASSERT(strncmp((char *)g2.resp.data, "HTTP/1.1 400", 12) == 0);
    ASSERT_STR_EQ(body_of(&g1), "1");
    cli_free(&g1);
    cli_free(&g2);
    cli_start(&c, &s.loop, s.port, get_req(path));
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_STR_EQ(body_of(&c), "{\"code\":1,\"message\":\"Session ID unknown\"}");
    cli_free(&c);
    ASSERT_EQ(srv_stop(&s), 0);
}

TEST(loop_payload_too_big_and_timeout)
{
    srv_t s = { 0 };
    srv_start(&s);
    cli_t c;
    char sid[32], path[256], req[4096];
    cli_start(&c, &s.loop, s.port, get_req("/socket.io/?EIO=4&transport=polling"));
    ASSERT(run_until(&s.loop, &c.done));
    extract_sid(body_of(&c), sid);
    cli_free(&c);
    /* maxPayload is 1000 in this server: a 1500-byte body closes the session */
    snprintf(req, sizeof req,
             "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nConnection: "
             "close\r\nContent-Length: 1500\r\n\r\n",
             sid);
    size_t n = strlen(req);
    memset(req + n, 'a', 1500);
    req[n + 1500] = 0;
    cli_start(&c, &s.loop, s.port, req);
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT(strncmp((char *)c.resp.data, "HTTP/1.1 413", 12) == 0);
    cli_free(&c);
    snprintf(path, sizeof path, "/socket.io/?EIO=4&transport=polling&sid=%s", sid);
    cli_start(&c, &s.loop, s.port, get_req(path));
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_STR_EQ(body_of(&c), "{\"code\":1,\"message\":\"Session ID unknown\"}");
    cli_free(&c);
    /* a session that never answers pings is gone after pingInterval + pingTimeout */
    cli_start(&c, &s.loop, s.port, get_req("/socket.io/?EIO=4&transport=polling"));
    ASSERT(run_until(&s.loop, &c.done));
    extract_sid(body_of(&c), sid);
    cli_free(&c);
    snprintf(path, sizeof path, "/socket.io/?EIO=4&transport=polling&sid=%s", sid);
    uint64_t t0 = uv_now(&s.loop);
    cli_start(&c, &s.loop, s.port, get_req(path));
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_STR_EQ(body_of(&c), "2"); /* the ping releases the held GET after ~200 ms */
    ASSERT(uv_now(&s.loop) - t0 >= 150);
    cli_free(&c);
    cli_start(&c, &s.loop, s.port, get_req(path));
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_STR_EQ(body_of(&c), "1"); /* no pong within 200 ms: closed */
    cli_free(&c);
    ASSERT_EQ(srv_stop(&s), 0);
}

TEST(loop_eio3_connect_error_form)
{
    srv_t s = { 0 };
    srv_start(&s);
    cli_t c;
    char sid[32], path[256], req[512];
    cli_start(&c, &s.loop, s.port, get_req("/socket.io/?EIO=3&transport=polling"));
    ASSERT(run_until(&s.loop, &c.done));
    const char *b = body_of(&c);
    extract_sid(b, sid);
    ASSERT(strstr(b, "}2:40") != NULL); /* EIO3: "/" is joined at once, `40` follows the open */
    cli_free(&c);
    /* a namespace query in the CONNECT packet; the refusal in the form Node sends v4 clients */
    snprintf(req, sizeof req,
             "POST /socket.io/?EIO=3&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nConnection: "
             "close\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 22\r\n\r\n"
             "19:40/private?token=x,",
             sid);
    cli_start(&c, &s.loop, s.port, req);
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_STR_EQ(body_of(&c), "ok");
    cli_free(&c);
    snprintf(path, sizeof path, "/socket.io/?EIO=3&transport=polling&sid=%s", sid);
    cli_start(&c, &s.loop, s.port, get_req(path));
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_STR_EQ(body_of(&c), "25:44/private,\"unauthorized\"");
    cli_free(&c);
    ASSERT_EQ(srv_stop(&s), 0);
}

/* Opens a v4 polling session; sid gets its id. */
static void open_session(srv_t *s, char *sid)
{
    cli_t c;
    cli_start(&c, &s->loop, s->port, get_req("/socket.io/?EIO=4&transport=polling"));
    run_until(&s->loop, &c.done);
    extract_sid(body_of(&c), sid);
    cli_free(&c);
}

TEST(loop_overlapping_posts)
{
    srv_t s = { 0 };
    srv_start(&s);
    cli_t a, b, c;
    char sid[32], path[256], req[512];
    open_session(&s, sid);
    ASSERT_EQ(strlen(sid), 20);
    /* A: a POST whose body is still arriving (100 bytes announced, 6 sent) */
    snprintf(req, sizeof req,
             "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nConnection: "
             "close\r\nContent-Length: 100\r\n\r\n4first",
             sid);
    cli_start(&a, &s.loop, s.port, req);
    for (int i = 0; i < 20; i++) {
        uv_run(&s.loop, UV_RUN_NOWAIT);
    }
    /* B: a complete POST meanwhile: polling.js answers 400 and closes the session */
    snprintf(req, sizeof req,
             "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nConnection: "
             "close\r\nContent-Length: 7\r\n\r\n4second",
             sid);
    cli_start(&b, &s.loop, s.port, req);
    ASSERT(run_until(&s.loop, &b.done));
    ASSERT(strncmp((char *)b.resp.data, "HTTP/1.1 400", 12) == 0);
    ASSERT(run_until(&s.loop, &a.done)); /* the first POST is dropped */
    ASSERT_EQ(a.resp.len, 0);
    cli_free(&a);
    cli_free(&b);
    snprintf(path, sizeof path, "/socket.io/?EIO=4&transport=polling&sid=%s", sid);
    cli_start(&c, &s.loop, s.port, get_req(path));
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_STR_EQ(body_of(&c), "{\"code\":1,\"message\":\"Session ID unknown\"}");
    cli_free(&c);
    /* POSTs one after the other are fine (6: a noop packet) */
    open_session(&s, sid);
    snprintf(req, sizeof req,
             "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nConnection: "
             "close\r\nContent-Length: 1\r\n\r\n6",
             sid);
    cli_start(&a, &s.loop, s.port, req);
    ASSERT(run_until(&s.loop, &a.done));
    ASSERT_STR_EQ(body_of(&a), "ok");
    cli_free(&a);
    cli_start(&b, &s.loop, s.port, req);
    ASSERT(run_until(&s.loop, &b.done));
    ASSERT_STR_EQ(body_of(&b), "ok");
    cli_free(&b);
    snprintf(path, sizeof path, "/socket.io/?EIO=4&transport=polling&sid=%s", sid);
    cli_start(&c, &s.loop, s.port, get_req(path));
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT(strncmp((char *)c.resp.data, "HTTP/1.1 200", 12) == 0);
    cli_free(&c);
    ASSERT_EQ(srv_stop(&s), 0);
}

static void on_wait_timer(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/* Runs the loop for ms (timers fire meanwhile). */
static void run_for(uv_loop_t *loop, unsigned ms)
{
    bool done = false;
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &done;
    uv_timer_start(&t, on_wait_timer, ms, 0);
    run_until(loop, &done);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* One request with body on its own connection; returns the response body in out. */
static void post(srv_t *s, const char *sid, const char *body, char *out, size_t cap)
{
    char req[1024];
    snprintf(req, sizeof req,
             "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nConnection: "
             "close\r\nContent-Length: %zu\r\n\r\n%s",
             sid, strlen(body), body);
    cli_t c;
    cli_start(&c, &s->loop, s->port, req);
    run_until(&s->loop, &c.done);
    snprintf(out, cap, "%s", body_of(&c));
    cli_free(&c);
}

static void get(srv_t *s, const char *sid, char *out, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "/socket.io/?EIO=4&transport=polling&sid=%s", sid);
    cli_t c;
    cli_start(&c, &s->loop, s->port, get_req(path));
    run_until(&s->loop, &c.done);
    const char *b = body_of(&c);
    if (strncmp(b, "2\x1e", 2) == 0) {
        b += 2; /* a ping (every 200 ms here) may come first on a slow machine */
    }
    snprintf(out, cap, "%s", b);
    cli_free(&c);
}

static const char unknown_sid[] = "{\"code\":1,\"message\":\"Session ID unknown\"}";

TEST(loop_server_close_keeps_queue_for_next_get)
{
    srv_t s = { 0 };
    srv_start(&s);
    char sid[32], out[512];
    open_session(&s, sid);
    post(&s, sid, "40", out, sizeof out);
    ASSERT_STR_EQ(out, "ok");
    get(&s, sid, out, sizeof out);
    ASSERT(strncmp(out, "40{\"sid\":\"", 10) == 0);
    /* the server closes the session while no GET is held: the DISCONNECT and the close
     * packet wait for the next GET (engine.io socket.close(): polling shouldClose) */
    post(&s, sid, "42[\"close-session\"]", out, sizeof out);
    ASSERT_STR_EQ(out, "ok");
    post(&s, sid, "42[\"ignored\"]", out, sizeof out); /* closing: accepted, ignored */
    ASSERT_STR_EQ(out, "ok");
    get(&s, sid, out, sizeof out);
    ASSERT_STR_EQ(out, "41"); /* alone: the client handles it before it sees the close */
    get(&s, sid, out, sizeof out);
    ASSERT_STR_EQ(out, "6\x1e"
                       "1");
    get(&s, sid, out, sizeof out);
    ASSERT_STR_EQ(out, unknown_sid);
    /* the client closing too ends it at once */
    open_session(&s, sid);
    post(&s, sid, "40", out, sizeof out);
    get(&s, sid, out, sizeof out);
    post(&s, sid, "42[\"close-session\"]", out, sizeof out);
    get(&s, sid, out, sizeof out);
    ASSERT_STR_EQ(out, "41");
    post(&s, sid, "1", out, sizeof out);
    ASSERT_STR_EQ(out, "ok");
    get(&s, sid, out, sizeof out);
    ASSERT_STR_EQ(out, unknown_sid);
    /* sio_disconnect keeps the session: its 41 comes with the next GET */
    open_session(&s, sid);
    post(&s, sid, "40", out, sizeof out);
    get(&s, sid, out, sizeof out);
    post(&s, sid, "42[\"disconnect-me\"]", out, sizeof out);
    get(&s, sid, out, sizeof out);
    ASSERT_STR_EQ(out, "41");
    /* not polled within close_timeout (300 ms): dropped */
    open_session(&s, sid);
    post(&s, sid, "40", out, sizeof out);
    get(&s, sid, out, sizeof out);
    post(&s, sid, "42[\"close-session\"]", out, sizeof out);
    run_for(&s.loop, 450);
    get(&s, sid, out, sizeof out);
    ASSERT_STR_EQ(out, unknown_sid);
    /* a session still draining at shutdown is freed with the server */
    open_session(&s, sid);
    post(&s, sid, "40", out, sizeof out);
    get(&s, sid, out, sizeof out);
    post(&s, sid, "42[\"close-session\"]", out, sizeof out);
    ASSERT_EQ(srv_stop(&s), 0);
}

static int on_framed(http_req_t *req, http_res_t *res, void *ud)
{
    http_res_header(res, "x-frame-options", "SAMEORIGIN"); /* the route's own wins */
    http_res_send(res, 200, "text/plain", "hi", 2);
    return HTTP_DONE;
}

/* Occurrences of "\r\nname" in the response head (case-sensitive, as we write them). */
static int count_header(cli_t *c, const char *line)
{
    buf_append_byte(&c->resp, 0);
    c->resp.len--;
    const char *p = (const char *)c->resp.data, *end = strstr(p, "\r\n\r\n");
    int n = 0;
    while ((p = strstr(p, line)) != NULL && (!end || p < end)) {
        n++;
        p++;
    }
    return n;
}

TEST(loop_default_headers)
{
    srv_t s = { 0 };
    srv_start(&s);
    ASSERT_EQ(http_server_set_default_headers(s.http, "Bad Header\r\n"), -1);
    ASSERT_EQ(http_server_set_default_headers(s.http, "X-A: 1\r\nX-B: 2"), -1);
    ASSERT_EQ(http_server_set_default_headers(s.http, "X-A: 1\nX-B: 2\r\n"), -1);
    ASSERT_EQ(http_server_set_default_headers(s.http, "X-Frame-Options: DENY\r\n"
                                                      "X-Content-Type-Options: nosniff\r\n"),
              0);
    http_route(s.http, "GET", "/framed", HTTP_MATCH_EXACT, 0, on_framed, NULL);
    const char *reqs[] = {
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\nConnection: "
        "close\r\n\r\n",
        "BAD\r\n\r\n",
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nConnection: "
        "Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
        "dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    };
    const char *status[] = { "HTTP/1.1 200", "HTTP/1.1 404", "HTTP/1.1 400", "HTTP/1.1 400",
                             "HTTP/1.1 101" };
    for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
        cli_t c;
        cli_start(&c, &s.loop, s.port, reqs[i]);
        if (i == 4) {
            /* the WebSocket stays open: wait for the 101 and the open packet, then hang up */
            uint64_t end = uv_now(&s.loop) + 3000;
            while (!strstr(c.resp.len ? (char *)c.resp.data : "", "\"sid\"") &&
                   uv_now(&s.loop) < end) {
                buf_append_byte(&c.resp, 0);
                c.resp.len--;
                uv_run(&s.loop, UV_RUN_ONCE);
            }
            uv_close((uv_handle_t *)&c.tcp, cli_closed);
        }
        ASSERT(run_until(&s.loop, &c.done));
        ASSERT(c.resp.len > 12 && strncmp((char *)c.resp.data, status[i], 12) == 0);
        ASSERT_EQ(count_header(&c, "\r\nX-Frame-Options: DENY\r\n"), 1);
        ASSERT_EQ(count_header(&c, "\r\nX-Content-Type-Options: nosniff\r\n"), 1);
        cli_free(&c);
    }
    cli_t c;
    cli_start(&c, &s.loop, s.port, get_req("/framed"));
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_EQ(count_header(&c, "\r\nX-Frame-Options: DENY\r\n"), 0);
    ASSERT_EQ(count_header(&c, "\r\nx-frame-options: SAMEORIGIN\r\n"), 1);
    ASSERT_EQ(count_header(&c, "\r\nX-Content-Type-Options: nosniff\r\n"), 1);
    cli_free(&c);
    ASSERT_EQ(http_server_set_default_headers(s.http, NULL), 0);
    cli_start(&c, &s.loop, s.port, get_req("/nothing"));
    ASSERT(run_until(&s.loop, &c.done));
    ASSERT_EQ(count_header(&c, "X-Frame-Options"), 0);
    cli_free(&c);
    ASSERT_EQ(srv_stop(&s), 0);
}

/* One GET of path with extra header lines; returns the status, the whole response in out. */
static int get_with(srv_t *s, const char *path, const char *extra, char *out, size_t cap)
{
    char req[1024];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n", path,
             extra);
    cli_t c;
    cli_start(&c, &s->loop, s->port, req);
    run_until(&s->loop, &c.done);
    buf_append_byte(&c.resp, 0);
    snprintf(out, cap, "%s", (const char *)c.resp.data);
    int status = c.resp.len > 12 ? atoi((const char *)c.resp.data + 9) : 0;
    cli_free(&c);
    return status;
}

TEST(loop_rate_limit)
{
    srv_t s = { 0 };
    srv_start(&s);
    char out[2048];
    ASSERT_EQ(http_server_set_rate_limit(s.http, -1, 2, 0), -1);
    ASSERT_EQ(http_server_set_trusted_proxies(s.http, "127.0.0.1,not-an-ip"), -1);
    ASSERT_EQ(http_server_set_rate_limit(s.http, 2, 2, 3), 0);
    /* no trusted proxy: the peer address is the client; a burst of 2, then 429 */
    ASSERT_EQ(get_with(&s, "/nothing", "", out, sizeof out), 404);
    ASSERT_EQ(get_with(&s, "/socket.io/?EIO=4&transport=polling", "", out, sizeof out), 200);
    ASSERT_EQ(get_with(&s, "/nothing", "", out, sizeof out), 429);
    ASSERT(strstr(out, "\r\nRetry-After: 1\r\n") != NULL);
    ASSERT(strstr(out, "\r\nConnection: close\r\n") != NULL);
    ASSERT_EQ(http_server_rate_clients(s.http), 1);
    /* behind a trusted proxy: X-Forwarded-For's rightmost untrusted address is the client */
    ASSERT_EQ(http_server_set_trusted_proxies(s.http, "::ffff:127.0.0.1, ::1"), 0);
    const char *a = "X-Forwarded-For: 192.0.2.1\r\n";
    const char *chain = "X-Forwarded-For: 192.0.2.1, 198.51.100.7,127.0.0.1\r\n";
    ASSERT_EQ(get_with(&s, "/nothing", a, out, sizeof out), 404);
    ASSERT_EQ(get_with(&s, "/nothing", a, out, sizeof out), 404);
    ASSERT_EQ(get_with(&s, "/nothing", a, out, sizeof out), 429);
    ASSERT_EQ(get_with(&s, "/nothing", chain, out, sizeof out), 404); /* 198.51.100.7 */
    for (int i = 0; i < 5; i++) {
        /* the proxy's own requests are not limited */
        ASSERT_EQ(get_with(&s, "/nothing", "", out, sizeof out), 404);
    }
    /* the table is capped (3 here): new clients push out the least recently seen */
    ASSERT_EQ(get_with(&s, "/nothing", "X-Forwarded-For: 192.0.2.3\r\n", out, sizeof out), 404);
    ASSERT_EQ(get_with(&s, "/nothing", "X-Forwarded-For: 192.0.2.4\r\n", out, sizeof out), 404);
    ASSERT_EQ(http_server_rate_clients(s.http), 3);
    ASSERT_EQ(get_with(&s, "/nothing", a, out, sizeof out), 404); /* forgotten, so a new bucket */
    /* clients whose bucket is full again (1 s at 2/s) are swept */
    run_for(&s.loop, 2200);
    ASSERT_EQ(http_server_rate_clients(s.http), 0);
    /* off */
    ASSERT_EQ(http_server_set_rate_limit(s.http, 0, 0, 0), 0);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(get_with(&s, "/nothing", a, out, sizeof out), 404);
    }
    ASSERT_EQ(srv_stop(&s), 0);
}
