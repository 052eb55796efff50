/* sfu/forward.c: see forward.h. One connected, non-blocking UDP socket per target; a GLib fd
 * watch reads what the target sends back (keyframe requests), a one-second timer repeats the
 * description (UDP may lose it, and a receiver may start late). */
#include "forward.h"
#include "../common/log.h"
#include "../proto/rtcp.h"
#include "../proto/rtp.h"
#include "peer.h"
#include "room.h"
#include "router.h"
#include "rtcp_fb.h"
#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FWD_DESC_MAX     4096 /* the description datagram */
#define FWD_SR_MAX       256  /* a cached SR + SDES compound */
#define FWD_PERIOD_MS    1000 /* description repeat */
#define FWD_RECV_BATCH   16   /* datagrams read per wakeup */
#define FWD_SNDBUF_BYTES (1 << 20)

typedef struct fwd_target {
    char id[RPC_ID_MAX + 1];
    int fd;
    guint watch; /* GSource id of the fd watch */
    char host[INET6_ADDRSTRLEN];
    long port;
    uint64_t packets, bytes, dropped, keyframe_requests;
} fwd_target_t;

struct fwd_room {
    fwd_target_t *t[FORWARD_MAX]; /* owned; t[0..n) in use */
    int n;
    guint timer;      /* description repeat while n > 0 */
    const void *seen; /* the pub_media_t last described (identity only, never dereferenced) */
    uint64_t version; /* o= version: bumped when the text changes */
    char desc[FWD_DESC_MAX];
    size_t desc_len;
    uint8_t sr[SDP_MAX_MEDIA][FWD_SR_MAX]; /* last SR (+ SDES) per publisher track */
    size_t sr_len[SDP_MAX_MEDIA];
};

/* ---- the description ------------------------------------------------------------------------- */

