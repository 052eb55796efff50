/* signal/prom.c: see prom.h. */
#include "prom.h"
#include <math.h>
#include <stdio.h>

void prom_family(buf_t *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample(buf_t *b, const char *name, const char *labels, double value)
{
    const char *open = labels && *labels ? "{" : "", *close = labels && *labels ? "}" : "";
    if (isinf(value)) {
        buf_printf(b, "%s%s%s%s %s\n", name, open, labels ? labels : "", close,
                   value > 0 ? "+Inf" : "-Inf");
    } else if (value == (double)(int64_t)value && fabs(value) < 9e15) {
        buf_printf(b, "%s%s%s%s %lld\n", name, open, labels ? labels : "", close,
                   (long long)value);
    } else {
        buf_printf(b, "%s%s%s%s %.6g\n", name, open, labels ? labels : "", close, value);
    }
}

const char *prom_label(char *out, size_t n, const char *key, const char *value)
{
    size_t o = (size_t)snprintf(out, n, "%s=\"", key);
    for (const char *p = value; *p && o + 4 < n; p++) {
        if (*p == '\\' || *p == '"') {
            out[o++] = '\\';
            out[o++] = *p;
        } else if (*p == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *p;
        }
    }
    if (o + 2 <= n) {
        out[o++] = '"';
        out[o] = 0;
    } else if (n) {
        out[n - 1] = 0;
    }
    return out;
}
