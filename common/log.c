/* common/log.c: see log.h. One write(2) per line so lines from several processes sharing a
 * stderr never interleave mid-line. */
#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_level = LOG_INFO;
static const char *proc_name;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

int log_set_level(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            log_level = i;
            return 0;
        }
    }
    return -1;
}

void log_init(void)
{
    const char *v = getenv("LOG_LEVEL");
    if (v && *v && log_set_level(v) != 0) {
        log_write(LOG_WARN, "log", "unknown LOG_LEVEL, using info", "\"value\":\"%s\"", log_esc(v));
    }
}

void log_set_proc(const char *proc)
{
    proc_name = proc;
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629 / Unicode table 3-7: no
 * overlongs, surrogates or code points past U+10FFFF), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, unsigned long n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
    }
    return len;
}

const char *log_escn(const char *s, unsigned long n)
{
    static char bufs[8][512];
    static unsigned next;
    char *out = bufs[next++ & 7];
    size_t o = 0;
    if (!s) {
        out[0] = 0;
        return out;
    }
    /* the line must stay valid JSON, so valid UTF-8: a byte that does not start a well-formed
     * sequence becomes U+FFFD, and a cut never splits a character */
    for (unsigned long i = 0; i < n;) {
        const unsigned char *c = (const unsigned char *)s + i;
        size_t len = *c < 0x80 ? 1 : utf8_seq(c, n - i);
        if (o > sizeof(bufs[0]) - 10) {
            memcpy(out + o, "...", 4);
            return out;
        }
        if (*c == '"' || *c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*c;
        } else if (*c < 0x20 || *c == 0x7f) {
            o += (size_t)snprintf(out + o, 7, "\\u%04x", *c);
        } else if (len == 0) {
            memcpy(out + o, "\\ufffd", 6);
            o += 6;
            len = 1;
        } else {
            memcpy(out + o, c, len);
            o += len;
        }
        i += len;
    }
    out[o] = 0;
    return out;
}

const char *log_esc(const char *s)
{
    return log_escn(s, s ? strlen(s) : 0);
}

void log_write(int level, const char *mod, const char *msg, const char *kvfmt, ...)
{
    if (level > log_level) {
        return;
    }
    char line[4096];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\"%s%s%s,"
                     "\"mod\":\"%s\",\"msg\":\"%s\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)(tv.tv_usec / 1000), level_names[level], proc_name ? ",\"proc\":\"" : "",
                     proc_name ? proc_name : "", proc_name ? "\"" : "", mod, msg);
    if (kvfmt && *kvfmt && n > 0 && (size_t)n < sizeof(line) - 3) {
        line[n++] = ',';
        va_list ap;
        va_start(ap, kvfmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 2, kvfmt, ap);
        va_end(ap);
        if (m > 0) {
            n += m;
        }
        if ((size_t)n > sizeof(line) - 3) {
            n = (int)sizeof(line) - 3; /* cut: still one line, maybe not valid JSON */
        }
    }
    line[n++] = '}';
    line[n++] = '\n';
    ssize_t w = write(2, line, (size_t)n);
    (void)w;
}
