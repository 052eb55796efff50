/* tests/fuzz/fuzz_rtcp.c: proto/rtcp on arbitrary datagrams: iterate the compound, run every
 * parser on every packet, and rebuild what parsed (SR, RR, NACK, REMB, PLI, FIR) to check that
 * build -> parse gives the same values back. */
#include "../../proto/rtcp.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[2048];

static void reparse(size_t n, rtcp_pkt_t *p)
{
    rtcp_iter_t it;
    rtcp_iter_init(&it, out, n);
    if (rtcp_iter_next(&it, p, NULL) != 1 || rtcp_iter_next(&it, p + 1, NULL) != 0) {
        abort();
    }
}

static void round_trips(const rtcp_pkt_t *p)
{
    rtcp_pkt_t q[2];
    rtcp_sr_t sr, sr2;
    if (rtcp_sr_parse(p, &sr) == 0) {
        ssize_t n = rtcp_sr_build(out, sizeof out, &sr);
        reparse((size_t)n, q);
        if (rtcp_sr_parse(q, &sr2) != 0 || sr2.n_reports != sr.n_reports ||
            sr2.octet_count != sr.octet_count ||
            (sr.n_reports && sr2.reports[0].cum_lost != sr.reports[0].cum_lost)) {
            abort();
        }
    }
    rtcp_rr_t rr, rr2;
    if (rtcp_rr_parse(p, &rr) == 0) {
        ssize_t n = rtcp_rr_build(out, sizeof out, &rr);
        reparse((size_t)n, q);
        if (rtcp_rr_parse(q, &rr2) != 0 || rr2.n_reports != rr.n_reports) {
            abort();
        }
    }
    rtcp_nack_t nk, nk2;
    if (rtcp_nack_parse(p, &nk) == 0) {
        uint16_t s1[RTCP_MAX_FCI * 17], s2[RTCP_MAX_FCI * 17];
        size_t n1 = rtcp_nack_expand(&nk, s1, RTCP_MAX_FCI * 17);
        ssize_t n = rtcp_nack_build(out, sizeof out, nk.sender_ssrc, nk.media_ssrc, s1, n1);
        reparse((size_t)n, q);
        if (rtcp_nack_parse(q, &nk2) != 0) {
            abort();
        }
        size_t n2 = rtcp_nack_expand(&nk2, s2, RTCP_MAX_FCI * 17);
        for (size_t i = 0; i < n2; i++) { /* nothing invented */
            size_t j = 0;
            while (j < n1 && s1[j] != s2[i]) {
                j++;
            }
            if (j == n1) {
                abort();
            }
        }
    }
    rtcp_remb_t rb, rb2;
    if (rtcp_remb_parse(p, &rb) == 0 && rb.n_ssrcs && rb.bitrate != UINT64_MAX) {
        ssize_t n =
            rtcp_remb_build(out, sizeof out, rb.sender_ssrc, rb.bitrate, rb.ssrcs, rb.n_ssrcs);
        reparse((size_t)n, q);
        if (rtcp_remb_parse(q, &rb2) != 0 || rb2.bitrate != rb.bitrate) {
            abort();
        }
    }
    rtcp_fb_t fb;
    if (rtcp_pli_parse(p, &fb) == 0) {
        reparse((size_t)rtcp_pli_build(out, sizeof out, fb.sender_ssrc, fb.media_ssrc), q);
    }
    rtcp_fir_t fir, fir2;
    if (rtcp_fir_parse(p, &fir) == 0) {
        ssize_t n = rtcp_fir_build(out, sizeof out, fir.sender_ssrc, fir.entries[0].ssrc,
                                   fir.entries[0].seq);
        reparse((size_t)n, q);
        if (rtcp_fir_parse(q, &fir2) != 0 || fir2.entries[0].seq != fir.entries[0].seq) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtcp_iter_t it;
    rtcp_pkt_t p;
    rtcp_iter_init(&it, data, size);
    while (rtcp_iter_next(&it, &p, NULL) == 1) {
        if (p.data < data || p.data + p.len > data + size || p.body_len + 4 > p.len) {
            abort();
        }
        rtcp_sdes_t sd;
        rtcp_bye_t bye;
        if (rtcp_sdes_parse(&p, &sd) == 0) {
            for (unsigned i = 0; i < sd.n; i++) {
                if (sd.chunks[i].cname &&
                    sd.chunks[i].cname + sd.chunks[i].cname_len > data + size) {
                    abort();
                }
            }
        }
        if (rtcp_bye_parse(&p, &bye) == 0 && bye.reason &&
            bye.reason + bye.reason_len > p.data + p.len) {
            abort();
        }
        round_trips(&p);
    }
    return 0;
}
