/* common/log.h: JSON-lines logger with levels, one line per event on stderr:
 *   {"ts":"2026-11-25T11:00:00.123Z","level":"info","mod":"eio","msg":"session open","sid":"..."}
 * The level comes from LOG_LEVEL (error|warn|info|debug; default info) via log_init().
 * kvfmt is a printf format for the extra fields as a JSON fragment without braces, e.g.
 * "\"sid\":\"%s\",\"port\":%d"; pass NULL for none. Strings that did not come from our own
 * code must go through log_esc() so the line stays valid JSON. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern int log_level;

/* Sets the level from a name (error|warn|info|debug). Returns 0, or -1 for an unknown name. */
int log_set_level(const char *name);
/* Reads LOG_LEVEL from the environment (unknown values keep "info" and warn once). */
void log_init(void);
/* Sets the "proc" field written on every line (e.g. "signal", "sfu"); the pointer is kept. */
void log_set_proc(const char *proc);

void log_write(int level, const char *mod, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 4, 5)));

/* JSON-escapes s (without quotes) into one of 8 rotating static buffers of 512 bytes, so up to
 * 8 calls may appear in one log_write. Longer strings are cut and end in "...". NULL -> "". */
const char *log_esc(const char *s);
/* The same for s[0..n). */
const char *log_escn(const char *s, unsigned long n);

#define log_enabled(lvl) ((lvl) <= log_level)
#define LOG_E(mod, msg, ...) log_write(LOG_ERROR, mod, msg, __VA_ARGS__)
#define LOG_W(mod, msg, ...)                                                                       \
    do {                                                                                           \
        if (log_enabled(LOG_WARN))                                                                 \
            log_write(LOG_WARN, mod, msg, __VA_ARGS__);                                            \
    } while (0)
#define LOG_I(mod, msg, ...)                                                                       \
    do {                                                                                           \
        if (log_enabled(LOG_INFO))                                                                 \
            log_write(LOG_INFO, mod, msg, __VA_ARGS__);                                            \
    } while (0)
#define LOG_D(mod, msg, ...)                                                                       \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG))                                                                \
            log_write(LOG_DEBUG, mod, msg, __VA_ARGS__);                                           \
    } while (0)

#endif
