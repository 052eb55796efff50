/* signal/prom.h: writing the Prometheus text exposition format (version 0.0.4) for /metrics.
 * The application owns its counters; these helpers only print them. */
#ifndef SIGNAL_PROM_H
#define SIGNAL_PROM_H
#include "../common/buf.h"
#include <stdint.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Writes "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram). */
void prom_family(buf_t *b, const char *name, const char *type, const char *help);
/* Writes one sample: name{labels} value. labels is the text inside the braces, already
 * escaped (use prom_label), or NULL/"" for none. */
void prom_sample(buf_t *b, const char *name, const char *labels, double value);
/* Writes key="value" into out (size n) with value escaped as the format requires (\\, \", \n).
 * Returns out. */
const char *prom_label(char *out, size_t n, const char *key, const char *value);

#endif
