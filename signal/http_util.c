/* signal/http_util.c: the request/response side of the HTTP server: route table, header and
 * query lookup, Accept-Encoding, CORS (Node's cors module semantics), response heads and
 * zlib compression. */
#include "../common/xalloc.h"
#include "../proto/err.h"
#include "http_impl.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* ---- routes ---------------------------------------------------------------------------- */

int http_route(http_server_t *srv, const char *method, const char *path, int match, size_t max_body,
               http_handler_cb cb, void *ud)
{
    for (size_t i = 0; i < srv->nroutes; i++) {
        http_route_ent_t *r = &srv->routes[i];
        bool same_method =
            (!r->method && !method) || (r->method && method && strcmp(r->method, method) == 0);
        if (same_method && r->match == match && strcmp(r->path, path) == 0) {
            return -1;
        }
    }
    srv->routes = xrealloc(srv->routes, (srv->nroutes + 1) * sizeof(*srv->routes));
    http_route_ent_t *r = &srv->routes[srv->nroutes++];
    r->method = method ? xstrdup(method) : NULL;
    r->path = xstrdup(path);
    r->path_len = strlen(path);
    r->match = match;
    r->max_body = max_body;
    r->cb = cb;
    r->head = NULL;
    r->ud = ud;
    return 0;
}

int http_route_on_head(http_server_t *srv, const char *method, const char *path, int match,
                       http_head_cb cb)
{
    for (size_t i = 0; i < srv->nroutes; i++) {
        http_route_ent_t *r = &srv->routes[i];
        bool same_method =
            (!r->method && !method) || (r->method && method && strcmp(r->method, method) == 0);
        if (same_method && r->match == match && strcmp(r->path, path) == 0) {
            r->head = cb;
            return 0;
        }
    }
    return -1;
}

const http_route_ent_t *http__route_find(const http_server_t *srv, const char *method,
                                         const char *path, bool *path_exists)
{
    const http_route_ent_t *best = NULL;
    size_t plen = strlen(path);
    *path_exists = false;
    for (size_t i = 0; i < srv->nroutes; i++) {
        const http_route_ent_t *r = &srv->routes[i];
        bool hit = r->match == HTTP_MATCH_EXACT
                       ? strcmp(r->path, path) == 0
                       : plen >= r->path_len && memcmp(r->path, path, r->path_len) == 0;
        if (!hit) {
            continue;
        }
        *path_exists = true;
        if (r->method && strcmp(r->method, method) != 0) {
            continue;
        }
        /* exact beats prefix; a longer prefix beats a shorter one */
        if (!best || (r->match == HTTP_MATCH_EXACT && best->match != HTTP_MATCH_EXACT) ||
            (r->match == best->match && r->path_len > best->path_len)) {
            best = r;
        }
    }
    return best;
}

/* ---- requests -------------------------------------------------------------------------- */

const char *http_req_header(const http_req_t *r, const char *name)
{
    for (unsigned i = 0; i < r->nhdr; i++) {
        if (r->hdr_off[i * 2 + 1] == UINT32_MAX) {
            continue; /* a field whose value never completed */
        }
        if (strcasecmp(r->hdr_base + r->hdr_off[i * 2], name) == 0) {
            return r->hdr_base + r->hdr_off[i * 2 + 1];
        }
    }
    return NULL;
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int http_query_get(const char *query, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    const char *p = query;
    while (p && *p) {
        const char *end = strchr(p, '&');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        size_t kn = eq ? (size_t)(eq - p) : n;
        if (kn == klen && memcmp(p, key, klen) == 0) {
            const char *v = eq ? eq + 1 : p + n;
            size_t vn = eq ? n - kn - 1 : 0, o = 0;
            for (size_t i = 0; i < vn; i++) {
                if (o + 1 >= cap) {
                    return -1;
                }
                char ch = v[i];
                if (ch == '+') {
                    ch = ' ';
                } else if (ch == '%' && i + 2 < vn && unhex(v[i + 1]) >= 0 &&
                           unhex(v[i + 2]) >= 0) {
                    ch = (char)(unhex(v[i + 1]) << 4 | unhex(v[i + 2]));
                    i += 2;
                }
                out[o++] = ch;
            }
            if (cap == 0) {
                return -1;
            }
            out[o] = 0;
            return (int)o;
        }
        p = end ? end + 1 : NULL;
    }
    return -1;
}

bool http_req_accepts(const http_req_t *r, const char *coding)
{
    const char *ae = http_req_header(r, "accept-encoding");
    if (!ae) {
        return false;
    }
    size_t cl = strlen(coding);
    const char *p = ae;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        const char *tok = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t') {
            p++;
        }
        size_t tn = (size_t)(p - tok);
        double q = 1.0;
        const char *end = strchr(p, ',');
        const char *qp = strstr(p, "q=");
        if (qp && (!end || qp < end)) {
            q = strtod(qp + 2, NULL);
        }
        if (tn && ((tn == cl && strncasecmp(tok, coding, cl) == 0) || (tn == 1 && *tok == '*'))) {
            return q > 0;
        }
        p = end ? end : p + strlen(p);
    }
    return false;
}

