/* common/cfg.c: see cfg.h. */
#include "cfg.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cfg_parse_value(cfg_type_t type, const char *text, void *ptr)
{
    char *end;
    switch (type) {
    case CFG_STR:
        *(const char **)ptr = text;
        return 0;
    case CFG_BOOL:
        if (!strcmp(text, "1") || !strcasecmp(text, "true") || !strcasecmp(text, "yes") ||
            !strcasecmp(text, "on")) {
            *(int *)ptr = 1;
        } else if (!strcmp(text, "0") || !strcasecmp(text, "false") || !strcasecmp(text, "no") ||
                   !strcasecmp(text, "off") || !*text) {
            *(int *)ptr = 0;
        } else {
            return -1;
        }
        return 0;
    case CFG_INT: {
        errno = 0;
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end) {
            return -1;
        }
        *(long *)ptr = v;
        return 0;
    }
    case CFG_SIZE: {
        errno = 0;
        double v = strtod(text, &end);
        if (errno || end == text || v < 0) {
            return -1;
        }
        if (*end == 'k' || *end == 'K') {
            v *= 1024, end++;
        } else if (*end == 'm' || *end == 'M') {
            v *= 1024 * 1024, end++;
        }
        if (*end || v > 1e15) {
            return -1;
        }
        *(size_t *)ptr = (size_t)v;
        return 0;
    }
    }
    return -1;
}

static void usage(const cfg_opt_t *opts, const char *prog, char *err, size_t errlen)
{
    size_t o = (size_t)snprintf(err, errlen, "usage: %s [options]\n", prog);
    for (const cfg_opt_t *op = opts; (op->flag || op->env) && o < errlen; op++) {
        o += (size_t)snprintf(err + o, errlen - o, "  %s%-22s %-22s %s%s%s%s\n",
                              op->flag ? "--" : "  ", op->flag ? op->flag : "",
                              op->env ? op->env : "", op->help ? op->help : "",
                              op->def ? " (default " : "", op->def ? op->def : "",
                              op->def ? ")" : "");
    }
}

int cfg_parse(const cfg_opt_t *opts, int argc, char **argv, char *err, size_t errlen)
{
    const cfg_opt_t *op;
    err[0] = 0;
    for (op = opts; op->flag || op->env; op++) {
        if (op->def && cfg_parse_value(op->type, op->def, op->ptr) != 0) {
            snprintf(err, errlen, "bad default for %s", op->flag ? op->flag : op->env);
            return -1;
        }
    }
    for (op = opts; op->flag || op->env; op++) {
        const char *v = op->env ? getenv(op->env) : NULL;
        if (v && *v && cfg_parse_value(op->type, v, op->ptr) != 0) {
            snprintf(err, errlen, "invalid value for %s: '%s'", op->env, v);
            return -1;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(opts, argv[0], err, errlen);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        for (op = opts; op->flag || op->env; op++) {
            if (op->flag && strlen(op->flag) == nlen && !strncmp(op->flag, a, nlen)) {
                break;
            }
        }
        if (!op->flag && !op->env) {
            snprintf(err, errlen, "unknown option '--%.*s' (see --help)", (int)nlen, a);
            return -1;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val && op->type == CFG_BOOL) {
            val = "1";
        } else if (!val) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option '--%s' needs a value", op->flag);
                return -1;
            }
            val = argv[++i];
        }
        if (cfg_parse_value(op->type, val, op->ptr) != 0) {
            snprintf(err, errlen, "invalid value for --%s: '%s'", op->flag, val);
            return -1;
        }
    }
    return 0;
}
