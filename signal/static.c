/* signal/static.c: serves the socket.io-client browser bundle at /socket.io/socket.io.js (and
 * .min.js, the source maps, the ESM build) as Node's socket.io does (index.js serve()): ETag
 * "<client version>", Cache-Control public max-age=0, 304 on If-None-Match, gzip or deflate
 * when accepted. The files are read and compressed once at start (no file I/O on the loop). */
#include "static.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct sfile {
    char route[96];
    const char *ctype;
    buf_t raw, gz, df;
    struct static_client *owner;
} sfile_t;

struct static_client {
    char etag[64], weak_etag[72];
    sfile_t files[8];
    size_t n;
};

static const char *const names[] = {
    "socket.io.js",         "socket.io.js.map",     "socket.io.min.js",
    "socket.io.min.js.map", "socket.io.esm.min.js", "socket.io.esm.min.js.map",
};

static int read_file(const char *path, buf_t *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return -1;
    }
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        buf_append(out, tmp, n);
    }
    fclose(f);
    return 0;
}

static void compress_to(const buf_t *in, bool gzip, buf_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, gzip ? 15 + 16 : 15, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return;
    }
    buf_reserve(out, deflateBound(&z, in->len));
    z.next_in = in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = out->data;
    z.avail_out = (uInt)(out->cap - 1);
    if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
        out->len = z.total_out;
    }
    deflateEnd(&z);
}

static int on_get(http_req_t *req, http_res_t *res, void *ud)
{
    sfile_t *f = ud;
    struct static_client *sc = f->owner;
    const char *inm = http_req_header(req, "if-none-match");
    if (inm && (strcmp(inm, sc->etag) == 0 || strcmp(inm, sc->weak_etag) == 0)) {
        res->status = 304;
        return HTTP_DONE;
    }
    http_res_header(res, "Cache-Control", "public, max-age=0");
    http_res_header(res, "ETag", sc->etag);
    res->content_type = f->ctype;
    res->no_compress = true;
    const buf_t *body = &f->raw;
    if (f->gz.len && http_req_accepts(req, "gzip")) {
        body = &f->gz;
        http_res_header(res, "Content-Encoding", "gzip");
    } else if (f->df.len && http_req_accepts(req, "deflate")) {
        body = &f->df;
        http_res_header(res, "Content-Encoding", "deflate");
    }
    buf_append(&res->body, body->data, body->len);
    return HTTP_DONE;
}

static void read_version(const char *dir, char *out, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/../package.json", dir);
    json_t *j = json_load_file(path, 0, NULL);
    const char *v = j ? json_string_value(json_object_get(j, "version")) : NULL;
    snprintf(out, cap, "%s", v ? v : "unknown");
    json_decref(j);
}

static_client_t *static_client_load(http_server_t *http, const char *dir, const char *prefix)
{
    static_client_t *sc = xcalloc(1, sizeof(*sc));
    char ver[32];
    read_version(dir, ver, sizeof ver);
    snprintf(sc->etag, sizeof sc->etag, "\"%s\"", ver);
    snprintf(sc->weak_etag, sizeof sc->weak_etag, "W/\"%s\"", ver);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        sfile_t *f = &sc->files[sc->n];
        buf_init(&f->raw, 0);
        buf_init(&f->gz, 0);
        buf_init(&f->df, 0);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (read_file(path, &f->raw) != 0) {
            buf_deinit(&f->raw);
            continue;
        }
        compress_to(&f->raw, true, &f->gz);
        compress_to(&f->raw, false, &f->df);
        bool map = strstr(names[i], ".map") != NULL;
        f->ctype =
            map ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8";
        f->owner = sc;
        snprintf(f->route, sizeof f->route, "%s%s", prefix, names[i]);
        http_route(http, "GET", f->route, HTTP_MATCH_EXACT, 0, on_get, f);
        sc->n++;
    }
    if (sc->n == 0) {
        LOG_W("static", "socket.io-client bundle not found", "\"dir\":\"%s\"", log_esc(dir));
    } else {
        LOG_I("static", "client bundle loaded", "\"dir\":\"%s\",\"files\":%zu,\"version\":\"%s\"",
              log_esc(dir), sc->n, log_esc(ver));
    }
    return sc;
}

size_t static_client_files(const static_client_t *sc)
{
    return sc->n;
}

void static_client_free(static_client_t *sc)
{
    if (!sc) {
        return;
    }
    for (size_t i = 0; i < sc->n; i++) {
        buf_deinit(&sc->files[i].raw);
        buf_deinit(&sc->files[i].gz);
        buf_deinit(&sc->files[i].df);
    }
    free(sc);
}
