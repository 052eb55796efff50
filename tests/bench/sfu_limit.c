/* tests/bench/sfu_limit.c: the physical limit of SFU fan-out on this machine (c-deps.md 8):
 * what one forwarded packet costs a subscriber at the least, i.e. one srtp_protect with that
 * subscriber's session plus one UDP send on loopback, measured as CPU time of the sending
 * thread (CLOCK_THREAD_CPUTIME_ID). Like the SFU: one outbound session and one UDP socket per
 * subscriber, the packet copied into a scratch buffer first; a receiver thread drains every
 * destination (recvmmsg) so sends never fail for a full buffer. It polls every 2 ms rather than
 * sleeping in poll(), as sfu_load's subscribers do: a socket with a waiter would make each send
 * on loopback also pay the receiver's wake-up, which no send to a network card does. Prints one
 * JSON object of medians (of --runs runs of --secs each) on stdout. Bench tool, not a test;
 * 127.0.0.1 only. sfu_limit [--subs 64] [--runs 5] [--secs 0.5] [--big 1200] [--small 172] */
#include "../../sfu/srtpx.h"
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <srtp2/srtp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SUBS 4096
#define MAX_RUNS 15
#define BATCH    32

static int n_subs = 64, n_runs = 5, big = 1200, small = 172;
static double secs = 0.5;
static int tx_fd[MAX_SUBS], rx_fd[MAX_SUBS];
static struct sockaddr_in rx_addr[MAX_SUBS];
static atomic_int stop_rx;
static atomic_long rx_count;

static double clk(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *receiver(void *arg)
{
    static char bufs[BATCH][2048];
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    struct pollfd pf[MAX_SUBS];
    for (int i = 0; i < n_subs; i++) {
        pf[i] = (struct pollfd){ .fd = rx_fd[i], .events = POLLIN };
    }
    while (!atomic_load(&stop_rx)) {
        struct timespec nap = { 0, 2000000 };
        nanosleep(&nap, NULL);
        if (poll(pf, (nfds_t)n_subs, 0) <= 0) {
            continue;
        }
        for (int i = 0; i < n_subs; i++) {
            if (!(pf[i].revents & POLLIN)) {
                continue;
            }
            int n;
            do {
                for (int k = 0; k < BATCH; k++) {
                    iov[k] = (struct iovec){ bufs[k], sizeof bufs[k] };
                    memset(&m[k].msg_hdr, 0, sizeof m[k].msg_hdr);
                    m[k].msg_hdr.msg_iov = &iov[k];
                    m[k].msg_hdr.msg_iovlen = 1;
                }
                n = recvmmsg(rx_fd[i], m, BATCH, MSG_DONTWAIT, NULL);
                if (n > 0) {
                    atomic_fetch_add(&rx_count, n);
                }
            } while (n == BATCH);
        }
    }
    return NULL;
}

static srtp_t session(int profile, int i)
{
    uint8_t key[32];
    for (size_t k = 0; k < sizeof key; k++) {
        key[k] = (uint8_t)(i * 31 + (int)k * 7 + profile);
    }
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    if (profile == SRTPX_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
    }
    p.rtcp = p.rtp;
    p.ssrc.type = ssrc_any_outbound;
    p.key = key;
    p.window_size = 1024;
    p.allow_repeat_tx = 1; /* as the SFU's outbound sessions */
    srtp_t s = NULL;
    if (srtp_create(&s, &p) != srtp_err_status_ok) {
        fprintf(stderr, "sfu_limit: srtp_create failed\n");
        exit(1);
    }
    return s;
}

enum what {
    PROTECT = 1,
    SEND = 2
};
#define GCM SRTPX_AEAD_AES_128_GCM
#define CM  SRTPX_AES128_CM_SHA1_80

/* CPU microseconds of this thread per (packet x subscriber); median of n_runs. */
static double measure(enum what w, int profile, int size, double *loss_pct)
{
    static uint8_t pkt[1500], buf[1500 + SRTPX_SPARE];
    static srtp_t sess[MAX_SUBS];
    double v[MAX_RUNS], loss[MAX_RUNS];
    uint32_t seq = 0; /* fresh sessions: the index only moves forward, by one per packet */
    for (int i = 0; i < n_subs; i++) {
        sess[i] = session(profile, i);
    }
    for (int i = 0; i < size; i++) {
        pkt[i] = (uint8_t)(i * 13);
    }
    pkt[0] = 0x80;
    pkt[1] = 96;
    for (int r = 0; r < n_runs; r++) {
        long n = 0, sent = 0;
        atomic_store(&rx_count, 0);
        double w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_THREAD_CPUTIME_ID);
        do {
            for (int it = 0; it < 16; it++, seq++) {
                pkt[2] = (uint8_t)(seq >> 8);
                pkt[3] = (uint8_t)seq;
                for (int i = 0; i < n_subs; i++, n++) {
                    int len = size;
                    memcpy(buf, pkt, (size_t)size);
                    srtp_err_status_t e;
                    if ((w & PROTECT) && (e = srtp_protect(sess[i], buf, &len)) != 0) {
                        fprintf(stderr, "sfu_limit: srtp_protect failed: %d\n", (int)e);
                        exit(1);
                    }
                    if (w & SEND) {
                        ssize_t k = sendto(tx_fd[i], buf, (size_t)len, MSG_DONTWAIT,
                                           (struct sockaddr *)&rx_addr[i], sizeof rx_addr[i]);
                        sent += k == len;
                    }
                }
            }
        } while (clk(CLOCK_MONOTONIC) - w0 < secs);
        v[r] = (clk(CLOCK_THREAD_CPUTIME_ID) - c0) * 1e6 / (double)n;
        for (int i = 0; i < 200 && atomic_load(&rx_count) < sent; i++) {
            usleep(1000); /* let the receiver drain, bounded */
        }
        loss[r] = sent ? 100.0 * (double)(n - atomic_load(&rx_count)) / (double)n : 0;
    }
    for (int i = 0; i < n_subs; i++) {
        srtp_dealloc(sess[i]);
    }
    qsort(v, (size_t)n_runs, sizeof v[0], cmpd);
    qsort(loss, (size_t)n_runs, sizeof loss[0], cmpd);
    if (loss_pct) {
        *loss_pct = loss[n_runs / 2];
    }
    return v[n_runs / 2];
}

