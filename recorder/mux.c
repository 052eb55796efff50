/* recorder/mux.c: see mux.h. */
#include "mux.h"
#include "../common/log.h"
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <stdio.h>
#include <string.h>

#define MUX_MAX_STREAMS 4

struct mux {
    AVFormatContext *oc; /* owned */
    char path[4096];
    bool started, failed;
    int n;
    int64_t last_pts[MUX_MAX_STREAMS]; /* in the stream time base; INT64_MIN before a frame */
    int64_t end_us;
    AVPacket *pkt; /* reused */
};

static void on_av_log(void *avcl, int level, const char *fmt, va_list ap)
{
    if (level > AV_LOG_WARNING) {
        return;
    }
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        line[--n] = 0;
    }
    const AVClass *cls = avcl ? *(const AVClass **)avcl : NULL;
    const char *who = cls && cls->item_name ? cls->item_name(avcl) : "av";
    if (level <= AV_LOG_ERROR) {
        LOG_E("av", "libav", "\"from\":\"%s\",\"text\":\"%s\"", log_esc(who), log_esc(line));
    } else {
        LOG_W("av", "libav", "\"from\":\"%s\",\"text\":\"%s\"", log_esc(who), log_esc(line));
    }
}

void mux_log_setup(void)
{
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(on_av_log);
}

static void av_err(char *err, size_t errlen, const char *what, int rc)
{
    char e[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(rc, e, sizeof e);
    snprintf(err, errlen, "%s: %s", what, e);
}

mux_t *mux_new(const char *path, bool webm, char *err, size_t errlen)
{
    mux_t *m = av_mallocz(sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(m->path, sizeof m->path, "%s", path);
    int rc = avformat_alloc_output_context2(&m->oc, NULL, webm ? "webm" : "matroska", path);
    m->pkt = av_packet_alloc();
    if (rc < 0 || !m->oc || !m->pkt) {
        av_err(err, errlen, "output context", rc < 0 ? rc : AVERROR(ENOMEM));
        mux_free(m);
        return NULL;
    }
    for (int i = 0; i < MUX_MAX_STREAMS; i++) {
        m->last_pts[i] = INT64_MIN;
    }
    return m;
}

static AVStream *new_stream(mux_t *m)
{
    if (m->started || m->n == MUX_MAX_STREAMS) {
        return NULL;
    }
    AVStream *st = avformat_new_stream(m->oc, NULL);
    if (st) {
        st->time_base = (AVRational){ 1, 1000 };
        m->n++;
    }
    return st;
}

static int set_extradata(AVCodecParameters *par, const uint8_t *data, size_t len)
{
    par->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!par->extradata) {
        return -1;
    }
    memcpy(par->extradata, data, len);
    par->extradata_size = (int)len;
    return 0;
}

int mux_add_opus(mux_t *m, int channels)
{
    AVStream *st = new_stream(m);
    if (!st) {
        return -1;
    }
    AVCodecParameters *par = st->codecpar;
    par->codec_type = AVMEDIA_TYPE_AUDIO;
    par->codec_id = AV_CODEC_ID_OPUS;
    par->sample_rate = 48000;
    av_channel_layout_default(&par->ch_layout, channels == 1 ? 1 : 2);
    /* RFC 7845 5.1 identification header: the Matroska CodecPrivate of Opus. Pre-skip 0: an
     * RTP stream joined mid-way has no encoder delay to skip. */
    uint8_t head[19] = { 'O', 'p', 'u',  's',  'H',
                         'e', 'a', 'd',  1,    (uint8_t)(channels == 1 ? 1 : 2),
                         0,   0,   0x80, 0xbb, 0,
                         0,   0,   0,    0 };
    return set_extradata(par, head, sizeof head) == 0 ? st->index : -1;
}

int mux_add_video(mux_t *m, rec_codec_t codec, int width, int height, const uint8_t *extradata,
                  size_t extradata_len)
{
    AVStream *st = new_stream(m);
    if (!st) {
        return -1;
    }
    AVCodecParameters *par = st->codecpar;
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = codec == REC_CODEC_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_VP8;
    par->width = width;
    par->height = height;
    if (extradata_len && set_extradata(par, extradata, extradata_len) != 0) {
        return -1;
    }
    return st->index;
}

int mux_start(mux_t *m, char *err, size_t errlen)
{
    int rc = avio_open(&m->oc->pb, m->path, AVIO_FLAG_WRITE);
    if (rc < 0) {
        av_err(err, errlen, "open", rc);
        return -1;
    }
    rc = avformat_write_header(m->oc, NULL);
    if (rc < 0) {
        av_err(err, errlen, "header", rc);
        avio_closep(&m->oc->pb);
        return -1;
    }
    m->started = true;
    return 0;
}

bool mux_started(const mux_t *m)
{
    return m->started;
}

int mux_write(mux_t *m, int idx, const uint8_t *data, size_t len, int64_t pts_us, int64_t dur_us,
              bool key)
{
    if (!m->started || m->failed || idx < 0 || idx >= m->n || len > INT32_MAX) {
        return -1;
    }
    AVStream *st = m->oc->streams[idx];
    int64_t pts = av_rescale_q(pts_us, (AVRational){ 1, 1000000 }, st->time_base);
    if (m->last_pts[idx] != INT64_MIN && pts <= m->last_pts[idx]) {
        pts = m->last_pts[idx] + 1; /* Matroska needs growing times per track */
    }
    if (av_new_packet(m->pkt, (int)len) < 0) {
        return -1;
    }
    memcpy(m->pkt->data, data, len);
    m->pkt->stream_index = idx;
    m->pkt->pts = m->pkt->dts = pts;
    m->pkt->duration =
        dur_us > 0 ? av_rescale_q(dur_us, (AVRational){ 1, 1000000 }, st->time_base) : 0;
    if (key) {
        m->pkt->flags |= AV_PKT_FLAG_KEY;
    }
    m->last_pts[idx] = pts;
    int64_t end = av_rescale_q(pts + m->pkt->duration, st->time_base, (AVRational){ 1, 1000000 });
    if (end > m->end_us) {
        m->end_us = end;
    }
    int rc = av_interleaved_write_frame(m->oc, m->pkt); /* takes the packet's data */
    if (rc < 0) {
        char e[AV_ERROR_MAX_STRING_SIZE] = "";
        av_strerror(rc, e, sizeof e);
        LOG_E("mux", "write failed: recording stops", "\"file\":\"%s\",\"error\":\"%s\"",
              log_esc(m->path), log_esc(e));
        m->failed = true; /* a full disk: stop writing, still try to finish the file */
        return -1;
    }
    return 0;
}

int mux_finish(mux_t *m, int64_t *duration_us)
{
    *duration_us = m->end_us;
    if (!m->started) {
        return 0;
    }
    m->started = false;
    int rc = av_write_trailer(m->oc);
    int rc2 = avio_closep(&m->oc->pb);
    return rc < 0 || rc2 < 0 ? -1 : 0;
}

void mux_free(mux_t *m)
{
    if (!m) {
        return;
    }
    if (m->oc) {
        if (m->oc->pb) {
            avio_closep(&m->oc->pb);
        }
        avformat_free_context(m->oc);
    }
    av_packet_free(&m->pkt);
    av_free(m);
}