static size_t put(char *out, size_t cap, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t put(char *out, size_t cap, size_t off, const char *fmt, ...)
{
    if (off >= cap) {
        return cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + off, cap - off, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= cap - off ? cap : off + (size_t)n;
}

/* Writes the SDP text of the room's current publisher media (no m= line without one). Strings
 * in it come from the publisher's negotiation, which sdp.c checked for CR/LF. */
static size_t describe(const room_t *r, uint64_t version, char *out, size_t cap)
{
    size_t o = 0;
    o = put(out, cap, o, "v=0\r\no=onair-sfu 1 %llu IN IP4 127.0.0.1\r\ns=%s\r\nt=0 0\r\n",
            (unsigned long long)version, r->id);
    const peer_t *pub = r->publisher;
    const pub_media_t *m = pub && !pub->closed ? pub->pub : NULL;
    for (int i = 0; m && i < m->neg.n_media; i++) {
        const pub_track_t *t = &m->t[i];
        const sdp_neg_media_t *nm = &m->neg.media[i];
        if (!t->active) {
            continue;
        }
        bool audio = t->kind == SDP_KIND_AUDIO;
        o = put(out, cap, o, "m=%s 9 RTP/AVP %u\r\nc=IN IP4 127.0.0.1\r\na=mid:%s\r\n",
                audio ? "audio" : "video", t->pt, nm->mid);
        if (audio && nm->codec.channels > 1) {
            o = put(out, cap, o, "a=rtpmap:%u %s/%u/%u\r\n", t->pt, nm->codec.name, t->clock,
                    nm->codec.channels);
        } else {
            o = put(out, cap, o, "a=rtpmap:%u %s/%u\r\n", t->pt, nm->codec.name, t->clock);
        }
        if (nm->codec.fmtp[0]) {
            o = put(out, cap, o, "a=fmtp:%u %s\r\n", t->pt, nm->codec.fmtp);
        }
        o = put(out, cap, o, "a=sendonly\r\n");
        if (t->out_ssrc) {
            o = put(out, cap, o, "a=ssrc:%u cname:%s\r\n", t->out_ssrc,
                    nm->cname[0] ? nm->cname : "onair");
        }
    }
    return o < cap ? o : 0;
}

static void send_all(fwd_room_t *f, const uint8_t *buf, size_t len)
{
    for (int i = 0; i < f->n; i++) {
        if (send(f->t[i]->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            f->t[i]->dropped++;
        }
    }
}

/* Rebuilds the description from the current publisher; sends it to every target (to one only
 * when only is set). */
static void announce(room_t *r, fwd_target_t *only)
{
    fwd_room_t *f = r->fwd;
    char tmp[FWD_DESC_MAX];
    size_t n = describe(r, f->version, tmp, sizeof tmp);
    if (n == 0) {
        return; /* cannot happen with the SDP limits; better silent than truncated */
    }
    if (n != f->desc_len || memcmp(tmp, f->desc, n) != 0) {
        f->version++;
        n = describe(r, f->version, f->desc, sizeof f->desc);
        f->desc_len = n;
    }
    if (only) {
        if (send(only->fd, f->desc, f->desc_len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            only->dropped++;
        }
    } else {
        send_all(f, (const uint8_t *)f->desc, f->desc_len);
    }
}

static gboolean on_period(gpointer ud)
{
    announce(ud, NULL);
    return G_SOURCE_CONTINUE;
}

/* ---- what a target sends back -----------------------------------------------------------------
 */

static gboolean on_target_readable(gint fd, GIOCondition cond, gpointer ud)
{
    room_t *r = ud;
    uint8_t buf[1500];
    for (int k = 0; k < FWD_RECV_BATCH; k++) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            /* EAGAIN: done; ECONNREFUSED: the receiver is not (yet) there, keep sending */
            break;
        }
        if (!rtp_is_rtcp(buf, (size_t)n)) {
            continue;
        }
        rtcp_iter_t it;
        rtcp_pkt_t p;
        const char *why = NULL;
        bool want = false;
        rtcp_iter_init(&it, buf, (size_t)n);
        while (rtcp_iter_next(&it, &p, &why) == 1) {
            want |= p.pt == RTCP_PSFB && (p.fmt == RTCP_FMT_PLI || p.fmt == RTCP_FMT_FIR);
        }
        if (want) {
            for (int i = 0; r->fwd && i < r->fwd->n; i++) {
                if (r->fwd->t[i]->fd == fd) {
                    r->fwd->t[i]->keyframe_requests++;
                }
            }
            rtcp_fb_keyframe(r->publisher, NULL); /* coalesced per --pli-interval-ms */
        }
    }
    return G_SOURCE_CONTINUE;
}

/* ---- targets -----------------------------------------------------------------------------------
 */

static fwd_room_t *fwd_get(room_t *r)
{
    if (!r->fwd) {
        r->fwd = g_new0(fwd_room_t, 1);
    }
    return r->fwd;
}

static int find(const fwd_room_t *f, const char *id)
{
    for (int i = 0; f && i < f->n; i++) {
        if (!strcmp(f->t[i]->id, id)) {
            return i;
        }
    }
    return -1;
}

/* Loopback only: plain RTP must never leave the host (docs/RECORDING.md). */
static int loopback_addr(const char *host, long port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (port < 1 || port > 65535) {
        return -1;
    }
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127) {
            return -1;
        }
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1 && IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr)) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

static void target_free(fwd_target_t *t)
{
    if (t->watch) {
        g_source_remove(t->watch);
    }
    if (t->fd >= 0) {
        close(t->fd);
    }
    g_free(t);
}

