/* proto/sdp.c: SDP parser (RFC 8866 line syntax, the JSEP attributes of RFC 8829) into the
 * bounded sdp_t of sdp.h, lookups on the result, and the ICE candidate classifier. The
 * builders live in sdp_build.c. One allocation per parse: the sdp_t and its string arena. */
#include "sdp.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sdp_int.h"

/* The allocation behind an sdp_t: the public struct first, so sdp_free can find the rest. */
struct sdp_full {
    sdp_t s;
    size_t arena_len, arena_cap;
    char arena[];
};

/* Wildcard "a=rtcp-fb:* ..." values of one m= section, applied to each codec at its end. */
typedef struct star_fb {
    uint32_t mask;
    uint8_t n;
    const char *list[SDP_MAX_FB];
} star_fb_t;

typedef struct parser {
    struct sdp_full *f;
    const char *why;
    int err;
    /* session-level transport attributes (NULL: absent), the fallback of each m= section */
    const char *ufrag, *pwd, *ice_opts, *fp_alg, *fp_val;
    sdp_setup_t setup;
    sdp_media_t *m; /* the current m= section, NULL at session level */
    star_fb_t star;
    bool bundle_seen;
} parser_t;

static const char empty[] = "";

static int fail(parser_t *ps, int err, const char *why)
{
    if (!ps->err) {
        ps->err = err;
        ps->why = why;
    }
    return err;
}

/* Copies t into the arena, NUL-terminated. Each line copies disjoint parts of itself at most
 * once, so an arena of 2 * len + 1 bytes cannot run out; the check is a guard. */
static const char *dup(parser_t *ps, span_t t, bool lowercase)
{
    if (t.n == 0) {
        return empty;
    }
    struct sdp_full *f = ps->f;
    if (f->arena_cap - f->arena_len < t.n + 1) {
        fail(ps, PROTO_ENOMEM, "sdp arena exhausted");
        return NULL;
    }
    char *d = f->arena + f->arena_len;
    for (size_t i = 0; i < t.n; i++) {
        d[i] = lowercase ? lower(t.p[i]) : t.p[i];
    }
    d[t.n] = '\0';
    f->arena_len += t.n + 1;
    return d;
}

static sdp_codec_t *find_codec(sdp_media_t *m, uint64_t pt)
{
    for (unsigned i = 0; i < m->n_codecs; i++) {
        if (m->codecs[i].pt == pt) {
            return &m->codecs[i];
        }
    }
    return NULL;
}

/* The rtcp-fb value's SDP_FB_* bit ("nack", "nack pli", "ccm fir", "goog-remb",
 * "transport-cc"), 0 for others. */
static uint32_t fb_bit(span_t v)
{
    span_t a, b = { 0 }, rest = v;
    if (!next_tok(&rest, &a)) {
        return 0;
    }
    bool has_b = next_tok(&rest, &b);
    if (next_tok(&rest, &(span_t){ 0 })) {
        return 0;
    }
    if (span_ieq(a, "nack")) {
        return !has_b ? SDP_FB_NACK : span_ieq(b, "pli") ? SDP_FB_NACK_PLI : 0;
    }
    if (span_ieq(a, "ccm") && has_b && span_ieq(b, "fir")) {
        return SDP_FB_CCM_FIR;
    }
    if (!has_b && span_ieq(a, "goog-remb")) {
        return SDP_FB_REMB;
    }
    if (!has_b && span_ieq(a, "transport-cc")) {
        return SDP_FB_TWCC;
    }
    return 0;
}

static void codec_add_fb(sdp_codec_t *c, uint32_t bit, const char *val)
{
    c->fb |= bit;
    for (unsigned i = 0; i < c->n_fb; i++) {
        if (strcmp(c->fb_list[i], val) == 0) {
            return;
        }
    }
    if (c->n_fb < SDP_MAX_FB) {
        c->fb_list[c->n_fb++] = val;
    }
}

