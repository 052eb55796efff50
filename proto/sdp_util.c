/* proto/sdp_util.c: lookups on a parsed sdp_t, fmtp parameters and the ICE candidate
 * classifier (RFC 8839 5.1). */
#include <string.h>

#include "err.h"
#include "sdp.h"
#include "sdp_int.h"

const sdp_codec_t *sdp_media_codec(const sdp_media_t *m, uint8_t pt)
{
    for (unsigned i = 0; i < m->n_codecs; i++) {
        if (m->codecs[i].pt == pt) {
            return &m->codecs[i];
        }
    }
    return NULL;
}

int sdp_media_rtx_pt(const sdp_media_t *m, uint8_t pt)
{
    for (unsigned i = 0; i < m->n_codecs; i++) {
        const sdp_codec_t *c = &m->codecs[i];
        if (c->apt == pt && span_ieq((span_t){ c->name, strlen(c->name) }, "rtx")) {
            return c->pt;
        }
    }
    return -1;
}

int sdp_media_extmap_id(const sdp_media_t *m, const char *uri)
{
    for (unsigned i = 0; i < m->n_extmaps; i++) {
        if (strcmp(m->extmaps[i].uri, uri) == 0) {
            return m->extmaps[i].id;
        }
    }
    return 0;
}

const sdp_media_t *sdp_find_mid(const sdp_t *s, const char *mid)
{
    for (unsigned i = 0; i < s->n_media; i++) {
        if (s->media[i].mid[0] && strcmp(s->media[i].mid, mid) == 0) {
            return &s->media[i];
        }
    }
    return NULL;
}

static bool is_fid_second(const sdp_media_t *m, uint32_t ssrc)
{
    for (unsigned i = 0; i < m->n_groups; i++) {
        const sdp_ssrc_group_t *g = &m->groups[i];
        if (strcmp(g->semantics, "FID") == 0 && g->n >= 2 && g->ssrcs[1] == ssrc) {
            return true;
        }
    }
    return false;
}

uint32_t sdp_media_primary_ssrc(const sdp_media_t *m, uint32_t *rtx_ssrc)
{
    if (rtx_ssrc) {
        *rtx_ssrc = 0;
    }
    /* RFC 4588 8.2: "a=ssrc-group:FID <primary> <rtx>" */
    for (unsigned i = 0; i < m->n_groups; i++) {
        const sdp_ssrc_group_t *g = &m->groups[i];
        if (strcmp(g->semantics, "FID") == 0 && g->n >= 2) {
            if (rtx_ssrc) {
                *rtx_ssrc = g->ssrcs[1];
            }
            return g->ssrcs[0];
        }
    }
    for (unsigned i = 0; i < m->n_ssrcs; i++) {
        if (!is_fid_second(m, m->ssrcs[i].ssrc)) {
            return m->ssrcs[i].ssrc;
        }
    }
    return 0;
}

bool sdp_fmtp_get(const char *fmtp, const char *key, const char **val, size_t *vlen)
{
    span_t rest = { fmtp, strlen(fmtp) };
    while (rest.n) {
        const char *semi = memchr(rest.p, ';', rest.n);
        span_t param = { rest.p, semi ? (size_t)(semi - rest.p) : rest.n };
        rest.p += param.n + (semi ? 1 : 0);
        rest.n -= param.n + (semi ? 1 : 0);
        param = trim(param);
        const char *eq = memchr(param.p, '=', param.n);
        span_t k = trim((span_t){ param.p, eq ? (size_t)(eq - param.p) : param.n });
        if (span_ieq(k, key)) {
            span_t v = eq ? trim((span_t){ eq + 1, (size_t)(param.p + param.n - eq - 1) })
                          : (span_t){ param.p + param.n, 0 };
            *val = v.p;
            *vlen = v.n;
            return true;
        }
    }
    return false;
}

static bool copy_tok(char *dst, size_t cap, span_t t)
{
    if (t.n == 0 || t.n >= cap) {
        return false;
    }
    memcpy(dst, t.p, t.n);
    dst[t.n] = '\0';
    return true;
}

/* candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
 * [raddr <a>] [rport <p>] [tcptype <t>] [<extension name> <value>]... (RFC 8839 5.1) */
int sdp_cand_parse(sdp_cand_t *c, const char *s, size_t len, const char **why)
{
    memset(c, 0, sizeof *c);
    span_t rest = trim((span_t){ s, len });
    while (rest.n && (rest.p[rest.n - 1] == '\r' || rest.p[rest.n - 1] == '\n')) {
        rest = trim((span_t){ rest.p, rest.n - 1 });
    }
    const char *w = "candidate needs foundation, component, transport, priority, address, port";
    if (rest.n >= 2 && rest.p[0] == 'a' && rest.p[1] == '=') {
        rest.p += 2, rest.n -= 2;
    }
    if (rest.n < 10 || memcmp(rest.p, "candidate:", 10) != 0) {
        w = "not a candidate: line";
        goto bad;
    }
    rest.p += 10, rest.n -= 10;
    span_t f, comp, tr, prio, addr, port, typ, type, key, val;
    uint64_t u;
    if (!next_tok(&rest, &f) || !next_tok(&rest, &comp) || !next_tok(&rest, &tr) ||
        !next_tok(&rest, &prio) || !next_tok(&rest, &addr) || !next_tok(&rest, &port)) {
        goto bad;
    }
    if (!copy_tok(c->foundation, sizeof c->foundation, f)) {
        w = "bad candidate foundation";
        goto bad;
    }
    if (!span_u64(comp, 256, &u) || u == 0) {
        w = "bad candidate component";
        goto bad;
    }
    c->component = (uint16_t)u;
    if (span_ieq(tr, "tcp")) {
        c->tcp = true;
    } else if (!span_ieq(tr, "udp")) {
        w = "candidate transport is neither udp nor tcp";
        goto bad;
    }
    if (!span_u64(prio, UINT32_MAX, &u)) {
        w = "bad candidate priority";
        goto bad;
    }
    c->priority = (uint32_t)u;
    if (!copy_tok(c->addr, sizeof c->addr, addr)) {
        w = "bad candidate address";
        goto bad;
    }
    if (!span_u64(port, 65535, &u)) {
        w = "bad candidate port";
        goto bad;
    }
    c->port = (uint16_t)u;
    if (!next_tok(&rest, &typ) || !span_eq(typ, "typ") || !next_tok(&rest, &type)) {
        w = "candidate without typ";
        goto bad;
    }
    if (span_eq(type, "host")) {
        c->type = SDP_CAND_HOST;
    } else if (span_eq(type, "srflx")) {
        c->type = SDP_CAND_SRFLX;
    } else if (span_eq(type, "prflx")) {
        c->type = SDP_CAND_PRFLX;
    } else if (span_eq(type, "relay")) {
        c->type = SDP_CAND_RELAY;
    } else {
        w = "unknown candidate type";
        goto bad;
    }
    while (next_tok(&rest, &key) && next_tok(&rest, &val)) {
        if (span_eq(key, "raddr")) {
            if (!copy_tok(c->raddr, sizeof c->raddr, val)) {
                w = "bad candidate raddr";
                goto bad;
            }
        } else if (span_eq(key, "rport")) {
            if (!span_u64(val, 65535, &u)) {
                w = "bad candidate rport";
                goto bad;
            }
            c->rport = (uint16_t)u;
        } else if (span_eq(key, "tcptype")) {
            if (!copy_tok(c->tcptype, sizeof c->tcptype, val)) {
                w = "bad candidate tcptype";
                goto bad;
            }
        }
    }
    size_t an = strlen(c->addr);
    c->mdns = an > 6 && span_ieq((span_t){ c->addr + an - 6, 6 }, ".local");
    return 0;
bad:
    if (why) {
        *why = w;
    }
    return PROTO_EINVAL;
}
