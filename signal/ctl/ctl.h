/* signal/ctl/ctl.h: onairctl, the operators' command line (docs/ONAIRCTL.md), shared by its files:
 *   ctl_main.c  arguments, help, token resolution, exit codes
 *   ctl_cmds.c  the commands (rooms, room, viewers, sfus, kick, end, sfu drain, token, health,
 *               nodes, recordings, recording stop): one request each to a signal node's /api/admin/
 * API, then a table ctl_http.c  a blocking HTTP/1.1 client: one request per TCP connection
 * (Connection: close), the response parsed with llhttp ctl_fmt.c   aligned tables, durations,
 * bitrates, times A CLI may block: every call here is synchronous, bounded by the --timeout. */
#ifndef SIGNAL_CTL_CTL_H
#define SIGNAL_CTL_CTL_H
#include "../../common/buf.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (documented in docs/ONAIRCTL.md; scripts rely on them). */
enum {
    CTL_OK = 0,          /* done */
    CTL_FAIL = 1,        /* the operation failed (not found, conflict, node degraded, ...) */
    CTL_USAGE = 2,       /* bad command line */
    CTL_UNREACHABLE = 3, /* cannot reach the node, or it refused the credentials (401/403) */
};

/* ---- ctl_http.c ---- */
typedef struct ctl_url {
    char host[256]; /* name or address (IPv6 without brackets) */
    char port[8];
    char base[256]; /* path prefix without a trailing '/', "" for none */
    char text[600]; /* scheme://host:port[base], for messages */
} ctl_url_t;

/* Parses "http://host[:port][/base]" (port 80 by default; "[v6]" literals). Returns 0, or -1
 * with a message in err. */
int ctl_url_parse(const char *url, ctl_url_t *out, char *err, size_t errlen);

typedef struct ctl_resp {
    int status;
    buf_t body; /* owned, NUL-terminated */
} ctl_resp_t;

/* Sends method path (appended to the URL's base) with an optional bearer token and JSON body,
 * and reads the whole response (bodies over 8 MiB are refused). Returns 0 with *resp filled
 * (the caller deinits it), or -1 with a message in err: cannot resolve, cannot connect, no
 * answer within timeout_ms, or a malformed answer. */
int ctl_http(const ctl_url_t *u, const char *method, const char *path, const char *token,
             const char *body, int timeout_ms, ctl_resp_t *resp, char *err, size_t errlen);
void ctl_resp_deinit(ctl_resp_t *r);

/* ---- ctl_fmt.c ---- */
typedef struct ctl_table ctl_table_t;
/* A table with ncols columns and the given header texts (copied). */
ctl_table_t *ctl_table_new(size_t ncols, const char *const *headers);
/* Adds a row of ncols cells (copied; NULL prints "-"). Control characters are shown as '?'. */
void ctl_table_row(ctl_table_t *t, const char *const *cells);
/* Prints the header and rows with columns sized to their widest cell (in code points), two
 * spaces apart; no padding after a row's last non-empty cell. */
void ctl_table_print(const ctl_table_t *t, FILE *out);
void ctl_table_free(ctl_table_t *t);
size_t ctl_table_rows(const ctl_table_t *t);

/* "45s", "3m12s", "2h05m", "3d04h" (ms < 0 counts as 0). */
void ctl_fmt_duration(int64_t ms, char *out, size_t cap);
/* "800 bit/s", "12.5 kbit/s", "1.50 Mbit/s". */
void ctl_fmt_bitrate(double bps, char *out, size_t cap);
/* "512 B", "12.3 KiB", "4.50 MiB", "1.20 GiB" (bytes < 0 counts as 0). */
void ctl_fmt_size(int64_t bytes, char *out, size_t cap);
/* Local time "YYYY-MM-DD HH:MM:SS" of ms since the epoch. */
void ctl_fmt_time(int64_t ms, char *out, size_t cap);
/* Shortens s to at most max code points (with "..." at the end) into out. */
void ctl_fmt_clip(const char *s, size_t max, char *out, size_t cap);
/* Parses a lifetime: N (seconds) or N followed by s, m, h or d. Returns 0 with *out_s > 0, or
 * -1 (empty, zero, negative, garbage, over 10 years). */
int ctl_parse_ttl(const char *s, int64_t *out_s);

/* ---- ctl_cmds.c ---- */
typedef struct ctl {
    /* global options */
    ctl_url_t url;
    const char *token; /* --token / ONAIR_TOKEN, else minted (then owned by minted) */
    char *minted;
    bool json;
    int timeout_ms;
    /* positional arguments after the command name */
    char **args;
    int nargs;
    /* command options */
    const char *sub, *name, *role, *ttl, *rooms;
    bool off;
} ctl_t;

typedef int (*ctl_run_cb)(ctl_t *c);

/* Command options (a bit per option a command accepts). */
enum {
    CTL_O_SUB = 1 << 0,
    CTL_O_NAME = 1 << 1,
    CTL_O_ROLE = 1 << 2,
    CTL_O_TTL = 1 << 3,
    CTL_O_ROOMS = 1 << 4,
    CTL_O_OFF = 1 << 5,
};

typedef struct ctl_cmd {
    const char *name;
    const char *synopsis; /* arguments and options, for the usage line */
    const char *summary;  /* one line */
    const char *help;     /* details and examples */
    int min_args, max_args;
    unsigned opts;  /* CTL_O_* */
    bool api;       /* talks to the admin API (needs a token) */
    ctl_run_cb run; /* returns an exit code */
} ctl_cmd_t;

/* The command table, ended by a zeroed entry. */
extern const ctl_cmd_t ctl_cmds[];

/* Requests method path and checks the answer: returns CTL_OK with *out (the parsed JSON body,
 * caller decrefs), or an exit code after printing the error on stderr (unreachable, refused,
 * failed with the node's message). */
int ctl_call(ctl_t *c, const char *method, const char *path, const char *body, json_t **out);
/* Prints msg (printf-style) on stderr prefixed "onairctl: " and returns code. */
int ctl_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Mints a token with JWT_SECRET (or JWT_PRIVATE_KEY) into *out (caller frees). Returns 0, or -1
 * with a message in err. rooms: comma-separated list or NULL for no claim ("" = no room). */
int ctl_mint(const char *sub, const char *name, bool admin, int64_t ttl_s, const char *rooms,
             char **out, char *err, size_t errlen);

#endif