static int on_media_line(parser_t *ps, span_t v);
static int on_attr(parser_t *ps, span_t name, span_t val, span_t line);

/* Ends the current m= section: applies wildcard rtcp-fb and resolves rtx "apt=". */
static void end_media(parser_t *ps)
{
    sdp_media_t *m = ps->m;
    if (!m) {
        return;
    }
    for (unsigned i = 0; i < m->n_codecs; i++) {
        sdp_codec_t *c = &m->codecs[i];
        for (unsigned j = 0; j < ps->star.n; j++) {
            codec_add_fb(c, fb_bit((span_t){ ps->star.list[j], strlen(ps->star.list[j]) }),
                         ps->star.list[j]);
        }
        c->fb |= ps->star.mask;
        const char *v;
        size_t vn;
        uint64_t apt;
        if (sdp_fmtp_get(c->fmtp, "apt", &v, &vn) && span_u64((span_t){ v, vn }, 127, &apt)) {
            c->apt = (int)apt;
        }
    }
    memset(&ps->star, 0, sizeof ps->star);
    ps->m = NULL;
}

/* m=<media> <port>[/<count>] <proto> <fmt> ... (RFC 8866 5.14) */
static int on_media_line(parser_t *ps, span_t v)
{
    sdp_t *s = &ps->f->s;
    end_media(ps);
    if (s->n_media >= SDP_MAX_MEDIA) {
        return fail(ps, PROTO_ETOOBIG, "too many m= sections");
    }
    sdp_media_t *m = &s->media[s->n_media++];
    ps->m = m;
    span_t media, port, proto, rest = v;
    if (!next_tok(&rest, &media) || !next_tok(&rest, &port) || !next_tok(&rest, &proto)) {
        return fail(ps, PROTO_EINVAL, "m= line needs media, port, proto and formats");
    }
    const char *slash = memchr(port.p, '/', port.n);
    if (slash) {
        port.n = (size_t)(slash - port.p);
    }
    uint64_t u;
    if (!span_u64(port, 65535, &u)) {
        return fail(ps, PROTO_EINVAL, "bad m= port");
    }
    m->port = (uint16_t)u;
    m->kind = span_eq(media, "audio")         ? SDP_KIND_AUDIO
              : span_eq(media, "video")       ? SDP_KIND_VIDEO
              : span_eq(media, "application") ? SDP_KIND_APPLICATION
                                              : SDP_KIND_OTHER;
    rest = trim(rest);
    if (!(m->media = dup(ps, media, false)) || !(m->proto = dup(ps, proto, false)) ||
        !(m->fmts = dup(ps, rest, false))) {
        return ps->err;
    }
    m->rtp = strstr(m->proto, "RTP/") != NULL;
    m->mid = m->msid_stream = m->msid_track = empty;
    m->ice_ufrag = m->ice_pwd = m->ice_options = m->fp_alg = m->fp_value = NULL;
    if (!rest.n) {
        return fail(ps, PROTO_EINVAL, "m= line has no formats");
    }
    if (!m->rtp) {
        return 0;
    }
    span_t fmt;
    while (next_tok(&rest, &fmt)) {
        if (!span_u64(fmt, 127, &u)) {
            return fail(ps, PROTO_EINVAL, "bad payload type on m= line");
        }
        if (find_codec(m, u)) {
            return fail(ps, PROTO_EINVAL, "payload type repeated on m= line");
        }
        if (m->n_codecs >= SDP_MAX_CODECS) {
            return fail(ps, PROTO_ETOOBIG, "too many payload types on m= line");
        }
        sdp_codec_t *c = &m->codecs[m->n_codecs++];
        c->pt = (uint8_t)u;
        c->name = c->fmtp = empty;
        c->apt = -1;
        c->channels = m->kind == SDP_KIND_AUDIO ? 1 : 0;
    }
    return 0;
}

