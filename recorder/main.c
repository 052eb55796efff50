/* recorder/main.c: onair-recorder, one process per recording. It reads what an SFU forward
 * sends (docs/RECORDING.md) from a UDP socket on loopback (inherited as --fd from the process
 * that started it, or bound with --port) and writes one WebM/Matroska file with libavformat.
 * It ends, finishing the file, on SIGTERM/SIGINT, on the forward's RTCP BYE, or when no RTP
 * came for --idle-ms; also when its parent dies (PR_SET_PDEATHSIG). Exit 0 when the file (or
 * nothing, when no media came) was written cleanly; 1 on a write error; 2 on bad flags. */
#include "../common/cfg.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "mux.h"
#include "rec.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TICK_MS      20  /* jitter-buffer timers and keyframe requests */
#define RECV_BATCH   256 /* datagrams read per wakeup */
#define RCVBUF_BYTES (4 << 20)

typedef struct opts {
    const char *out, *id, *host;
    long fd, port, idle_ms, start_wait_ms, sync_wait_ms, jitter_ms;
} opts_t;

typedef struct io {
    int fd;
    struct sockaddr_storage peer; /* where the forward sends from: keyframe requests go there */
    socklen_t peer_len;
} io_t;

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
    stop_sig = sig;
}

static void send_back(void *ud, const uint8_t *buf, size_t len)
{
    io_t *io = ud;
    if (io->peer_len) {
        sendto(io->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&io->peer, io->peer_len);
    }
}

static int parse(opts_t *o, int argc, char **argv)
{
    const cfg_opt_t table[] = {
        { "out", NULL, CFG_STR, &o->out, NULL, "output file (.webm: VP8/Opus, .mkv: H.264)" },
        { "id", NULL, CFG_STR, &o->id, "recording", "recording id for the logs" },
        { "fd", NULL, CFG_INT, &o->fd, "-1", "an inherited, bound UDP socket to read" },
        { "host", NULL, CFG_STR, &o->host, "127.0.0.1", "address to bind without --fd" },
        { "port", NULL, CFG_INT, &o->port, "0", "UDP port to bind without --fd (0: any)" },
        { "idle-ms", "RECORDER_IDLE_MS", CFG_INT, &o->idle_ms, "20000",
          "finish when no RTP came for this long" },
        { "start-wait-ms", NULL, CFG_INT, &o->start_wait_ms, "5000",
          "longest wait for every track's first frame" },
        { "sync-wait-ms", NULL, CFG_INT, &o->sync_wait_ms, "3000",
          "longest wait for the sender reports that align audio and video" },
        { "jitter-ms", NULL, CFG_INT, &o->jitter_ms, "300",
          "how long a missing packet is waited for" },
        { 0 },
    };
    char err[2048];
    int rc = cfg_parse(table, argc, argv, err, sizeof err);
    if (rc == 0 && (!o->out || !*o->out)) {
        snprintf(err, sizeof err, "--out FILE is required");
        rc = -1;
    }
    if (rc == 0 && (o->port < 0 || o->port > 65535 || o->idle_ms < 100 || o->start_wait_ms < 0 ||
                    o->sync_wait_ms < 0 || o->jitter_ms < 1 || o->jitter_ms > 5000)) {
        snprintf(err, sizeof err,
                 "--port 0..65535, --idle-ms >= 100, --start-wait-ms/--sync-wait-ms >= 0, "
                 "--jitter-ms 1..5000");
        rc = -1;
    }
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
    }
    return rc;
}

/* The socket to read: the inherited one (checked), or a new one bound to host:port. */
static int open_socket(const opts_t *o, int *port)
{
    int fd = (int)o->fd, type = 0;
    socklen_t tl = sizeof type;
    if (fd >= 0) {
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_DGRAM) {
            LOG_E("recorder", "--fd is not a UDP socket", "\"fd\":%d", fd);
            return -1;
        }
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    } else {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
        if (inet_pton(AF_INET, o->host, &a.sin_addr) != 1) {
            LOG_E("recorder", "--host must be an IPv4 address", "\"host\":\"%s\"",
                  log_esc(o->host));
            return -1;
        }
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            LOG_E("recorder", "cannot bind", "\"port\":%ld,\"error\":\"%s\"", o->port,
                  strerror(errno));
            if (fd >= 0) {
                close(fd);
            }
            return -1;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int sz = RCVBUF_BYTES;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz); /* capped by rmem_max */
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    }
    return fd;
}

static void drain(rec_t *r, io_t *io)
{
    static uint8_t buf[8192]; /* RTP fits in 1500; the description in 4096 (forward.c) */
    for (int i = 0; i < RECV_BATCH; i++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(io->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            return; /* EAGAIN, or an ICMP error of an earlier keyframe request */
        }
        if ((size_t)n > sizeof buf - 1) {
            continue; /* larger than anything a forward sends: not ours */
        }
        memcpy(&io->peer, &from, fl);
        io->peer_len = fl;
        rec_on_datagram(r, buf, (size_t)n, clock_mono_us());
    }
}

int main(int argc, char **argv)
{
    log_set_proc("recorder");
    log_init();
    opts_t o = { 0 };
    if (parse(&o, argc, argv) != 0) {
        return 2;
    }
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* a dying parent still gets a finished file */
    signal(SIGPIPE, SIG_IGN);
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &orig);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    mux_log_setup();

    io_t io = { .fd = -1 };
    int port = 0;
    if ((io.fd = open_socket(&o, &port)) < 0) {
        return 1;
    }
    rec_cfg_t rc = { .path = o.out,
                     .id = o.id,
                     .start_wait_us = (uint64_t)o.start_wait_ms * 1000,
                     .sync_wait_us = (uint64_t)o.sync_wait_ms * 1000,
                     .idle_us = (uint64_t)o.idle_ms * 1000,
                     .jitter_us = (uint64_t)o.jitter_ms * 1000 };
    rec_t *r = rec_new(&rc, send_back, &io);
    if (!r) {
        close(io.fd);
        return 1;
    }
    LOG_I("recorder", "listening", "\"port\":%d,\"id\":\"%s\",\"file\":\"%s\",\"pid\":%d", port,
          log_esc(o.id), log_esc(o.out), (int)getpid());
    while (!stop_sig) {
        struct pollfd pfd = { .fd = io.fd, .events = POLLIN };
        struct timespec ts = { 0, TICK_MS * 1000000L };
        /* signals are blocked except inside ppoll: none is missed between the check and it */
        int n = ppoll(&pfd, 1, &ts, &orig);
        if (n > 0) {
            drain(r, &io);
        }
        if (rec_tick(r, clock_mono_us())) {
            break;
        }
    }
    if (stop_sig) {
        LOG_I("recorder", "stopping", "\"id\":\"%s\",\"signal\":%d", log_esc(o.id), (int)stop_sig);
        drain(r, &io); /* what the kernel still holds belongs to the recording */
    }
    int rc_fin = rec_finish(r);
    rec_free(r);
    close(io.fd);
    return rc_fin == 0 ? 0 : 1;
}
