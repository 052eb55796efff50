/* recorder/rec.h: one recording session. Datagrams from the SFU's forward (docs/RECORDING.md:
 * the SDP description, plain RTP, RTCP sender reports and BYE) come in through rec_on_datagram;
 * rec_tick, called every few milliseconds, turns complete frames into file writes, asks for key
 * frames, decides when the file starts and notices the end of the input.
 *
 * Timing: every track maps its RTP timestamps to one clock. Before the file starts, each track
 * estimates "arrival time minus media time" (the least delayed packet wins); when every track
 * also has a sender report, the reports' NTP times align the tracks exactly (RFC 3550 6.4.1),
 * otherwise the arrival estimates do. The file starts once every described track has its first
 * frame (video: a key frame, with its size and, for H.264, its SPS/PPS) and a sender report
 * (waited for up to sync_wait; the SFU passes on the last ones at once, so only a young stream
 * makes this wait), or after start_wait with the tracks that have a frame; frames that came
 * earlier wait in a bounded queue. A new SSRC
 * (the publisher came back) maps its timestamps afresh from its arrival times. */
#ifndef RECORDER_REC_H
#define RECORDER_REC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct rec_cfg {
    const char *path;       /* output file */
    const char *id;         /* recording id, for the logs */
    uint64_t start_wait_us; /* longest wait for every track's first frame */
    uint64_t sync_wait_us;  /* longest wait for every track's sender report (exact A/V sync) */
    uint64_t idle_us;       /* no RTP for this long: the input has ended */
    uint64_t jitter_us;     /* how long a hole in the sequence numbers may stay open */
} rec_cfg_t;

typedef struct rec rec_t;

/* A send function for keyframe requests (RTCP to the forward's address). */
typedef void (*rec_send_fn)(void *ud, const uint8_t *buf, size_t len);

rec_t *rec_new(const rec_cfg_t *cfg, rec_send_fn send, void *ud);
/* One datagram received at now_us (monotonic). */
void rec_on_datagram(rec_t *r, const uint8_t *buf, size_t len, uint64_t now_us);
/* Periodic work. Returns true when the recording is over: the input has ended (RTCP BYE from
 * the forward, or idle) or the file cannot be written. */
bool rec_tick(rec_t *r, uint64_t now_us);
/* Writes what is complete, finishes the file (trailer) and logs a summary. Returns 0, or -1
 * when the file could not be written. */
int rec_finish(rec_t *r);
void rec_free(rec_t *r);

#endif
