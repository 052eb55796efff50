/* tests/unit/test_sdp.c: proto/sdp against real Chromium 156 / Firefox SDP (fixtures/),
 * malformed input, answer and subscriber-offer building (build -> parse round trips). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/err.h"
#include "proto/sdp.h"
#include "t.h"

/* Reads tests/unit/fixtures/<name> (tests run from the repository root). */
static char *load(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "tests/unit/fixtures/%s", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "  cannot open %s (run from the repository root)\n", path);
        return NULL;
    }
    char *buf = malloc(SDP_MAX_LEN + 1);
    *len = fread(buf, 1, SDP_MAX_LEN, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static sdp_t *parse_fixture(const char *name)
{
    size_t len;
    char *text = load(name, &len);
    if (!text) {
        return NULL;
    }
    sdp_t *s = NULL;
    const char *why = NULL;
    int r = sdp_parse(&s, text, len, &why);
    if (r != 0) {
        fprintf(stderr, "  %s: %s\n", name, why);
    }
    free(text);
    return s;
}

static const char *const sfu_cands[] = {
    "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
};

static sdp_local_t sfu_local(void)
{
    sdp_local_t l = {
        .ice_ufrag = "sfuU",
        .ice_pwd = "sfupassword0123456789abcd",
        .fp_alg = "sha-256",
        .fp_value = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:"
                    "33:44:55:66:77:88:99",
        .setup = SDP_SETUP_PASSIVE,
        .sess_id = 42,
        .sess_version = 2,
        .cands = sfu_cands,
        .n_cands = 1,
        .end_of_candidates = true,
    };
    return l;
}

TEST(parse_chrome_publisher_sendonly)
{
    sdp_t *s = parse_fixture("chrome_pub_sendonly.sdp");
    ASSERT(s);
    ASSERT_STR_EQ(s->origin_user, "-");
    ASSERT_UEQ(s->sess_id, 4854649071121860455ull);
    ASSERT_EQ(s->sess_version, 2);
    ASSERT(s->extmap_allow_mixed);
    ASSERT(!s->ice_lite);
    ASSERT_EQ(s->n_bundle, 2);
    ASSERT_STR_EQ(s->bundle[0], "0");
    ASSERT_STR_EQ(s->bundle[1], "1");
    ASSERT_EQ(s->n_media, 2);

    const sdp_media_t *a = &s->media[0];
    ASSERT_EQ(a->kind, SDP_KIND_AUDIO);
    ASSERT_STR_EQ(a->media, "audio");
    ASSERT_EQ(a->port, 48779);
    ASSERT_STR_EQ(a->proto, "UDP/TLS/RTP/SAVPF");
    ASSERT(a->rtp);
    ASSERT_STR_EQ(a->mid, "0");
    ASSERT_EQ(a->dir, SDP_DIR_SENDONLY);
    ASSERT_STR_EQ(a->ice_ufrag, "smQQ");
    ASSERT_STR_EQ(a->ice_pwd, "BiDVKIIJGoBIOwtHLNUuqxTH");
    ASSERT_STR_EQ(a->ice_options, "trickle");
    ASSERT_STR_EQ(a->fp_alg, "sha-256");
    ASSERT_EQ(strlen(a->fp_value), 95);
    ASSERT_EQ(a->setup, SDP_SETUP_ACTPASS);
    ASSERT(a->rtcp_mux && a->rtcp_rsize);
    ASSERT_EQ(a->n_codecs, 8);
    ASSERT_EQ(a->codecs[0].pt, 111);
    ASSERT_STR_EQ(a->codecs[0].name, "opus");
    ASSERT_EQ(a->codecs[0].clock, 48000);
    ASSERT_EQ(a->codecs[0].channels, 2);
    ASSERT_STR_EQ(a->codecs[0].fmtp, "minptime=10;useinbandfec=1");
    ASSERT_EQ(a->codecs[0].fb, SDP_FB_TWCC);
    ASSERT_EQ(a->codecs[1].pt, 63);
    ASSERT_STR_EQ(a->codecs[1].name, "red");
    ASSERT_EQ(a->codecs[1].apt, -1);
    ASSERT_EQ(a->codecs[2].channels, 1); /* G722/8000: audio default */
    ASSERT_EQ(a->n_extmaps, 4);
    ASSERT_EQ(sdp_media_extmap_id(a, "urn:ietf:params:rtp-hdrext:sdes:mid"), 4);
    ASSERT_EQ(sdp_media_extmap_id(a, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"), 1);
    ASSERT_EQ(a->n_ssrcs, 1);
    ASSERT_UEQ(a->ssrcs[0].ssrc, 347628934u);
    ASSERT_STR_EQ(a->ssrcs[0].cname, "M3C70jDuhGCRhPqt");
    ASSERT_STR_EQ(a->ssrcs[0].msid_stream, "fd899c92-cf51-4a35-add0-5407ef2f1434");
    ASSERT_STR_EQ(a->msid_track, "01d0dbc9-22a2-43be-b462-45b31f5c3916");
    ASSERT_EQ(a->n_cands, 2);
    ASSERT(!a->cands[0].tcp);
    ASSERT_STR_EQ(a->cands[0].addr, "127.0.0.1");
    ASSERT_EQ(a->cands[0].port, 48779);
    ASSERT(a->cands[1].tcp);
    ASSERT_STR_EQ(a->cands[1].tcptype, "active");

    const sdp_media_t *v = &s->media[1];
    ASSERT_EQ(v->kind, SDP_KIND_VIDEO);
    ASSERT_EQ(v->n_codecs, 23);
    ASSERT_STR_EQ(v->codecs[0].name, "VP8");
    ASSERT_EQ(v->codecs[0].fb, SDP_FB_SFU | SDP_FB_TWCC);
    ASSERT_EQ(v->codecs[0].n_fb, 5);
    ASSERT_STR_EQ(v->codecs[0].fb_list[4], "nack pli");
    ASSERT_EQ(sdp_media_rtx_pt(v, 96), 97);
    ASSERT_EQ(sdp_media_rtx_pt(v, 102), 103);
    ASSERT_EQ(sdp_media_rtx_pt(v, 120), -1);
    ASSERT_EQ(sdp_media_codec(v, 45)->clock, 90000);
    ASSERT_STR_EQ(sdp_media_codec(v, 45)->name, "AV1");
    ASSERT(sdp_media_codec(v, 12) == NULL);
    ASSERT_EQ(v->n_extmaps, 11);
    ASSERT_EQ(v->n_groups, 1);
    ASSERT_STR_EQ(v->groups[0].semantics, "FID");
    uint32_t rtx = 0;
    ASSERT_UEQ(sdp_media_primary_ssrc(v, &rtx), 2374529370u);
    ASSERT_UEQ(rtx, 2563074572u);
    ASSERT(sdp_find_mid(s, "1") == v);
    ASSERT(sdp_find_mid(s, "2") == NULL);
    sdp_free(s);
}

TEST(parse_firefox_session_level_attributes)
{
    sdp_t *s = parse_fixture("firefox_pub_sendonly.sdp");
    ASSERT(s);
    ASSERT_EQ(s->n_media, 2);
    const sdp_media_t *v = &s->media[1];
    /* a=fingerprint and a=ice-options at session level apply to every section */
    ASSERT_STR_EQ(v->fp_alg, "sha-256"); /* written SHA-256: lowercased */
    ASSERT_STR_EQ(v->ice_options, "trickle");
    ASSERT_STR_EQ(v->ice_ufrag, "5c1e9a7f");
    ASSERT_EQ(v->dir, SDP_DIR_SENDONLY);
    /* fmtp lines come before rtpmap in Firefox's SDP */
    ASSERT_EQ(sdp_media_rtx_pt(v, 126), 127);
    ASSERT_EQ(sdp_media_rtx_pt(v, 120), 124);
    ASSERT_EQ(s->media[0].extmaps[1].dir, SDP_DIR_RECVONLY);
    ASSERT_EQ(s->media[0].codecs[0].channels, 2);
    uint32_t rtx;
    ASSERT_UEQ(sdp_media_primary_ssrc(v, &rtx), 1908046209u);
    ASSERT_UEQ(rtx, 3170434523u);
    sdp_free(s);
}

TEST(parse_lf_line_ends_and_no_final_newline)
{
    size_t len;
    char *text = load("chrome_pub_sendonly.sdp", &len);
    ASSERT(text);
    char *lf = malloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\r') {
            lf[n++] = text[i];
        }
    }
    n--; /* drop the final newline */
    sdp_t *s = NULL;
    int r = sdp_parse(&s, lf, n, NULL);
    free(text);
    free(lf);
    ASSERT_EQ(r, 0);
    ASSERT_EQ(s->n_media, 2);
    ASSERT_STR_EQ(s->media[1].ssrcs[1].msid_track, "9c522c2f-6901-4bc8-a42a-862534a7c730");
    sdp_free(s);
}
