/* common/cfg.h: configuration from the environment and command-line flags; flags win.
 * A program declares a table of options pointing at its own config struct's fields:
 *
 *   static cfg_opt_t opts[] = {
 *       { "port", "PORT", CFG_INT, &c.port, "3000", "HTTP port" },
 *       { "redis-url", "REDIS_URL", CFG_STR, &c.redis_url, NULL, "Redis URL (unset: memory)" },
 *       { 0 } };
 *   if (cfg_parse(opts, argc, argv, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); exit(2); }
 *
 * Flags are "--name value" or "--name=value"; a CFG_BOOL flag alone means true. Defaults are
 * applied first, then the environment, then flags. CFG_STR values point into argv, environ or
 * the default string (never freed). "--help" fills err with the usage and returns 1. */
#ifndef COMMON_CFG_H
#define COMMON_CFG_H
#include <stddef.h>

typedef enum { CFG_INT, CFG_STR, CFG_BOOL, CFG_SIZE } cfg_type_t;

typedef struct cfg_opt {
    const char *flag; /* without the leading "--"; NULL: environment only */
    const char *env;  /* NULL: flag only */
    cfg_type_t type;
    void *ptr;         /* long * (CFG_INT), const char ** (CFG_STR), int * (CFG_BOOL),
                          size_t * (CFG_SIZE: accepts 1e6, 64k, 1m) */
    const char *def;   /* default as text; NULL leaves *ptr untouched (0 / NULL) */
    const char *help;
} cfg_opt_t;

/* Returns 0; 1 after --help (usage in err); -1 on an error described in err. Positional
 * arguments are refused. */
int cfg_parse(const cfg_opt_t *opts, int argc, char **argv, char *err, size_t errlen);

/* Parses one value of the given type into ptr. Returns 0 or -1. */
int cfg_parse_value(cfg_type_t type, const char *text, void *ptr);

#endif
