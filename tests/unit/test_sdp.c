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

/* Builds the SFU's answer to a fixture; returns its parse (caller frees) or NULL. */
static sdp_t *answer_for(const char *fixture, const sdp_answer_opts_t *o, sdp_neg_t *neg, char *out,
                         size_t cap, ssize_t *len)
{
    sdp_t *offer = parse_fixture(fixture);
    if (!offer) {
        return NULL;
    }
    sdp_local_t l = sfu_local();
    const char *why = NULL;
    *len = sdp_build_answer(out, cap, offer, &l, o, neg, &why);
    sdp_free(offer);
    if (*len < 0) {
        fprintf(stderr, "  answer: %s\n", why);
        return NULL;
    }
    sdp_t *ans = NULL;
    if (sdp_parse(&ans, out, (size_t)*len, &why) != 0) {
        fprintf(stderr, "  answer does not parse: %s\n", why);
    }
    return ans;
}

static char obuf[SDP_MAX_LEN];

TEST(answer_chrome_publisher_matches_golden)
{
    sdp_answer_opts_t o = { .start_kbps = 1000, .min_kbps = 500 };
    sdp_neg_t neg;
    ssize_t n;
    sdp_t *ans = answer_for("chrome_pub_sendonly.sdp", &o, &neg, obuf, sizeof obuf, &n);
    ASSERT(ans);
    size_t glen;
    char *golden = load("sfu_answer_chrome.sdp", &glen); /* accepted by Chromium 156 */
    ASSERT(golden);
    ASSERT_MEM_EQ(obuf, (size_t)n, golden, glen);
    free(golden);
    ASSERT(strstr(obuf, "transport-cc") == NULL);
    ASSERT(strstr(obuf, "transport-wide-cc") == NULL);
    ASSERT_EQ(ans->n_bundle, 2);
    ASSERT_EQ(ans->media[0].dir, SDP_DIR_RECVONLY);
    ASSERT_EQ(ans->media[0].setup, SDP_SETUP_PASSIVE);
    ASSERT_EQ(ans->media[0].n_cands, 1);
    ASSERT(ans->media[0].end_of_candidates);
    ASSERT_EQ(ans->media[1].n_cands, 0);
    ASSERT_EQ(ans->media[1].n_codecs, 2);
    ASSERT_STR_EQ(ans->media[1].codecs[0].fmtp,
                  "x-google-start-bitrate=1000;x-google-min-bitrate=500");
    sdp_free(ans);

    ASSERT_EQ(neg.setup, SDP_SETUP_PASSIVE);
    ASSERT_EQ(neg.n_media, 2);
    const sdp_neg_media_t *a = &neg.media[0], *v = &neg.media[1];
    ASSERT(a->accepted && v->accepted);
    ASSERT_EQ(a->kind, SDP_KIND_AUDIO);
    ASSERT_STR_EQ(a->mid, "0");
    ASSERT_EQ(a->codec.pt, 111);
    ASSERT_STR_EQ(a->codec.name, "opus");
    ASSERT_EQ(a->codec.channels, 2);
    ASSERT_EQ(a->codec.rtx_pt, -1);
    ASSERT_EQ(a->codec.fb, 0); /* Chromium offers only transport-cc for Opus */
    ASSERT_EQ(a->ext_id[SDP_EXT_MID], 4);
    ASSERT_EQ(a->ext_id[SDP_EXT_ABS_SEND_TIME], 2);
    ASSERT_EQ(a->ext_id[SDP_EXT_AUDIO_LEVEL], 1);
    ASSERT_UEQ(a->ssrc, 347628934u);
    ASSERT_STR_EQ(a->cname, "M3C70jDuhGCRhPqt");
    ASSERT_STR_EQ(v->codec.name, "VP8");
    ASSERT_EQ(v->codec.pt, 96);
    ASSERT_EQ(v->codec.rtx_pt, 97);
    ASSERT_STR_EQ(v->codec.fmtp, ""); /* hints are not part of the negotiated fmtp */
    ASSERT_EQ(v->codec.fb, SDP_FB_SFU);
    ASSERT_EQ(v->ext_id[SDP_EXT_AUDIO_LEVEL], 0);
    ASSERT_UEQ(v->ssrc, 2374529370u);
    ASSERT_UEQ(v->rtx_ssrc, 2563074572u);
    ASSERT_STR_EQ(v->msid_track, "9c522c2f-6901-4bc8-a42a-862534a7c730");
    ASSERT(v->rtcp_rsize);
}