/* a=rtpmap:<pt> <name>/<clock>[/<channels>] */
static int on_rtpmap(parser_t *ps, span_t val)
{
    span_t pt, enc, rest = val;
    uint64_t u, clock, ch = 0;
    if (!next_tok(&rest, &pt) || !next_tok(&rest, &enc) || !span_u64(pt, 127, &u)) {
        return fail(ps, PROTO_EINVAL, "bad a=rtpmap");
    }
    const char *s1 = memchr(enc.p, '/', enc.n);
    if (!s1 || s1 == enc.p) {
        return fail(ps, PROTO_EINVAL, "a=rtpmap needs <name>/<clock rate>");
    }
    span_t name = { enc.p, (size_t)(s1 - enc.p) };
    span_t cr = { s1 + 1, enc.n - name.n - 1 };
    const char *s2 = memchr(cr.p, '/', cr.n);
    if (s2) {
        span_t chs = { s2 + 1, (size_t)(cr.p + cr.n - s2 - 1) };
        cr.n = (size_t)(s2 - cr.p);
        if (!span_u64(chs, 255, &ch) || ch == 0) {
            return fail(ps, PROTO_EINVAL, "bad a=rtpmap channel count");
        }
    }
    if (!span_u64(cr, UINT32_MAX, &clock) || clock == 0) {
        return fail(ps, PROTO_EINVAL, "bad a=rtpmap clock rate");
    }
    sdp_codec_t *c = find_codec(ps->m, u);
    if (!c) {
        return 0;
    }
    if (!(c->name = dup(ps, name, false))) {
        return ps->err;
    }
    c->clock = (uint32_t)clock;
    if (ch) {
        c->channels = (uint8_t)ch;
    }
    return 0;
}

/* a=fmtp:<pt> <params> and a=rtcp-fb:<pt|*> <value> */
static int on_fmtp_fb(parser_t *ps, span_t val, bool fmtp)
{
    span_t pt, rest = val;
    uint64_t u;
    if (!next_tok(&rest, &pt)) {
        return fail(ps, PROTO_EINVAL, fmtp ? "bad a=fmtp" : "bad a=rtcp-fb");
    }
    rest = trim(rest);
    if (!fmtp && span_eq(pt, "*")) {
        const char *v = dup(ps, rest, false);
        if (!v) {
            return ps->err;
        }
        if (ps->star.n < SDP_MAX_FB && rest.n) {
            ps->star.list[ps->star.n++] = v;
        }
        ps->star.mask |= fb_bit(rest);
        return 0;
    }
    if (!span_u64(pt, 127, &u)) {
        return fail(ps, PROTO_EINVAL,
                    fmtp ? "bad a=fmtp payload type" : "bad a=rtcp-fb payload type");
    }
    sdp_codec_t *c = find_codec(ps->m, u);
    if (!c) {
        return 0;
    }
    const char *v = dup(ps, rest, false);
    if (!v) {
        return ps->err;
    }
    if (fmtp) {
        c->fmtp = v;
    } else if (rest.n) {
        codec_add_fb(c, fb_bit(rest), v);
    }
    return 0;
}

/* a=extmap:<id>[/<direction>] <uri> [<attributes>] (RFC 8285 8) */
static int on_extmap(parser_t *ps, span_t val)
{
    sdp_media_t *m = ps->m;
    span_t idt, uri, rest = val;
    uint64_t id;
    if (!next_tok(&rest, &idt) || !next_tok(&rest, &uri)) {
        return fail(ps, PROTO_EINVAL, "bad a=extmap");
    }
    sdp_dir_t dir = SDP_DIR_SENDRECV;
    const char *slash = memchr(idt.p, '/', idt.n);
    if (slash) {
        span_t d = { slash + 1, (size_t)(idt.p + idt.n - slash - 1) };
        idt.n = (size_t)(slash - idt.p);
        if (span_eq(d, "sendonly")) {
            dir = SDP_DIR_SENDONLY;
        } else if (span_eq(d, "recvonly")) {
            dir = SDP_DIR_RECVONLY;
        } else if (span_eq(d, "inactive")) {
            dir = SDP_DIR_INACTIVE;
        } else if (!span_eq(d, "sendrecv")) {
            return fail(ps, PROTO_EINVAL, "bad a=extmap direction");
        }
    }
    if (!span_u64(idt, 255, &id) || id == 0) {
        return fail(ps, PROTO_EINVAL, "bad a=extmap id (1..255)");
    }
    for (unsigned i = 0; i < m->n_extmaps; i++) {
        if (m->extmaps[i].id == id) {
            return fail(ps, PROTO_EINVAL, "a=extmap id repeated");
        }
    }
    if (m->n_extmaps >= SDP_MAX_EXTMAPS) {
        return fail(ps, PROTO_ETOOBIG, "too many a=extmap lines");
    }
    sdp_extmap_t *e = &m->extmaps[m->n_extmaps];
    if (!(e->uri = dup(ps, uri, false))) {
        return ps->err;
    }
    e->id = (uint16_t)id;
    e->dir = dir;
    m->n_extmaps++;
    return 0;
}

