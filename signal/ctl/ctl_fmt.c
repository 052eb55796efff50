/* signal/ctl/ctl_fmt.c: onairctl's output helpers (see ctl.h): tables aligned to their content,
 * human-readable durations, bitrates and times, and the --ttl parser. */
#include "../../common/xalloc.h"
#include "ctl.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ctl_table {
    size_t ncols, nrows; /* rows include the header */
    char **cells;        /* row-major, owned */
};

/* Display width in code points (UTF-8 continuation bytes do not count). */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++) {
        w += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return w;
}

static char *clean_copy(const char *s)
{
    char *c = xstrdup(s ? s : "-");
    for (char *p = c; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
    return c;
}

ctl_table_t *ctl_table_new(size_t ncols, const char *const *headers)
{
    ctl_table_t *t = xcalloc(1, sizeof(*t));
    t->ncols = ncols;
    ctl_table_row(t, headers);
    return t;
}

void ctl_table_row(ctl_table_t *t, const char *const *cells)
{
    t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*t->cells));
    for (size_t i = 0; i < t->ncols; i++) {
        t->cells[t->nrows * t->ncols + i] = clean_copy(cells[i]);
    }
    t->nrows++;
}

size_t ctl_table_rows(const ctl_table_t *t)
{
    return t->nrows - 1;
}

void ctl_table_print(const ctl_table_t *t, FILE *out)
{
    size_t *w = xcalloc(t->ncols, sizeof(*w));
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t i = 0; i < t->ncols; i++) {
            size_t cw = width(t->cells[r * t->ncols + i]);
            w[i] = cw > w[i] ? cw : w[i];
        }
    }
    for (size_t r = 0; r < t->nrows; r++) {
        size_t last = t->ncols; /* no padding after the last non-empty cell */
        while (last > 1 && !*t->cells[r * t->ncols + last - 1]) {
            last--;
        }
        for (size_t i = 0; i < last; i++) {
            const char *c = t->cells[r * t->ncols + i];
            fputs(c, out);
            if (i + 1 < last) {
                fprintf(out, "%*s", (int)(w[i] - width(c) + 2), "");
            }
        }
        fputc('\n', out);
    }
    free(w);
}

void ctl_table_free(ctl_table_t *t)
{
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->nrows * t->ncols; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
    free(t);
}

void ctl_fmt_duration(int64_t ms, char *out, size_t cap)
{
    int64_t s = ms < 0 ? 0 : ms / 1000;
    if (s < 60) {
        snprintf(out, cap, "%llds", (long long)s);
    } else if (s < 3600) {
        snprintf(out, cap, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    } else if (s < 86400) {
        snprintf(out, cap, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    } else {
        snprintf(out, cap, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    }
}

void ctl_fmt_bitrate(double bps, char *out, size_t cap)
{
    if (bps < 1000) {
        snprintf(out, cap, "%.0f bit/s", bps < 0 ? 0 : bps);
    } else if (bps < 1e6) {
        snprintf(out, cap, "%.1f kbit/s", bps / 1e3);
    } else {
        snprintf(out, cap, "%.2f Mbit/s", bps / 1e6);
    }
}

void ctl_fmt_size(int64_t bytes, char *out, size_t cap)
{
    double b = bytes < 0 ? 0 : (double)bytes;
    if (b < 1024) {
        snprintf(out, cap, "%.0f B", b);
    } else if (b < 1024 * 1024) {
        snprintf(out, cap, "%.1f KiB", b / 1024);
    } else if (b < 1024.0 * 1024 * 1024) {
        snprintf(out, cap, "%.2f MiB", b / (1024 * 1024));
    } else {
        snprintf(out, cap, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    }
}

void ctl_fmt_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm)) {
        snprintf(out, cap, "%lld", (long long)ms);
    }
}

void ctl_fmt_clip(const char *s, size_t max, char *out, size_t cap)
{
    if (width(s) <= max) {
        snprintf(out, cap, "%s", s);
        return;
    }
    /* keep max - 3 code points, then "..." */
    size_t n = 0, i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && n++ == max - 3) {
            break;
        }
    }
    snprintf(out, cap, "%.*s...", (int)i, s);
}

int ctl_parse_ttl(const char *s, int64_t *out_s)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') {
        return -1;
    }
    long long v = strtoll(s, &end, 10);
    if (end == s || v <= 0 || v == LLONG_MAX) {
        return -1;
    }
    int64_t mult = 1;
    if (*end) {
        if (end[1]) {
            return -1;
        }
        switch (*end) {
        case 's':
            mult = 1;
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = 86400;
            break;
        default:
            return -1;
        }
    }
    const int64_t max = 10LL * 366 * 86400;
    if (v > max / mult) {
        return -1;
    }
    *out_s = v * mult;
    return 0;
}