/* ---- CORS ------------------------------------------------------------------------------ */

static bool header_safe(const char *v)
{
    for (; *v; v++) {
        if ((unsigned char)*v < 0x20 && *v != '\t') {
            return false;
        }
    }
    return true;
}

static bool origin_listed(const char *list, const char *origin)
{
    size_t on = strlen(origin);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') {
            e++;
        }
        if ((size_t)(e - p) == on && memcmp(p, origin, on) == 0) {
            return true;
        }
        p = e;
    }
    return false;
}

void http__cors_lines(const http_server_t *srv, const http_req_t *req, char *out, size_t cap)
{
    out[0] = 0;
    const char *pol = srv->cors.origin;
    if (!pol) {
        return;
    }
    const char *origin = http_req_header(req, "origin");
    if (origin && !header_safe(origin)) {
        origin = NULL;
    }
    int n = 0;
    if (strcmp(pol, "*") == 0) {
        n = snprintf(out, cap, "Access-Control-Allow-Origin: *\r\n");
    } else if (origin && (strcmp(pol, "reflect") == 0 || origin_listed(pol, origin))) {
        n = snprintf(out, cap, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", origin);
    } else {
        n = snprintf(out, cap, "Vary: Origin\r\n");
    }
    if (n < 0 || (size_t)n >= cap) {
        out[0] = 0;
        return;
    }
    if (srv->cors.credentials) {
        snprintf(out + n, cap - (size_t)n, "Access-Control-Allow-Credentials: true\r\n");
    }
}

void http_res_preflight(const http_req_t *req, http_res_t *res)
{
    http_server_t *srv = http_conn_server(req->conn);
    if (!srv->cors.origin) {
        http_res_send(res, 404, "text/plain", "Not Found", 9);
        return;
    }
    res->status = 204;
    res->cors = true;
    http_res_header(res, "Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
    const char *rh = http_req_header(req, "access-control-request-headers");
    if (rh && header_safe(rh)) {
        http_res_header(res, "Access-Control-Allow-Headers", rh);
        http_res_header(res, "Vary", "Access-Control-Request-Headers");
    }
}

/* ---- responses ------------------------------------------------------------------------- */

void http_res_init(http_res_t *res)
{
    memset(res, 0, sizeof(*res));
    res->status = 200;
    buf_init(&res->headers, 65536);
    buf_init(&res->body, 0);
}

void http_res_deinit(http_res_t *res)
{
    buf_deinit(&res->headers);
    buf_deinit(&res->body);
}

int http_res_header(http_res_t *res, const char *name, const char *value)
{
    return buf_printf(&res->headers, "%s: %s\r\n", name, value);
}

int http_res_send(http_res_t *res, int status, const char *content_type, const void *body,
                  size_t len)
{
    res->status = status;
    res->content_type = content_type;
    buf_reset(&res->body);
    return buf_append(&res->body, body, len);
}

int http_res_json_error(http_res_t *res, int status, int code, const char *message)
{
    res->status = status;
    res->content_type = "application/json";
    buf_reset(&res->body);
    int rc = buf_printf(&res->body, "{\"code\":%d,\"message\":", code);
    if (rc == 0) {
        rc = buf_append_json_str(&res->body, message, strlen(message));
    }
    return rc ? rc : buf_append_byte(&res->body, '}');
}

const char *http__status_text(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

bool http__lines_have(const char *lines, size_t lines_len, const char *name, size_t len)
{
    const char *p = lines, *end = lines + lines_len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if ((size_t)(next - p) > len && p[len] == ':' && strncasecmp(p, name, len) == 0) {
            return true;
        }
        p = next;
    }
    return false;
}

/* Appends the default lines whose names res does not set itself. */
static int append_defaults(buf_t *out, const http_res_t *res, const char *defaults)
{
    const char *p = defaults;
    int rc = 0;
    while (rc == 0 && *p) {
        const char *eol = strchr(p, '\n');
        const char *next = eol ? eol + 1 : p + strlen(p);
        const char *colon = memchr(p, ':', (size_t)(next - p));
        if (colon && !http__lines_have((const char *)res->headers.data, res->headers.len, p,
                                       (size_t)(colon - p))) {
            rc = buf_append(out, p, (size_t)(next - p));
        }
        p = next;
    }
    return rc;
}

int http__head(buf_t *out, const http_res_t *res, size_t body_len, const char *content_encoding,
               bool keep_alive, const char *cors_lines, const char *defaults)
{
    int rc = buf_printf(out, "HTTP/1.1 %d %s\r\n", res->status, http__status_text(res->status));
    if (rc == 0 && res->content_type) {
        rc = buf_printf(out, "Content-Type: %s\r\n", res->content_type);
    }
    if (rc == 0 && content_encoding) {
        rc = buf_printf(out, "Content-Encoding: %s\r\nVary: Accept-Encoding\r\n", content_encoding);
    }
    if (rc == 0 && res->status != 204 && res->status != 304 && res->status >= 200) {
        rc = buf_printf(out, "Content-Length: %zu\r\n", body_len);
    } else if (rc == 0 && res->status == 204) {
        rc = buf_append_str(out, "Content-Length: 0\r\n");
    }
    if (rc == 0) {
        rc = buf_append_str(out,
                            keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    }
    if (rc == 0 && cors_lines && *cors_lines) {
        rc = buf_append_str(out, cors_lines);
    }
    if (rc == 0 && defaults && *defaults) {
        rc = append_defaults(out, res, defaults);
    }
    if (rc == 0 && res->headers.len) {
        rc = buf_append(out, res->headers.data, res->headers.len);
    }
    return rc ? rc : buf_append(out, "\r\n", 2);
}

int http__compress(const http_part_t *parts, size_t n, bool gzip, buf_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 (+16: gzip wrapper), as Node's createGzip / createDeflate (c-deps.md 12) */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzip ? 15 + 16 : 15, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return -1;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += parts[i].len;
    }
    if (buf_reserve(out, deflateBound(&z, total) + 64) != 0) {
        deflateEnd(&z);
        return -1;
    }
    int rc = Z_OK;
    for (size_t i = 0; i <= n && rc != Z_STREAM_END; i++) {
        bool last = i == n;
        z.next_in = last ? NULL : (Bytef *)parts[i].p;
        z.avail_in = last ? 0 : (uInt)parts[i].len;
        do {
            if (out->cap - out->len < 64 && buf_reserve(out, 4096) != 0) {
                deflateEnd(&z);
                return -1;
            }
            z.next_out = out->data + out->len;
            z.avail_out = (uInt)(out->cap - out->len - 1);
            size_t before = z.avail_out;
            rc = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
            out->len += before - z.avail_out;
            if (rc == Z_STREAM_ERROR) {
                deflateEnd(&z);
                return -1;
            }
        } while (z.avail_out == 0 || (last && rc != Z_STREAM_END) || z.avail_in > 0);
    }
    deflateEnd(&z);
    return 0;
}

/* ---- default headers ------------------------------------------------------------------- */

/* RFC 9110 5.1: a field name is a token. */
static bool is_tchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool lines_valid(const char *p)
{
    while (*p) {
        const char *n = p;
        while (is_tchar(*p)) {
            p++;
        }
        if (p == n || *p != ':') {
            return false;
        }
        for (p++; *p && *p != '\r'; p++) {
            if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
                return false;
            }
        }
        if (p[0] != '\r' || p[1] != '\n') {
            return false;
        }
        p += 2;
    }
    return true;
}

int http_server_set_default_headers(http_server_t *srv, const char *lines)
{
    if (!lines) {
        lines = "";
    }
    if (!lines_valid(lines) || strlen(lines) > 8192) {
        return -1;
    }
    free(srv->default_headers);
    srv->default_headers = xstrdup(lines);
    return 0;
}

const char *http_server_default_headers(const http_server_t *srv)
{
    return srv->default_headers ? srv->default_headers : "";
}