/* "<stream> [<track>]" of a=msid and a=ssrc:N msid: */
static int msid_split(parser_t *ps, span_t v, const char **stream, const char **track)
{
    span_t a = { 0 }, b = { 0 }, rest = v;
    if (!next_tok(&rest, &a)) {
        return fail(ps, PROTO_EINVAL, "empty msid");
    }
    next_tok(&rest, &b);
    if (!(*stream = dup(ps, a, false)) || !(*track = dup(ps, b, false))) {
        return ps->err;
    }
    return 0;
}

/* a=ssrc:<ssrc> <attribute>[:<value>] (RFC 5576 4.1) */
static int on_ssrc(parser_t *ps, span_t val)
{
    sdp_media_t *m = ps->m;
    span_t id, rest = val;
    uint64_t u;
    if (!next_tok(&rest, &id) || !span_u64(id, UINT32_MAX, &u)) {
        return fail(ps, PROTO_EINVAL, "bad a=ssrc");
    }
    sdp_ssrc_t *e = NULL;
    for (unsigned i = 0; i < m->n_ssrcs && !e; i++) {
        e = m->ssrcs[i].ssrc == u ? &m->ssrcs[i] : NULL;
    }
    if (!e) {
        if (m->n_ssrcs >= SDP_MAX_SSRCS) {
            return fail(ps, PROTO_ETOOBIG, "too many a=ssrc values");
        }
        e = &m->ssrcs[m->n_ssrcs++];
        e->ssrc = (uint32_t)u;
        e->cname = e->msid_stream = e->msid_track = empty;
    }
    rest = trim(rest);
    const char *colon = memchr(rest.p, ':', rest.n);
    if (!colon) {
        return 0;
    }
    span_t attr = { rest.p, (size_t)(colon - rest.p) };
    span_t v = trim((span_t){ colon + 1, rest.n - attr.n - 1 });
    if (span_eq(attr, "cname")) {
        return (e->cname = dup(ps, v, false)) ? 0 : ps->err;
    }
    if (span_eq(attr, "msid")) {
        return msid_split(ps, v, &e->msid_stream, &e->msid_track);
    }
    return 0;
}

/* a=ssrc-group:<semantics> <ssrc> ... (RFC 5576 4.2) */
static int on_ssrc_group(parser_t *ps, span_t val)
{
    sdp_media_t *m = ps->m;
    span_t sem, id, rest = val;
    if (!next_tok(&rest, &sem)) {
        return fail(ps, PROTO_EINVAL, "bad a=ssrc-group");
    }
    if (m->n_groups >= SDP_MAX_GROUPS) {
        return fail(ps, PROTO_ETOOBIG, "too many a=ssrc-group lines");
    }
    sdp_ssrc_group_t *g = &m->groups[m->n_groups];
    g->n = 0;
    while (next_tok(&rest, &id)) {
        uint64_t u;
        if (!span_u64(id, UINT32_MAX, &u)) {
            return fail(ps, PROTO_EINVAL, "bad ssrc in a=ssrc-group");
        }
        if (g->n >= SDP_MAX_GROUP_SSRCS) {
            return fail(ps, PROTO_ETOOBIG, "too many ssrcs in a=ssrc-group");
        }
        g->ssrcs[g->n++] = (uint32_t)u;
    }
    if (!g->n) {
        return fail(ps, PROTO_EINVAL, "a=ssrc-group without ssrcs");
    }
    if (!(g->semantics = dup(ps, sem, false))) {
        return ps->err;
    }
    m->n_groups++;
    return 0;
}