static int setup_sockets(void)
{
    for (int i = 0; i < n_subs; i++) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof rx_addr[i];
        int rb = 4 << 20;
        tx_fd[i] = socket(AF_INET, SOCK_DGRAM, 0);
        rx_fd[i] = socket(AF_INET, SOCK_DGRAM, 0);
        if (tx_fd[i] < 0 || rx_fd[i] < 0 || bind(tx_fd[i], (struct sockaddr *)&a, sizeof a) ||
            bind(rx_fd[i], (struct sockaddr *)&a, sizeof a) ||
            getsockname(rx_fd[i], (struct sockaddr *)&rx_addr[i], &l)) {
            perror("sfu_limit: socket");
            return -1;
        }
        setsockopt(rx_fd[i], SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = { { "subs", 1, 0, 's' },  { "runs", 1, 0, 'r' },
                                          { "secs", 1, 0, 't' },  { "big", 1, 0, 'b' },
                                          { "small", 1, 0, 'm' }, { 0, 0, 0, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            n_subs = atoi(optarg);
            break;
        case 'r':
            n_runs = atoi(optarg);
            break;
        case 't':
            secs = atof(optarg);
            break;
        case 'b':
            big = atoi(optarg);
            break;
        case 'm':
            small = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: sfu_limit [--subs N] [--runs N] [--secs S] [--big B] "
                            "[--small B]\n");
            return 2;
        }
    }
    if (n_subs < 1 || n_subs > MAX_SUBS || n_runs < 1 || n_runs > MAX_RUNS || secs <= 0 ||
        big < 16 || big > 1400 || small < 16 || small > 1400) {
        fprintf(stderr, "sfu_limit: bad arguments\n");
        return 2;
    }
    if (srtpx_global_init() != 0 || setup_sockets() != 0) {
        return 1;
    }
    pthread_t th;
    pthread_create(&th, NULL, receiver, NULL);
    double loss_big = 0, loss_small = 0;
    double copy_big = measure(0, GCM, big, NULL);
    double prot_gcm = measure(PROTECT, GCM, big, NULL);
    double prot_cm = measure(PROTECT, CM, big, NULL);
    double send_big = measure(SEND, GCM, big, NULL);
    double both_big = measure(PROTECT | SEND, GCM, big, &loss_big);
    double both_small = measure(PROTECT | SEND, GCM, small, &loss_small);
    double both_cm = measure(PROTECT | SEND, CM, big, NULL);
    atomic_store(&stop_rx, 1);
    pthread_join(th, NULL);
    printf("{\"subs\":%d,\"runs\":%d,\"secs\":%.2f,\"big\":%d,\"small\":%d,"
           "\"copy_us\":%.3f,\"protect_gcm_us\":%.3f,\"protect_cm_us\":%.3f,"
           "\"sendto_us\":%.3f,\"gcm_send_big_us\":%.3f,\"gcm_send_small_us\":%.3f,"
           "\"cm_send_big_us\":%.3f,\"rx_loss_big_pct\":%.2f,\"rx_loss_small_pct\":%.2f,"
           "\"srtp\":\"%s\"}\n",
           n_subs, n_runs, secs, big, small, copy_big, prot_gcm, prot_cm, send_big, both_big,
           both_small, both_cm, loss_big, loss_small, srtp_get_version_string());
    for (int i = 0; i < n_subs; i++) {
        close(tx_fd[i]);
        close(rx_fd[i]);
    }
    srtpx_global_deinit();
    return 0;
}