TEST(answer_video_preferences)
{
    static const struct {
        const char *fixture;
        sdp_video_pref_t pref;
        int pt, rtx;
        const char *name;
    } cases[] = {
        { "chrome_pub_sendonly.sdp", SDP_PREFER_OFFER, 96, 97, "VP8" },
        { "chrome_pub_sendonly.sdp", SDP_PREFER_VP8, 96, 97, "VP8" },
        /* 102 is the first packetization-mode=1 Baseline entry (42001f) */
        { "chrome_pub_sendonly.sdp", SDP_PREFER_H264, 102, 103, "H264" },
        { "firefox_pub_sendonly.sdp", SDP_PREFER_OFFER, 120, 124, "VP8" },
        /* Firefox's 97 is packetization-mode 0: not usable; 126 is */
        { "firefox_pub_sendonly.sdp", SDP_PREFER_H264, 126, 127, "H264" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sdp_answer_opts_t o = { .video_pref = cases[i].pref };
        sdp_neg_t neg;
        ssize_t n;
        sdp_t *ans = answer_for(cases[i].fixture, &o, &neg, obuf, sizeof obuf, &n);
        ASSERT(ans);
        sdp_free(ans);
        ASSERT_EQ(neg.media[1].codec.pt, cases[i].pt);
        ASSERT_EQ(neg.media[1].codec.rtx_pt, cases[i].rtx);
        ASSERT_STR_EQ(neg.media[1].codec.name, cases[i].name);
    }
}

TEST(answer_h264_keeps_profile_level_id)
{
    sdp_answer_opts_t o = { .video_pref = SDP_PREFER_H264, .max_kbps = 2500 };
    sdp_neg_t neg;
    ssize_t n;
    sdp_t *ans = answer_for("chrome_pub_sendonly.sdp", &o, &neg, obuf, sizeof obuf, &n);
    ASSERT(ans);
    ASSERT_STR_EQ(sdp_media_codec(&ans->media[1], 102)->fmtp,
                  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f;"
                  "x-google-max-bitrate=2500");
    ASSERT_STR_EQ(neg.media[1].codec.fmtp,
                  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f");
    /* Opus fmtp kept, no bitrate hints on audio */
    ASSERT_STR_EQ(sdp_media_codec(&ans->media[0], 111)->fmtp, "minptime=10;useinbandfec=1");
    sdp_free(ans);
}

TEST(answer_rejects_datachannel_with_port_0)
{
    sdp_neg_t neg;
    ssize_t n;
    sdp_answer_opts_t o = { .start_kbps = 1000, .min_kbps = 500 };
    sdp_t *ans = answer_for("chrome_pub_sendrecv_dc.sdp", &o, &neg, obuf, sizeof obuf, &n);
    ASSERT(ans);
    size_t glen;
    char *golden = load("sfu_answer_chrome_dc.sdp", &glen); /* accepted by Chromium 156 */
    ASSERT(golden);
    int same = (size_t)n == glen && memcmp(obuf, golden, glen) == 0;
    free(golden);
    ASSERT(same);
    ASSERT_EQ(ans->n_media, 3);
    ASSERT_EQ(ans->media[2].port, 0);
    ASSERT_STR_EQ(ans->media[2].mid, "2");
    ASSERT_STR_EQ(ans->media[2].proto, "UDP/DTLS/SCTP");
    ASSERT_EQ(ans->n_bundle, 2);
    ASSERT_EQ(neg.n_media, 3);
    ASSERT(neg.media[0].accepted && neg.media[1].accepted && !neg.media[2].accepted);
    /* sendrecv offers (addTrack) are answered recvonly */
    ASSERT_EQ(ans->media[0].dir, SDP_DIR_RECVONLY);
    sdp_free(ans);
}

TEST(answer_rejections)
{
    sdp_t *offer = parse_fixture("chrome_viewer_recvonly.sdp");
    ASSERT(offer);
    sdp_local_t l = sfu_local();
    const char *why = NULL;
    /* a recvonly offer has nothing the SFU can receive */
    ASSERT_EQ(sdp_build_answer(obuf, sizeof obuf, offer, &l, NULL, NULL, &why), PROTO_EUNSUPP);
    ASSERT(strstr(why, "no usable audio/video codec") != NULL);
    sdp_free(offer);

    /* max_video = 1 with two video sections: the second is rejected */
    static const char two_video[] =
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a b c\r\n"
        "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
        "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:a\r\na=sendonly\r\na=rtcp-mux\r\n"
        "a=rtpmap:96 VP8/90000\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:b\r\na=sendonly\r\na=rtcp-mux\r\n"
        "a=rtpmap:96 VP8/90000\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 98 100\r\na=mid:c\r\na=sendonly\r\na=rtcp-mux\r\n"
        "a=rtpmap:98 VP9/90000\r\na=rtpmap:100 H264/90000\r\n"
        "a=fmtp:100 profile-level-id=42e01f;packetization-mode=0\r\n";
    ASSERT_EQ(sdp_parse(&offer, two_video, sizeof two_video - 1, &why), 0);
    sdp_answer_opts_t o = { .max_video = 1 };
    sdp_neg_t neg;
    ssize_t n = sdp_build_answer(obuf, sizeof obuf, offer, &l, &o, &neg, &why);
    ASSERT(n > 0);
    ASSERT(neg.media[0].accepted);
    ASSERT(!neg.media[1].accepted); /* over max_video */
    ASSERT(!neg.media[2].accepted); /* VP9 and H.264 mode 0 only */
    ASSERT(strstr(obuf, "a=group:BUNDLE a\r\n") != NULL);
    ASSERT(strstr(obuf, "m=video 0 UDP/TLS/RTP/SAVPF 98\r\n") != NULL);
    /* without the limit both VP8 sections are taken */
    n = sdp_build_answer(obuf, sizeof obuf, offer, &l, NULL, &neg, &why);
    ASSERT(neg.media[1].accepted);
    ASSERT(strstr(obuf, "a=group:BUNDLE a b\r\n") != NULL);
    /* the answer's size is exact: cap = len + 1 fits, cap = len does not */
    ASSERT_EQ(sdp_build_answer(obuf, (size_t)n + 1, offer, &l, NULL, NULL, &why), n);
    ASSERT_EQ(sdp_build_answer(obuf, (size_t)n, offer, &l, NULL, NULL, &why), PROTO_ETOOBIG);
    ASSERT_EQ(sdp_build_answer(NULL, 0, offer, &l, NULL, NULL, &why), PROTO_ETOOBIG);
    /* no line injection through the caller's strings */
    l.ice_ufrag = "ab\r\na=evil";
    ASSERT_EQ(sdp_build_answer(obuf, sizeof obuf, offer, &l, NULL, NULL, &why), PROTO_EINVAL);
    l = sfu_local();
    static const char *const evil[] = { "candidate:1 1 udp 1 1.2.3.4 5 typ host\r\na=x" };
    l.cands = evil;
    ASSERT_EQ(sdp_build_answer(obuf, sizeof obuf, offer, &l, NULL, NULL, &why), PROTO_EINVAL);
    sdp_free(offer);
}

TEST(answer_needs_transport_and_bundle)
{
    static const struct {
        const char *sdp, *why;
        int err;
    } cases[] = {
        { "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=group:BUNDLE 0\r\n"
          "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtcp-mux\r\na=setup:actpass\r\n"
          "a=fingerprint:sha-256 AA\r\na=rtpmap:111 opus/48000/2\r\n",
          "offer has no ICE ufrag/pwd", PROTO_EINVAL },
        { "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=group:BUNDLE 0\r\n"
          "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtcp-mux\r\na=ice-ufrag:abcd\r\n"
          "a=ice-pwd:0123456789012345678901\r\na=rtpmap:111 opus/48000/2\r\n",
          "offer has no DTLS fingerprint", PROTO_EINVAL },
        /* no BUNDLE group: nothing accepted */
        { "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"
          "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtcp-mux\r\na=ice-ufrag:abcd\r\n"
          "a=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AA\r\n"
          "a=rtpmap:111 opus/48000/2\r\n",
          NULL, PROTO_EUNSUPP },
        /* no rtcp-mux */
        { "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=group:BUNDLE 0\r\n"
          "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:abcd\r\n"
          "a=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AA\r\n"
          "a=rtpmap:111 opus/48000/2\r\n",
          NULL, PROTO_EUNSUPP },
        /* plain RTP/AVP (no DTLS-SRTP) */
        { "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=group:BUNDLE 0\r\n"
          "m=audio 9 RTP/AVP 111\r\na=mid:0\r\na=rtcp-mux\r\na=ice-ufrag:abcd\r\n"
          "a=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AA\r\n"
          "a=rtpmap:111 opus/48000/2\r\n",
          NULL, PROTO_EUNSUPP },
        /* opus mono is not WebRTC's opus/48000/2 */
        { "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=group:BUNDLE 0\r\n"
          "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtcp-mux\r\na=ice-ufrag:abcd\r\n"
          "a=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AA\r\n"
          "a=rtpmap:111 opus/48000\r\n",
          NULL, PROTO_EUNSUPP },
    };
    sdp_local_t l = sfu_local();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sdp_t *offer = NULL;
        const char *why = NULL;
        ASSERT_EQ(sdp_parse(&offer, cases[i].sdp, strlen(cases[i].sdp), &why), 0);
        ASSERT_EQ(sdp_build_answer(obuf, sizeof obuf, offer, &l, NULL, NULL, &why), cases[i].err);
        if (cases[i].why) {
            ASSERT_STR_EQ(why, cases[i].why);
        }
        sdp_free(offer);
    }
}

TEST(answer_setup_roles)
{
    static const char base[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=group:BUNDLE 0\r\n"
                               "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtcp-mux\r\n"
                               "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
                               "a=fingerprint:sha-256 AA\r\na=rtpmap:111 opus/48000/2\r\n";
    static const struct {
        const char *setup;
        sdp_setup_t want, got;
    } cases[] = {
        { "a=setup:actpass\r\n", SDP_SETUP_PASSIVE, SDP_SETUP_PASSIVE },
        { "a=setup:actpass\r\n", SDP_SETUP_ACTIVE, SDP_SETUP_ACTIVE },
        { "a=setup:active\r\n", SDP_SETUP_ACTIVE, SDP_SETUP_PASSIVE },
        { "a=setup:passive\r\n", SDP_SETUP_PASSIVE, SDP_SETUP_ACTIVE },
        { "", SDP_SETUP_ACTIVE, SDP_SETUP_ACTIVE },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s", base, cases[i].setup);
        sdp_t *offer = NULL;
        ASSERT_EQ(sdp_parse(&offer, text, strlen(text), NULL), 0);
        sdp_local_t l = sfu_local();
        l.setup = cases[i].want;
        sdp_neg_t neg;
        ssize_t n = sdp_build_answer(obuf, sizeof obuf, offer, &l, NULL, &neg, NULL);
        sdp_free(offer);
        ASSERT(n > 0);
        ASSERT_EQ(neg.setup, cases[i].got);
    }
}

static const sdp_sub_track_t sub_tracks[2] = {
    { .ssrc = 1111, .cname = "sfu", .msid_stream = "stream", .msid_track = "audio0" },
    { .ssrc = 2222,
      .rtx_ssrc = 3333,
      .cname = "sfu",
      .msid_stream = "stream",
      .msid_track = "video0" },
};

static int publisher_neg(sdp_neg_t *neg)
{
    sdp_answer_opts_t o = { .start_kbps = 1000, .min_kbps = 500 };
    ssize_t n;
    sdp_t *ans = answer_for("chrome_pub_sendonly.sdp", &o, neg, obuf, sizeof obuf, &n);
    sdp_free(ans);
    return ans ? 0 : -1;
}

TEST(sub_offer_round_trip_and_golden)
{
    sdp_neg_t neg;
    ASSERT_EQ(publisher_neg(&neg), 0);
    sdp_local_t l = sfu_local();
    l.setup = SDP_SETUP_ACTPASS;
    const char *why = NULL;
    static char out[SDP_MAX_LEN];
    ssize_t n = sdp_build_sub_offer(out, sizeof out, &neg, &l, sub_tracks, 2, &why);
    ASSERT(n > 0);
    size_t glen;
    char *golden = load("sfu_sub_offer.sdp", &glen); /* Chromium 156 answered it */
    ASSERT(golden);
    int same = (size_t)n == glen && memcmp(out, golden, glen) == 0;
    free(golden);
    ASSERT(same);
    sdp_t *s = NULL;
    ASSERT_EQ(sdp_parse(&s, out, (size_t)n, &why), 0);
    ASSERT_EQ(s->n_media, 2);
    ASSERT_EQ(s->n_bundle, 2);
    const sdp_media_t *a = &s->media[0], *v = &s->media[1];
    ASSERT_EQ(a->dir, SDP_DIR_SENDONLY);
    ASSERT_EQ(a->setup, SDP_SETUP_ACTPASS);
    ASSERT_STR_EQ(a->mid, "0");
    ASSERT_EQ(a->codecs[0].pt, 111);
    ASSERT_UEQ(sdp_media_primary_ssrc(a, NULL), 1111);
    ASSERT_STR_EQ(a->ssrcs[0].cname, "sfu");
    ASSERT_STR_EQ(a->msid_track, "audio0");
    ASSERT_EQ(v->n_codecs, 2);
    ASSERT_EQ(sdp_media_rtx_pt(v, 96), 97);
    ASSERT_EQ(v->codecs[0].fb, SDP_FB_SFU);
    uint32_t rtx;
    ASSERT_UEQ(sdp_media_primary_ssrc(v, &rtx), 2222);
    ASSERT_UEQ(rtx, 3333);
    ASSERT_EQ(sdp_media_extmap_id(v, sdp_ext_uri(SDP_EXT_MID)), 4);
    ASSERT(v->rtcp_mux && v->rtcp_rsize);
    ASSERT(strstr(out, "x-google") == NULL); /* hints belong to the publisher's answer only */
    sdp_free(s);

    /* without an rtx ssrc no rtx is offered */
    sdp_sub_track_t t2[2] = { sub_tracks[0], sub_tracks[1] };
    t2[1].rtx_ssrc = 0;
    n = sdp_build_sub_offer(out, sizeof out, &neg, &l, t2, 2, &why);
    ASSERT(n > 0);
    ASSERT(strstr(out, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n") != NULL);
    ASSERT(strstr(out, "rtx") == NULL && strstr(out, "FID") == NULL);
    /* bad arguments */
    ASSERT_EQ(sdp_build_sub_offer(out, sizeof out, &neg, &l, t2, 1, &why), PROTO_EINVAL);
    t2[0].ssrc = 0;
    ASSERT_EQ(sdp_build_sub_offer(out, sizeof out, &neg, &l, t2, 2, &why), PROTO_EINVAL);
    t2[0] = sub_tracks[0];
    t2[0].msid_track = "a b";
    ASSERT_EQ(sdp_build_sub_offer(out, sizeof out, &neg, &l, t2, 2, &why), PROTO_EINVAL);
    ASSERT_EQ(sdp_build_sub_offer(out, 100, &neg, &l, sub_tracks, 2, &why), PROTO_ETOOBIG);
    sdp_neg_t none = { 0 };
    ASSERT_EQ(sdp_build_sub_offer(out, sizeof out, &none, &l, NULL, 0, &why), PROTO_EINVAL);
}

TEST(sub_answer_from_chromium_is_accepted)
{
    sdp_neg_t neg;
    ASSERT_EQ(publisher_neg(&neg), 0);
    sdp_t *ans = parse_fixture("chrome_sub_answer.sdp");
    ASSERT(ans);
    sdp_sub_result_t res;
    const char *why = NULL;
    ASSERT_EQ(sdp_check_sub_answer(ans, &neg, &res, &why), 0);
    ASSERT_EQ(res.n_media, 2);
    ASSERT(res.media[0].accepted && res.media[1].accepted);
    ASSERT_EQ(res.media[0].fb, 0);
    ASSERT_EQ(res.media[1].fb, SDP_FB_SFU);
    ASSERT(res.media[1].rtx);
    ASSERT(!res.media[0].rtx);
    sdp_remote_t rt;
    ASSERT_EQ(sdp_remote_transport(ans, &rt, &why), 0);
    ASSERT_STR_EQ(rt.ice_ufrag, "uO8I");
    ASSERT_EQ(rt.setup, SDP_SETUP_ACTIVE);
    ASSERT_STR_EQ(rt.fp_alg, "sha-256");
    ASSERT(rt.first == &ans->media[0]);
    sdp_free(ans);
}

/* Applies one textual edit to the Chromium subscriber answer and checks the verdict. */
static size_t edit(char *text, size_t len, const char *from, const char *to)
{
    char *hit = strstr(text, from);
    if (!hit) {
        return 0;
    }
    size_t pre = (size_t)(hit - text), fl = strlen(from), tl = strlen(to);
    memmove(hit + tl, hit + fl, len - pre - fl + 1);
    memcpy(hit, to, tl);
    return len - fl + tl;
}

static int check_edited(const sdp_neg_t *neg, const char *from, const char *to, const char **why)
{
    size_t n;
    char *ed = load("chrome_sub_answer.sdp", &n);
    if (!ed) {
        return 99;
    }
    n = edit(ed, n, from, to);
    if (strcmp(from, "a=mid:1\r\n") == 0) {
        n = edit(ed, n, "BUNDLE 0 1", "BUNDLE 0 x"); /* keep the parse valid */
    }
    if (!n) {
        free(ed);
        return 98;
    }
    sdp_t *s = NULL;
    int r = sdp_parse(&s, ed, n, why);
    if (r == 0) {
        r = sdp_check_sub_answer(s, neg, NULL, why);
        sdp_free(s);
    }
    free(ed);
    return r;
}

TEST(sub_answer_checks)
{
    sdp_neg_t neg;
    ASSERT_EQ(publisher_neg(&neg), 0);
    static const struct {
        const char *from, *to, *why;
        int err;
    } cases[] = {
        { "a=mid:1\r\n", "a=mid:x\r\n", "answer m= sections do not match the offer's mids",
          PROTO_EINVAL },
        { "a=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:96",
          "a=sendrecv\r\na=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:96",
          "answer to a sendonly section must be recvonly", PROTO_EINVAL },
        { "UDP/TLS/RTP/SAVPF 96 97", "UDP/TLS/RTP/SAVPF 100 97",
          "answer lacks the offered payload type", PROTO_EINVAL },
        { "a=setup:active\r\na=mid:0", "a=setup:actpass\r\na=mid:0",
          "answer a=setup must be active or passive", PROTO_EINVAL },
        { "a=ice-pwd:5F8uVVWSYYVTt3f3TexGVd+S\r\na=ice-options:trickle\r\na=fingerprint:sha-256 "
          "F8:E5:D9:A8:8C:2C:4D:07:6F:01:3B:66:9A:0E:26:F4:18:77:51:75:08:5A:22:71:9A:45:7F:CD:"
          "0E:67:E3:56\r\na=setup:active\r\na=mid:0",
          "a=setup:active\r\na=mid:0", "no ICE ufrag/pwd", PROTO_EINVAL },
        { "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "m=video 0 UDP/TLS/RTP/SAVPF 96 97", NULL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = NULL;
        int r = check_edited(&neg, cases[i].from, cases[i].to, &why);
        if (r != cases[i].err) {
            fprintf(stderr, "  case %zu: %s\n", i, why ? why : "");
        }
        ASSERT_EQ(r, cases[i].err);
        if (cases[i].why) {
            ASSERT_STR_EQ(why, cases[i].why);
        }
    }
}

#define HDR    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
#define MAUDIO "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"

TEST(parse_malformed)
{
    static const struct {
        const char *sdp, *why;
        int err;
    } cases[] = {
        { "", "empty SDP", PROTO_EINVAL },
        { "\r\n\r\n", "empty SDP", PROTO_EINVAL },
        { "v=1\r\n", "SDP must start with v=0", PROTO_EINVAL },
        { "o=- 1 1 IN IP4 0.0.0.0\r\n", "SDP must start with v=0", PROTO_EINVAL },
        { "hello", "line is not <letter>=<value>", PROTO_EINVAL },
        { "v=0\r\nx\r\n", "line is not <letter>=<value>", PROTO_EINVAL },
        { "v=0\r\nA=b\r\n", "line is not <letter>=<value>", PROTO_EINVAL },
        { HDR MAUDIO "a=fmtp:111 x\ra=evil\r\n", "CR inside an SDP line", PROTO_EINVAL },
        { "v=0\r\r\n", "CR inside an SDP line", PROTO_EINVAL },
        { "v=0\r\n", "no o= line", PROTO_EINVAL },
        { "v=0\r\n" MAUDIO, "m= before o=", PROTO_EINVAL },
        { "v=0\r\no=- x 1 IN IP4 0.0.0.0\r\n", "bad o= line", PROTO_EINVAL },
        { "v=0\r\no=- 1\r\n", "bad o= line", PROTO_EINVAL },
        { "v=0\r\no=- 99999999999999999999 1 IN IP4 0.0.0.0\r\n", "bad o= line", PROTO_EINVAL },
        { HDR "o=- 1 1 IN IP4 0.0.0.0\r\n", "second o= line", PROTO_EINVAL },
        { HDR "m=audio 9\r\n", "m= line needs media, port, proto and formats", PROTO_EINVAL },
        { HDR "m=audio 9 RTP/AVP\r\n", "m= line has no formats", PROTO_EINVAL },
        { HDR "m=audio 70000 RTP/AVP 0\r\n", "bad m= port", PROTO_EINVAL },
        { HDR "m=audio -1 RTP/AVP 0\r\n", "bad m= port", PROTO_EINVAL },
        { HDR "m=audio 9 RTP/AVP 128\r\n", "bad payload type on m= line", PROTO_EINVAL },
        { HDR "m=audio 9 RTP/AVP 0x1\r\n", "bad payload type on m= line", PROTO_EINVAL },
        { HDR "m=audio 9 RTP/AVP 0 0\r\n", "payload type repeated on m= line", PROTO_EINVAL },
        { HDR MAUDIO "a=mid:0\r\n" MAUDIO "a=mid:0\r\n", "duplicate a=mid", PROTO_EINVAL },
        { HDR MAUDIO "a=mid:\r\n", "empty a=mid", PROTO_EINVAL },
        { HDR "a=group:BUNDLE 0 1\r\n" MAUDIO "a=mid:0\r\n",
          "a=group:BUNDLE names a mid with no m= section", PROTO_EINVAL },
        { HDR MAUDIO "a=rtpmap:111 opus\r\n", "a=rtpmap needs <name>/<clock rate>", PROTO_EINVAL },
        { HDR MAUDIO "a=rtpmap:111 opus/0/2\r\n", "bad a=rtpmap clock rate", PROTO_EINVAL },
        { HDR MAUDIO "a=rtpmap:111 opus/48000/x\r\n", "bad a=rtpmap channel count", PROTO_EINVAL },
        { HDR MAUDIO "a=rtpmap:111 opus/99999999999/2\r\n", "bad a=rtpmap clock rate",
          PROTO_EINVAL },
        { HDR MAUDIO "a=rtpmap:x opus/48000/2\r\n", "bad a=rtpmap", PROTO_EINVAL },
        { HDR MAUDIO "a=fmtp:\r\n", "bad a=fmtp", PROTO_EINVAL },
        { HDR MAUDIO "a=rtcp-fb:300 nack\r\n", "bad a=rtcp-fb payload type", PROTO_EINVAL },
        { HDR MAUDIO "a=extmap:0 urn:x\r\n", "bad a=extmap id (1..255)", PROTO_EINVAL },
        { HDR MAUDIO "a=extmap:256 urn:x\r\n", "bad a=extmap id (1..255)", PROTO_EINVAL },
        { HDR MAUDIO "a=extmap:1\r\n", "bad a=extmap", PROTO_EINVAL },
        { HDR MAUDIO "a=extmap:1/up urn:x\r\n", "bad a=extmap direction", PROTO_EINVAL },
        { HDR MAUDIO "a=extmap:1 urn:x\r\na=extmap:1 urn:y\r\n", "a=extmap id repeated",
          PROTO_EINVAL },
        { HDR MAUDIO "a=ssrc:4294967296 cname:x\r\n", "bad a=ssrc", PROTO_EINVAL },
        { HDR MAUDIO "a=ssrc-group:FID\r\n", "a=ssrc-group without ssrcs", PROTO_EINVAL },
        { HDR MAUDIO "a=ssrc-group:FID 1 x\r\n", "bad ssrc in a=ssrc-group", PROTO_EINVAL },
        { HDR MAUDIO "a=ssrc-group:SIM 1 2 3 4 5 6 7 8 9\r\n", "too many ssrcs in a=ssrc-group",
          PROTO_ETOOBIG },
        { HDR "a=setup:sometimes\r\n", "bad a=setup", PROTO_EINVAL },
        { HDR "a=fingerprint:sha-256\r\n", "a=fingerprint needs <hash> <value>", PROTO_EINVAL },
        { HDR "a=ice-ufrag:\r\n", "empty ICE attribute", PROTO_EINVAL },
        { HDR MAUDIO "a=msid:\r\n", "empty msid", PROTO_EINVAL },
        { HDR "a=\r\n", "a= line without attribute name", PROTO_EINVAL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sdp_t *s = (sdp_t *)1;
        const char *why = NULL;
        int r = sdp_parse(&s, cases[i].sdp, strlen(cases[i].sdp), &why);
        if (r != cases[i].err || !why || strcmp(why, cases[i].why) != 0) {
            fprintf(stderr, "  case %zu: %d %s\n", i, r, why ? why : "(null)");
        }
        ASSERT_EQ(r, cases[i].err);
        ASSERT_STR_EQ(why, cases[i].why);
        ASSERT(s == NULL);
    }
}

TEST(parse_limits)
{
    static char big[SDP_MAX_LEN + 2];
    const char *why = NULL;
    sdp_t *s = NULL;
    size_t n = (size_t)snprintf(big, sizeof big, HDR);
    memset(big + n, 'x', sizeof big - n);
    ASSERT_EQ(sdp_parse(&s, big, SDP_MAX_LEN + 1, &why), PROTO_ETOOBIG);
    ASSERT_STR_EQ(why, "SDP over 64 KiB");
    /* NUL inside */
    ASSERT_EQ(sdp_parse(&s, "v=0\r\n\0", 6, &why), PROTO_EINVAL);
    ASSERT_STR_EQ(why, "NUL byte in SDP");
    /* too many m= sections */
    n = (size_t)snprintf(big, sizeof big, HDR);
    for (int i = 0; i <= SDP_MAX_MEDIA; i++) {
        n += (size_t)snprintf(big + n, sizeof big - n, "m=audio 9 RTP/AVP 0\r\na=mid:%d\r\n", i);
    }
    ASSERT_EQ(sdp_parse(&s, big, n, &why), PROTO_ETOOBIG);
    ASSERT_STR_EQ(why, "too many m= sections");
    /* too many payload types */
    n = (size_t)snprintf(big, sizeof big, HDR "m=video 9 UDP/TLS/RTP/SAVPF");
    for (int i = 0; i <= SDP_MAX_CODECS; i++) {
        n += (size_t)snprintf(big + n, sizeof big - n, " %d", i);
    }
    n += (size_t)snprintf(big + n, sizeof big - n, "\r\n");
    ASSERT_EQ(sdp_parse(&s, big, n, &why), PROTO_ETOOBIG);
    ASSERT_STR_EQ(why, "too many payload types on m= line");
    /* too many ssrcs, extmaps, groups */
    static const struct {
        const char *fmt, *why;
        int count;
    } many[] = {
        { "a=ssrc:%d cname:x\r\n", "too many a=ssrc values", SDP_MAX_SSRCS },
        { "a=extmap:%d urn:x\r\n", "too many a=extmap lines", SDP_MAX_EXTMAPS },
        { "a=ssrc-group:FID %d 1\r\n", "too many a=ssrc-group lines", SDP_MAX_GROUPS },
    };
    for (size_t k = 0; k < sizeof many / sizeof many[0]; k++) {
        n = (size_t)snprintf(big, sizeof big, HDR MAUDIO);
        for (int i = 1; i <= many[k].count + 1; i++) {
            n += (size_t)snprintf(big + n, sizeof big - n, many[k].fmt, i);
        }
        ASSERT_EQ(sdp_parse(&s, big, n, &why), PROTO_ETOOBIG);
        ASSERT_STR_EQ(why, many[k].why);
    }
    /* extra candidates are dropped, not an error */
    n = (size_t)snprintf(big, sizeof big, HDR MAUDIO);
    for (int i = 0; i < SDP_MAX_CANDS + 5; i++) {
        n += (size_t)snprintf(big + n, sizeof big - n,
                              "a=candidate:%d 1 udp 1 127.0.0.1 %d typ host\r\n", i, 1000 + i);
    }
    ASSERT_EQ(sdp_parse(&s, big, n, &why), 0);
    ASSERT_EQ(s->media[0].n_cands, SDP_MAX_CANDS);
    sdp_free(s);
}

TEST(parse_every_prefix_of_chrome_offer)
{
    size_t len;
    char *text = load("chrome_pub_sendrecv_dc.sdp", &len);
    ASSERT(text);
    int ok = 0;
    for (size_t n = 0; n <= len; n++) {
        char *copy = malloc(n ? n : 1); /* exact size: ASan catches a read past n */
        memcpy(copy, text, n);
        sdp_t *s = NULL;
        const char *why = NULL;
        int r = sdp_parse(&s, copy, n, &why);
        free(copy);
        if (r == 0) {
            ok++;
            sdp_free(s);
        } else if (!why) {
            free(text);
            ASSERT(why != NULL);
        }
    }
    free(text);
    ASSERT(ok > 0);
}

TEST(parse_tolerates_unknowns)
{
    static const char sdp[] =
        HDR "a=foo:bar\r\nb=AS:300\r\nc=IN IP4 0.0.0.0\r\n"
            "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:97 rtx/90000\r\na=fmtp:98 apt=96\r\n"
            "a=rtcp-fb:99 nack\r\na=rtcp-fb:* nack\r\na=rtcp-fb:* transport-cc\r\n"
            "a=rtpmap:96 VP8/90000\r\na=candidate:garbage\r\na=ssrc:5 label:x\r\n"
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=rtpmap:x y\r\n"
            "m=text 0 RTP/AVP 98\r\n";
    sdp_t *s = NULL;
    const char *why = NULL;
    ASSERT_EQ(sdp_parse(&s, sdp, sizeof sdp - 1, &why), 0);
    ASSERT_EQ(s->n_media, 3);
    const sdp_media_t *v = &s->media[0];
    ASSERT_EQ(v->n_codecs, 1);
    ASSERT_EQ(v->codecs[0].fb, SDP_FB_NACK | SDP_FB_TWCC); /* a=rtcp-fb:* applies to all */
    ASSERT_EQ(v->codecs[0].n_fb, 2);
    ASSERT_EQ(v->n_cands, 0);
    ASSERT_EQ(v->n_ssrcs, 1);
    ASSERT_STR_EQ(v->ssrcs[0].cname, "");
    ASSERT_EQ(s->media[1].kind, SDP_KIND_APPLICATION);
    ASSERT(!s->media[1].rtp);
    ASSERT_STR_EQ(s->media[1].fmts, "webrtc-datachannel");
    ASSERT_EQ(s->media[2].kind, SDP_KIND_OTHER);
    ASSERT_EQ(s->media[0].setup, SDP_SETUP_NONE);
    ASSERT_EQ(s->media[0].dir, SDP_DIR_SENDRECV);
    sdp_remote_t rt;
    ASSERT_EQ(sdp_remote_transport(s, &rt, &why), PROTO_EINVAL);
    ASSERT_STR_EQ(why, "no ICE ufrag/pwd");
    sdp_free(s);
}

TEST(candidate_classify)
{
    static const struct {
        const char *line;
        bool tcp, mdns;
        sdp_cand_type_t type;
        const char *addr, *raddr, *tcptype;
        uint16_t port, rport, component;
    } ok[] = {
        { "candidate:3381852477 1 udp 2122260223 127.0.0.1 48779 typ host generation 0 "
          "network-id 1 network-cost 50",
          false, false, SDP_CAND_HOST, "127.0.0.1", "", "", 48779, 0, 1 },
        { "a=candidate:3076332453 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active "
          "generation 0 network-id 1\r\n",
          true, false, SDP_CAND_HOST, "127.0.0.1", "", "active", 9, 0, 1 },
        { "candidate:842163049 1 udp 1677729535 203.0.113.7 61327 typ srflx raddr 10.0.0.2 "
          "rport 50000 generation 0 ufrag sLnS network-cost 999",
          false, false, SDP_CAND_SRFLX, "203.0.113.7", "10.0.0.2", "", 61327, 50000, 1 },
        { "candidate:1 1 UDP 2122262783 dbdab211-4a05-4f0b-a0f5-0d9a9b1e6a77.local 55249 typ "
          "host generation 0",
          false, true, SDP_CAND_HOST, "dbdab211-4a05-4f0b-a0f5-0d9a9b1e6a77.local", "", "", 55249,
          0, 1 },
        { "candidate:2 2 udp 41885439 198.51.100.1 3478 typ relay raddr 0.0.0.0 rport 0", false,
          false, SDP_CAND_RELAY, "198.51.100.1", "0.0.0.0", "", 3478, 0, 2 },
        { "candidate:3 1 udp 1845501695 2001:db8::1 40000 typ prflx", false, false, SDP_CAND_PRFLX,
          "2001:db8::1", "", "", 40000, 0, 1 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        sdp_cand_t c;
        const char *why = NULL;
        ASSERT_EQ(sdp_cand_parse(&c, ok[i].line, strlen(ok[i].line), &why), 0);
        ASSERT_EQ(c.tcp, ok[i].tcp);
        ASSERT_EQ(c.mdns, ok[i].mdns);
        ASSERT_EQ(c.type, ok[i].type);
        ASSERT_STR_EQ(c.addr, ok[i].addr);
        ASSERT_STR_EQ(c.raddr, ok[i].raddr);
        ASSERT_STR_EQ(c.tcptype, ok[i].tcptype);
        ASSERT_EQ(c.port, ok[i].port);
        ASSERT_EQ(c.rport, ok[i].rport);
        ASSERT_EQ(c.component, ok[i].component);
    }
    static const struct {
        const char *line, *why;
    } bad[] = {
        { "", "not a candidate: line" },
        { "a=candidate", "not a candidate: line" },
        { "candidate:1 1 udp 1 127.0.0.1", "candidate needs foundation, component, transport, "
                                           "priority, address, port" },
        { "candidate:1 1 sctp 1 127.0.0.1 5 typ host",
          "candidate transport is neither udp nor tcp" },
        { "candidate:1 0 udp 1 127.0.0.1 5 typ host", "bad candidate component" },
        { "candidate:1 1 udp 4294967296 127.0.0.1 5 typ host", "bad candidate priority" },
        { "candidate:1 1 udp 1 127.0.0.1 65536 typ host", "bad candidate port" },
        { "candidate:1 1 udp 1 127.0.0.1 5 type host", "candidate without typ" },
        { "candidate:1 1 udp 1 127.0.0.1 5 typ", "candidate without typ" },
        { "candidate:1 1 udp 1 127.0.0.1 5 typ local", "unknown candidate type" },
        { "candidate:1 1 udp 1 127.0.0.1 5 typ srflx raddr 1.2.3.4 rport x",
          "bad candidate rport" },
        { "candidate:123456789012345678901234567890123 1 udp 1 127.0.0.1 5 typ host",
          "bad candidate foundation" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sdp_cand_t c;
        const char *why = NULL;
        ASSERT_EQ(sdp_cand_parse(&c, bad[i].line, strlen(bad[i].line), &why), PROTO_EINVAL);
        ASSERT_STR_EQ(why, bad[i].why);
    }
}

TEST(fmtp_params)
{
    const char *v;
    size_t n;
    const char *f = "level-asymmetry-allowed=1; packetization-mode=1 ;profile-level-id=42e01f";
    ASSERT(sdp_fmtp_get(f, "packetization-mode", &v, &n));
    ASSERT_MEM_EQ(v, n, "1", 1);
    ASSERT(sdp_fmtp_get(f, "PROFILE-LEVEL-ID", &v, &n));
    ASSERT_MEM_EQ(v, n, "42e01f", 6);
    ASSERT(!sdp_fmtp_get(f, "packetization", &v, &n));
    ASSERT(sdp_fmtp_get("111/111", "111/111", &v, &n));
    ASSERT_EQ(n, 0);
    ASSERT(!sdp_fmtp_get("", "apt", &v, &n));
    ASSERT(sdp_fmtp_get("apt=", "apt", &v, &n));
    ASSERT_EQ(n, 0);
    ASSERT_STR_EQ(sdp_ext_uri(SDP_EXT_MID), "urn:ietf:params:rtp-hdrext:sdes:mid");
    ASSERT(sdp_ext_uri(SDP_EXT_COUNT) == NULL);
}

TEST(answer_with_rejected_bundle_tag)
{
    /* Opus renamed away: the audio section (the offer's BUNDLE tag) is rejected and the video
     * section becomes the answer's tag, carrying the candidates. Chromium 156 accepted this. */
    size_t len;
    char *text = load("chrome_pub_sendonly.sdp", &len);
    ASSERT(text);
    len = edit(text, len, "opus/48000/2", "opux/48000/2");
    sdp_t *offer = NULL;
    int r = sdp_parse(&offer, text, len, NULL);
    free(text);
    ASSERT_EQ(r, 0);
    sdp_local_t l = sfu_local();
    sdp_answer_opts_t o = { .start_kbps = 1000, .min_kbps = 500 };
    sdp_neg_t neg;
    ssize_t n = sdp_build_answer(obuf, sizeof obuf, offer, &l, &o, &neg, NULL);
    sdp_free(offer);
    ASSERT(n > 0);
    ASSERT(!neg.media[0].accepted && neg.media[1].accepted);
    size_t glen;
    char *golden = load("sfu_answer_chrome_noaudio.sdp", &glen);
    ASSERT(golden);
    int same = (size_t)n == glen && memcmp(obuf, golden, glen) == 0;
    free(golden);
    ASSERT(same);
}