static int on_group(parser_t *ps, span_t val)
{
    sdp_t *s = &ps->f->s;
    span_t sem, mid, rest = val;
    if (!next_tok(&rest, &sem)) {
        return fail(ps, PROTO_EINVAL, "bad a=group");
    }
    if (!span_eq(sem, "BUNDLE") || ps->bundle_seen) {
        return 0; /* other semantics (LS) and further BUNDLE groups: not used */
    }
    ps->bundle_seen = true;
    while (next_tok(&rest, &mid)) {
        if (s->n_bundle >= SDP_MAX_BUNDLE) {
            return fail(ps, PROTO_ETOOBIG, "too many mids in a=group:BUNDLE");
        }
        if (!(s->bundle[s->n_bundle++] = dup(ps, mid, false))) {
            return ps->err;
        }
    }
    return 0;
}

static int on_setup(parser_t *ps, span_t v, sdp_setup_t *out)
{
    v = trim(v);
    if (span_eq(v, "actpass")) {
        *out = SDP_SETUP_ACTPASS;
    } else if (span_eq(v, "active")) {
        *out = SDP_SETUP_ACTIVE;
    } else if (span_eq(v, "passive")) {
        *out = SDP_SETUP_PASSIVE;
    } else if (span_eq(v, "holdconn")) {
        *out = SDP_SETUP_HOLDCONN;
    } else {
        return fail(ps, PROTO_EINVAL, "bad a=setup");
    }
    return 0;
}

/* Transport attributes, valid at session and media level. Returns 1 when name is not one. */
static int on_transport_attr(parser_t *ps, span_t name, span_t val)
{
    sdp_media_t *m = ps->m;
    const char **slot = NULL;
    val = trim(val);
    if (span_eq(name, "ice-ufrag")) {
        slot = m ? &m->ice_ufrag : &ps->ufrag;
    } else if (span_eq(name, "ice-pwd")) {
        slot = m ? &m->ice_pwd : &ps->pwd;
    } else if (span_eq(name, "ice-options")) {
        slot = m ? &m->ice_options : &ps->ice_opts;
    } else if (span_eq(name, "setup")) {
        return on_setup(ps, val, m ? &m->setup : &ps->setup);
    } else if (span_eq(name, "fingerprint")) {
        span_t alg, fp, rest = val;
        if (!next_tok(&rest, &alg) || !next_tok(&rest, &fp)) {
            return fail(ps, PROTO_EINVAL, "a=fingerprint needs <hash> <value>");
        }
        const char *a = dup(ps, alg, true), *f = a ? dup(ps, fp, false) : NULL;
        if (!f) {
            return ps->err;
        }
        *(m ? &m->fp_alg : &ps->fp_alg) = a;
        *(m ? &m->fp_value : &ps->fp_val) = f;
        return 0;
    } else {
        return 1;
    }
    if (!val.n) {
        return fail(ps, PROTO_EINVAL, "empty ICE attribute");
    }
    return (*slot = dup(ps, val, false)) ? 0 : ps->err;
}