/* An RTCP BYE for every track the publisher has: the receiver's input has ended. */
static void send_bye(const room_t *r, fwd_target_t *t)
{
    const pub_media_t *m = r->publisher ? r->publisher->pub : NULL;
    uint32_t ssrcs[SDP_MAX_MEDIA];
    size_t n = 0;
    for (int i = 0; m && i < m->neg.n_media; i++) {
        if (m->t[i].active && m->t[i].out_ssrc) {
            ssrcs[n++] = m->t[i].out_ssrc;
        }
    }
    if (n == 0) {
        ssrcs[n++] = 0; /* still say goodbye: the receiver only needs the packet type */
    }
    uint8_t buf[128];
    rtcp_rr_t rr = { .ssrc = 0, .n_reports = 0 };
    ssize_t a = rtcp_rr_build(buf, sizeof buf, &rr);
    ssize_t b =
        a > 0 ? rtcp_bye_build(buf + a, sizeof buf - (size_t)a, ssrcs, n, "forward end") : -1;
    if (b > 0) {
        send(t->fd, buf, (size_t)(a + b), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

json_t *forward_add(room_t *r, const char *id, const char *host, long port, rpc_err_t *err,
                    char *why, size_t whylen)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if (loopback_addr(host, port, &ss, &sslen) != 0) {
        *err = RPC_E_INVALID_PARAMS;
        snprintf(why, whylen, "host/port: a loopback address (127.0.0.0/8 or ::1) and a port");
        return NULL;
    }
    fwd_room_t *f = fwd_get(r);
    if (find(f, id) >= 0 || f->n == FORWARD_MAX) {
        *err = RPC_E_CONFLICT;
        snprintf(why, whylen,
                 f->n == FORWARD_MAX ? "room %s has %d forwards already"
                                     : "room %s has a forward with this id",
                 r->id, FORWARD_MAX);
        return NULL;
    }
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sslen) != 0) {
        *err = RPC_E_INTERNAL;
        snprintf(why, whylen, "forward socket: %s", strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    int sndbuf = FWD_SNDBUF_BYTES;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    fwd_target_t *t = g_new0(fwd_target_t, 1);
    snprintf(t->id, sizeof t->id, "%s", id);
    snprintf(t->host, sizeof t->host, "%s", host);
    t->port = port;
    t->fd = fd;
    t->watch = g_unix_fd_add(fd, G_IO_IN, on_target_readable, r);
    f->t[f->n++] = t;
    if (!f->timer) {
        f->timer = g_timeout_add(FWD_PERIOD_MS, on_period, r);
    }
    announce(r, t);
    for (int i = 0; i < SDP_MAX_MEDIA; i++) {
        if (f->sr_len[i] && f->seen == (r->publisher ? r->publisher->pub : NULL)) {
            send(fd, f->sr[i], f->sr_len[i], MSG_DONTWAIT | MSG_NOSIGNAL);
        }
    }
    rtcp_fb_keyframe(r->publisher, NULL); /* so the receiver starts with a keyframe */
    LOG_I("forward", "added", "\"room\":\"%s\",\"id\":\"%s\",\"host\":\"%s\",\"port\":%ld", r->id,
          id, host, port);
    return json_pack("{s:s,s:s}", "id", id, "sdp", f->desc);
}

static void remove_at(room_t *r, int i, const char *why)
{
    fwd_room_t *f = r->fwd;
    fwd_target_t *t = f->t[i];
    send_bye(r, t);
    LOG_I("forward", "removed",
          "\"room\":\"%s\",\"id\":\"%s\",\"why\":\"%s\",\"packets\":%llu,\"dropped\":%llu", r->id,
          t->id, why, (unsigned long long)t->packets, (unsigned long long)t->dropped);
    target_free(t);
    f->t[i] = f->t[--f->n];
    f->t[f->n] = NULL;
    if (f->n == 0 && f->timer) {
        g_source_remove(f->timer);
        f->timer = 0;
    }
}

int forward_remove(room_t *r, const char *id)
{
    int i = find(r->fwd, id);
    if (i < 0) {
        return -1;
    }
    remove_at(r, i, "removed");
    return 0;
}

json_t *forward_rpc(sfu_t *s, rpc_method_t method, const json_t *params, rpc_err_t *err, char *why,
                    size_t whylen)
{
    const char *w = NULL, *room_id, *id, *host = NULL;
    json_t *jport = json_object_get(params, "port");
    *err = RPC_E_INVALID_PARAMS;
    if (!(room_id = rpc_get_id(params, "room", &w))) {
        snprintf(why, whylen, "room: %s", w);
        return NULL;
    }
    if (!(id = rpc_get_id(params, "id", &w))) {
        snprintf(why, whylen, "id: %s", w);
        return NULL;
    }
    if (method == RPC_M_ROOM_FORWARD) {
        if (!(host = rpc_get_str(params, "host", INET6_ADDRSTRLEN - 1, &w))) {
            snprintf(why, whylen, "host: %s", w);
            return NULL;
        }
        if (!json_is_integer(jport)) {
            snprintf(why, whylen, "port: missing or not an integer");
            return NULL;
        }
    }
    room_t *r = sfu_room_find(s, room_id);
    if (!r) {
        *err = RPC_E_NOT_FOUND;
        snprintf(why, whylen, "no room %s", room_id);
        return NULL;
    }
    if (method == RPC_M_ROOM_FORWARD) {
        return forward_add(r, id, host, (long)json_integer_value(jport), err, why, whylen);
    }
    int i = find(r->fwd, id);
    if (i < 0) {
        *err = RPC_E_NOT_FOUND;
        snprintf(why, whylen, "room %s has no forward %s", room_id, id);
        return NULL;
    }
    const fwd_target_t *t = r->fwd->t[i];
    json_t *res = json_pack("{s:s,s:I,s:I,s:I}", "id", id, "packets", (json_int_t)t->packets,
                            "bytes", (json_int_t)t->bytes, "dropped", (json_int_t)t->dropped);
    remove_at(r, i, "removed");
    return res;
}

void forward_room_free(room_t *r)
{
    fwd_room_t *f = r->fwd;
    if (!f) {
        return;
    }
    while (f->n > 0) {
        remove_at(r, f->n - 1, "room closed");
    }
    g_free(f);
    r->fwd = NULL;
}

/* ---- per packet ---------------------------------------------------------------------------------
 */

void forward_rtp(room_t *r, const peer_t *pub, const uint8_t *pkt, size_t len)
{
    fwd_room_t *f = r->fwd;
    if (!f || f->n == 0) {
        return;
    }
    if (f->seen != pub->pub) {
        /* another publisher, or new media: new ssrcs and codecs; old reports mean nothing */
        f->seen = pub->pub;
        memset(f->sr_len, 0, sizeof f->sr_len);
        announce(r, NULL);
    }
    for (int i = 0; i < f->n; i++) {
        fwd_target_t *t = f->t[i];
        if (send(t->fd, pkt, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            t->dropped++;
        } else {
            t->packets++;
            t->bytes += len;
        }
    }
}

void forward_rtcp_sr(room_t *r, int idx, const uint8_t *pkt, size_t len)
{
    if (idx < 0 || idx >= SDP_MAX_MEDIA || len > FWD_SR_MAX || !r->publisher) {
        return;
    }
    fwd_room_t *f = fwd_get(r);
    if (f->seen != r->publisher->pub) {
        f->seen = r->publisher->pub;
        memset(f->sr_len, 0, sizeof f->sr_len);
        if (f->n > 0) {
            announce(r, NULL);
        }
    }
    memcpy(f->sr[idx], pkt, len);
    f->sr_len[idx] = len;
    send_all(f, pkt, len);
}

json_t *forward_stats_json(const room_t *r)
{
    json_t *a = json_array();
    for (int i = 0; r->fwd && i < r->fwd->n; i++) {
        const fwd_target_t *t = r->fwd->t[i];
        json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "id", t->id, "host",
                                           t->host, "port", (json_int_t)t->port, "packets",
                                           (json_int_t)t->packets, "bytes", (json_int_t)t->bytes,
                                           "dropped", (json_int_t)t->dropped, "keyframe_requests",
                                           (json_int_t)t->keyframe_requests));
    }
    return a;
}
