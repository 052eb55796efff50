/* recorder/mux.h: the output file, through libavformat: WebM (VP8 + Opus, or Opus alone) or
 * Matroska (H.264 + Opus). Streams are added first, then mux_start writes the header; frames
 * go through av_interleaved_write_frame (which orders the streams by time); mux_finish writes
 * the trailer (cues, duration) so the file is complete and seekable. Only the recorder process
 * links libav*. */
#ifndef RECORDER_MUX_H
#define RECORDER_MUX_H
#include "depack.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mux mux_t;

/* Routes libav's own log lines into the JSON logger (warnings and errors). Call once. */
void mux_log_setup(void);

/* Creates the output context for path: "webm" when every codec that will be added is VP8 or
 * Opus (vp8 true or no video), else "matroska". Nothing is written yet. Returns NULL with err
 * filled. */
mux_t *mux_new(const char *path, bool webm, char *err, size_t errlen);
/* Adds an Opus stream (48 kHz, channels) or a video stream (VP8 or H.264 with Annex B
 * extradata = start code + SPS + start code + PPS). Returns the stream index or -1. */
int mux_add_opus(mux_t *m, int channels);
int mux_add_video(mux_t *m, rec_codec_t codec, int width, int height, const uint8_t *extradata,
                  size_t extradata_len);
/* Opens the file and writes the header. Returns 0 or -1 with err filled. */
int mux_start(mux_t *m, char *err, size_t errlen);
bool mux_started(const mux_t *m);
/* Writes one frame of stream idx with presentation time pts_us (microseconds since the start
 * of the recording; must grow per stream: an earlier or equal time is moved just past the last
 * one) and duration dur_us (0: unknown). Returns 0 or -1 (the frame is lost; the file goes
 * on). */
int mux_write(mux_t *m, int idx, const uint8_t *data, size_t len, int64_t pts_us, int64_t dur_us,
              bool key);
/* Writes the trailer and closes the file (when started). Returns 0 or -1. *duration_us gets
 * the largest end time written. */
int mux_finish(mux_t *m, int64_t *duration_us);
/* Frees everything (after mux_finish, or instead of it: the file is then left as it is). */
void mux_free(mux_t *m);

#endif