static int on_media_attr(parser_t *ps, span_t name, span_t val, span_t line)
{
    sdp_media_t *m = ps->m;
    if (span_eq(name, "mid")) {
        val = trim(val);
        if (!val.n) {
            return fail(ps, PROTO_EINVAL, "empty a=mid");
        }
        return (m->mid = dup(ps, val, false)) ? 0 : ps->err;
    }
    if (span_eq(name, "sendrecv") || span_eq(name, "sendonly") || span_eq(name, "recvonly") ||
        span_eq(name, "inactive")) {
        m->dir = span_eq(name, "sendrecv")   ? SDP_DIR_SENDRECV
                 : span_eq(name, "sendonly") ? SDP_DIR_SENDONLY
                 : span_eq(name, "recvonly") ? SDP_DIR_RECVONLY
                                             : SDP_DIR_INACTIVE;
        return 0;
    }
    if (span_eq(name, "rtcp-mux")) {
        m->rtcp_mux = true;
    } else if (span_eq(name, "rtcp-rsize")) {
        m->rtcp_rsize = true;
    } else if (span_eq(name, "bundle-only")) {
        m->bundle_only = true;
    } else if (span_eq(name, "end-of-candidates")) {
        m->end_of_candidates = true;
    } else if (span_eq(name, "msid")) {
        return msid_split(ps, val, &m->msid_stream, &m->msid_track);
    } else if (!m->rtp) {
        /* the RTP attributes below mean nothing in a data channel section */
    } else if (span_eq(name, "rtpmap")) {
        return on_rtpmap(ps, val);
    } else if (span_eq(name, "fmtp")) {
        return on_fmtp_fb(ps, val, true);
    } else if (span_eq(name, "rtcp-fb")) {
        return on_fmtp_fb(ps, val, false);
    } else if (span_eq(name, "extmap")) {
        return on_extmap(ps, val);
    } else if (span_eq(name, "ssrc")) {
        return on_ssrc(ps, val);
    } else if (span_eq(name, "ssrc-group")) {
        return on_ssrc_group(ps, val);
    }
    if (span_eq(name, "candidate") && m->n_cands < SDP_MAX_CANDS &&
        sdp_cand_parse(&m->cands[m->n_cands], line.p, line.n, NULL) == 0) {
        m->n_cands++;
    }
    return 0;
}

