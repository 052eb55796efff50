/* signal/ctl/ctl_http.c: onairctl's HTTP/1.1 client (see ctl.h): getaddrinfo, a connect bounded
 * by the timeout, one request with Connection: close, and the response parsed with llhttp in
 * HTTP_RESPONSE mode (Content-Length, chunked, or a body that ends with the connection). */
#include "ctl.h"
#include <errno.h>
#include <fcntl.h>
#include <llhttp.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define CTL_MAX_BODY (8u << 20)

int ctl_url_parse(const char *url, ctl_url_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!strncmp(url, "https://", 8)) {
        snprintf(err, errlen,
                 "%s: onairctl speaks plain http:// only (reach the node directly, or through "
                 "an SSH tunnel)",
                 url);
        return -1;
    }
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "%s: the URL must start with http://", url);
        return -1;
    }
    const char *h = url + 7, *end;
    size_t hl;
    if (*h == '[') {
        end = strchr(h, ']');
        if (!end) {
            snprintf(err, errlen, "%s: unterminated [IPv6] address", url);
            return -1;
        }
        hl = (size_t)(end - h - 1);
        h++;
        end++;
    } else {
        end = h + strcspn(h, ":/?#");
        hl = (size_t)(end - h);
    }
    if (hl == 0 || hl >= sizeof out->host) {
        snprintf(err, errlen, "%s: missing or too long host", url);
        return -1;
    }
    memcpy(out->host, h, hl);
    snprintf(out->port, sizeof out->port, "80");
    if (*end == ':') {
        char *pe;
        long port = strtol(end + 1, &pe, 10);
        if (pe == end + 1 || port < 1 || port > 65535 || (*pe && *pe != '/')) {
            snprintf(err, errlen, "%s: invalid port", url);
            return -1;
        }
        snprintf(out->port, sizeof out->port, "%ld", port);
        end = pe;
    }
    if (*end && *end != '/') {
        snprintf(err, errlen, "%s: unexpected '%c' after the host", url, *end);
        return -1;
    }
    size_t bl = strlen(end);
    while (bl > 0 && end[bl - 1] == '/') {
        bl--;
    }
    if (bl >= sizeof out->base || memchr(end, '?', bl) || memchr(end, '#', bl)) {
        snprintf(err, errlen, "%s: the URL may only have a path prefix", url);
        return -1;
    }
    memcpy(out->base, end, bl);
    bool v6 = strchr(out->host, ':') != NULL;
    snprintf(out->text, sizeof out->text, "http://%s%s%s:%s%s", v6 ? "[" : "", out->host,
             v6 ? "]" : "", out->port, out->base);
    return 0;
}

/* Connects with a deadline; returns the socket (blocking again) or -1 with errno set. */
static int connect_timeout(const struct addrinfo *ai, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -1;
    }
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        do {
            rc = poll(&p, 1, timeout_ms);
        } while (rc < 0 && errno == EINTR);
        if (rc == 0) {
            errno = ETIMEDOUT;
            rc = -1;
        } else if (rc > 0) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            errno = soerr;
            rc = soerr ? -1 : 0;
        }
    }
    if (rc != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static int dial(const ctl_url_t *u, int timeout_ms, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
    int g = getaddrinfo(u->host, u->port, &hints, &res);
    if (g != 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", u->text, gai_strerror(g));
        return -1;
    }
    int fd = -1, e = 0;
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = connect_timeout(ai, timeout_ms);
        if (fd < 0) {
            e = errno;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", u->text,
                 e == ETIMEDOUT ? "no answer (timed out)" : strerror(e));
    }
    return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- response parsing ------------------------------------------------------------------------ */

typedef struct parse_ctx {
    ctl_resp_t *resp;
    bool done, too_big;
} parse_ctx_t;

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    parse_ctx_t *x = p->data;
    if (buf_append(&x->resp->body, at, len) != 0) {
        x->too_big = true;
        return -1;
    }
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    parse_ctx_t *x = p->data;
    x->resp->status = p->status_code;
    return 0;
}

static int on_complete(llhttp_t *p)
{
    parse_ctx_t *x = p->data;
    x->done = true;
    return HPE_PAUSED; /* one response: ignore anything after it */
}

/* Reads and parses the response. Returns 0, or -1 with err. */
static int read_response(int fd, const ctl_url_t *u, int timeout_ms, ctl_resp_t *resp, char *err,
                         size_t errlen)
{
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_body = on_body;
    st.on_headers_complete = on_headers_complete;
    st.on_message_complete = on_complete;
    llhttp_t parser;
    llhttp_init(&parser, HTTP_RESPONSE, &st);
    parse_ctx_t x = { .resp = resp };
    parser.data = &x;
    char chunk[16384];
    while (!x.done) {
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                snprintf(err, errlen, "%s: no answer within %d ms (see --timeout)", u->text,
                         timeout_ms);
            } else {
                snprintf(err, errlen, "%s: %s", u->text, strerror(errno));
            }
            return -1;
        }
        llhttp_errno_t e =
            n == 0 ? llhttp_finish(&parser) : llhttp_execute(&parser, chunk, (size_t)n);
        if (e == HPE_PAUSED || x.done) {
            break;
        }
        if (e != HPE_OK) {
            snprintf(err, errlen, "%s: %s", u->text,
                     x.too_big ? "the answer is too large"
                               : "not an HTTP answer (is this an onair signal node?)");
            return -1;
        }
        if (n == 0) {
            snprintf(err, errlen, "%s: the connection closed before the answer was complete",
                     u->text);
            return -1;
        }
    }
    return 0;
}

int ctl_http(const ctl_url_t *u, const char *method, const char *path, const char *token,
             const char *body, int timeout_ms, ctl_resp_t *resp, char *err, size_t errlen)
{
    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body, CTL_MAX_BODY);
    int fd = dial(u, timeout_ms, err, errlen);
    if (fd < 0) {
        return -1;
    }
    buf_t req;
    buf_init(&req, 0);
    bool v6 = strchr(u->host, ':') != NULL;
    buf_printf(&req,
               "%s %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: onairctl\r\n"
               "Accept: application/json\r\nConnection: close\r\n",
               method, u->base, path, v6 ? "[" : "", u->host, v6 ? "]" : "", u->port);
    if (token && *token) {
        buf_printf(&req, "Authorization: Bearer %s\r\n", token);
    }
    if (body) {
        buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body));
    }
    buf_append_str(&req, "\r\n");
    if (body) {
        buf_append_str(&req, body);
    }
    int rc = 0;
    if (send_all(fd, req.data, req.len) != 0) {
        snprintf(err, errlen, "%s: cannot send the request: %s", u->text, strerror(errno));
        rc = -1;
    } else {
        rc = read_response(fd, u, timeout_ms, resp, err, errlen);
    }
    buf_deinit(&req);
    close(fd);
    return rc;
}

void ctl_resp_deinit(ctl_resp_t *r)
{
    buf_deinit(&r->body);
}