static int on_attr(parser_t *ps, span_t name, span_t val, span_t line)
{
    int r = on_transport_attr(ps, name, val);
    if (r <= 0) {
        return r;
    }
    if (span_eq(name, "extmap-allow-mixed")) {
        ps->f->s.extmap_allow_mixed = true;
        return 0;
    }
    if (!ps->m) {
        if (span_eq(name, "group")) {
            return on_group(ps, val);
        }
        if (span_eq(name, "ice-lite")) {
            ps->f->s.ice_lite = true;
        }
        return 0;
    }
    return on_media_attr(ps, name, val, line);
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
static int on_origin(parser_t *ps, span_t v)
{
    sdp_t *s = &ps->f->s;
    span_t user, id, ver, rest = v;
    if (!next_tok(&rest, &user) || !next_tok(&rest, &id) || !next_tok(&rest, &ver) ||
        !span_u64(id, UINT64_MAX, &s->sess_id) || !span_u64(ver, UINT64_MAX, &s->sess_version)) {
        return fail(ps, PROTO_EINVAL, "bad o= line");
    }
    return (s->origin_user = dup(ps, user, false)) ? 0 : ps->err;
}

static int on_line(parser_t *ps, char type, span_t v)
{
    switch (type) {
    case 'o':
        if (ps->f->s.origin_user) {
            return fail(ps, PROTO_EINVAL, "second o= line");
        }
        return ps->m ? fail(ps, PROTO_EINVAL, "o= inside a media section") : on_origin(ps, v);
    case 'm':
        if (!ps->f->s.origin_user) {
            return fail(ps, PROTO_EINVAL, "m= before o=");
        }
        return on_media_line(ps, v);
    case 'a': {
        const char *colon = memchr(v.p, ':', v.n);
        span_t name = { v.p, colon ? (size_t)(colon - v.p) : v.n };
        span_t val = colon ? (span_t){ colon + 1, v.n - name.n - 1 } : (span_t){ v.p + v.n, 0 };
        if (!name.n) {
            return fail(ps, PROTO_EINVAL, "a= line without attribute name");
        }
        return on_attr(ps, name, val, (span_t){ v.p, v.n });
    }
    default:
        return 0; /* s= t= c= b= i= u= e= p= z= k= r=: nothing the SFU needs */
    }
}

/* Resolves per-section transport attributes and checks cross-section rules. */
static int finish(parser_t *ps)
{
    sdp_t *s = &ps->f->s;
    end_media(ps);
    if (!s->origin_user) {
        return fail(ps, PROTO_EINVAL, "no o= line");
    }
    for (unsigned i = 0; i < s->n_media; i++) {
        sdp_media_t *m = &s->media[i];
        m->ice_ufrag = m->ice_ufrag ? m->ice_ufrag : ps->ufrag ? ps->ufrag : empty;
        m->ice_pwd = m->ice_pwd ? m->ice_pwd : ps->pwd ? ps->pwd : empty;
        m->ice_options = m->ice_options ? m->ice_options : ps->ice_opts ? ps->ice_opts : empty;
        if (!m->fp_alg) {
            m->fp_alg = ps->fp_alg ? ps->fp_alg : empty;
            m->fp_value = ps->fp_val ? ps->fp_val : empty;
        }
        if (m->setup == SDP_SETUP_NONE) {
            m->setup = ps->setup;
        }
        for (unsigned j = 0; j < i && m->mid[0]; j++) {
            if (strcmp(s->media[j].mid, m->mid) == 0) {
                return fail(ps, PROTO_EINVAL, "duplicate a=mid");
            }
        }
    }
    for (unsigned i = 0; i < s->n_bundle; i++) {
        if (!sdp_find_mid(s, s->bundle[i])) {
            return fail(ps, PROTO_EINVAL, "a=group:BUNDLE names a mid with no m= section");
        }
    }
    return 0;
}

int sdp_parse(sdp_t **out, const char *text, size_t len, const char **why)
{
    *out = NULL;
    parser_t ps = { 0 };
    size_t cap = 2 * len + 1;
    if (len > SDP_MAX_LEN) {
        fail(&ps, PROTO_ETOOBIG, "SDP over 64 KiB");
    } else if (len && memchr(text, '\0', len)) {
        fail(&ps, PROTO_EINVAL, "NUL byte in SDP");
    } else if (!(ps.f = calloc(1, sizeof *ps.f + cap))) {
        fail(&ps, PROTO_ENOMEM, "out of memory");
    } else {
        ps.f->arena_cap = cap;
    }
    const char *p = text, *end = text + (ps.err ? 0 : len);
    bool first = true;
    while (p < end && !ps.err) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *next = nl ? nl + 1 : end;
        if (le > p && le[-1] == '\r') {
            le--;
        }
        span_t line = { p, (size_t)(le - p) };
        p = next;
        if (!line.n) {
            continue;
        }
        if (memchr(line.p, '\r', line.n)) {
            /* RFC 8866 9: values exclude CR and LF; a bare CR could end a line downstream */
            fail(&ps, PROTO_EINVAL, "CR inside an SDP line");
            break;
        }
        if (line.n < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z') {
            fail(&ps, PROTO_EINVAL, "line is not <letter>=<value>");
            break;
        }
        span_t v = { line.p + 2, line.n - 2 };
        if (first && (line.p[0] != 'v' || !span_eq(trim(v), "0"))) {
            fail(&ps, PROTO_EINVAL, "SDP must start with v=0");
            break;
        }
        first = false;
        on_line(&ps, line.p[0], v);
    }
    if (!ps.err && first && ps.f) {
        fail(&ps, PROTO_EINVAL, "empty SDP");
    }
    if (!ps.err) {
        finish(&ps);
    }
    if (ps.err) {
        free(ps.f);
        if (why) {
            *why = ps.why;
        }
        return ps.err;
    }
    *out = &ps.f->s;
    return 0;
}

void sdp_free(sdp_t *s)
{
    free(s); /* s is the first member of its struct sdp_full */
}
