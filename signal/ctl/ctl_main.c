/* signal/ctl/ctl_main.c: onairctl's entry point: the command line (global and command options
 * anywhere, "--" ends options), help for every command, the token (--token, ONAIR_TOKEN, or one
 * minted with JWT_SECRET), the request helper and the exit codes of ctl.h. */
#include "../../common/clock.h"
#include "../../common/xalloc.h"
#include "../auth.h"
#include "ctl.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_URL        "http://127.0.0.1:3000"
#define DEFAULT_TIMEOUT_MS 10000
#define SELF_TOKEN_TTL_S   300
/* Connection (viewer) ids may begin with '-': say how to pass them. */
#define DASH_HINT \
    "\n  an id that begins with '-' goes after \"--\", e.g. onairctl kick ROOM -- -xYz"

int ctl_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("onairctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* ---- help ------------------------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fputs("usage: onairctl [--url URL] [--token JWT] [--json] [--timeout T] COMMAND [ARGS]\n"
          "\n"
          "Operate an onair deployment through a signal node's admin API.\n"
          "\n"
          "Commands:\n",
          out);
    for (const ctl_cmd_t *c = ctl_cmds; c->name; c++) {
        char head[160];
        snprintf(head, sizeof head, "%s %s", c->name, c->synopsis);
        if (strlen(head) > 22) {
            fprintf(out, "  %s\n  %-22s %s\n", head, "", c->summary);
        } else {
            fprintf(out, "  %-22s %s\n", head, c->summary);
        }
    }
    fputs("  help [COMMAND]         this text, or a command's details\n"
          "\n"
          "Global options (anywhere on the line):\n"
          "  --url URL      the signal node (env ONAIR_URL; default " DEFAULT_URL ")\n"
          "  --token JWT    an admin token (env ONAIR_TOKEN); without one, onairctl mints a\n"
          "                 5-minute admin token itself when JWT_SECRET is set\n"
          "  --json         print the node's JSON answer as is (for scripts)\n"
          "  --timeout T    give up after T: seconds, or Ns/Nm (default 10s)\n"
          "  -h, --help     help; also `onairctl help COMMAND`, `onairctl COMMAND --help`\n"
          "  --             end of options (for ids that begin with '-')\n"
          "\n"
          "Exit codes: 0 ok; 1 the operation failed (e.g. no such room); 2 usage error;\n"
          "3 the node cannot be reached, or it refused the token (401/403).\n",
          out);
}

static void command_help(const ctl_cmd_t *c, FILE *out)
{
    fprintf(out, "usage: onairctl %s %s\n\n%c%s.\n", c->name, c->synopsis,
            toupper((unsigned char)c->summary[0]), c->summary + 1);
    if (c->help && *c->help) {
        fprintf(out, "\n%s", c->help);
    }
    fputs("\nGlobal options: --url, --token, --json, --timeout (see onairctl --help).\n", out);
}

static const ctl_cmd_t *find_cmd(const char *name)
{
    for (const ctl_cmd_t *c = ctl_cmds; c->name; c++) {
        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

/* ---- requests -------------------------------------------------------------------------------- */

int ctl_call(ctl_t *c, const char *method, const char *path, const char *body, json_t **out)
{
    ctl_resp_t r;
    char err[1024];
    *out = NULL;
    if (ctl_http(&c->url, method, path, c->token, body, c->timeout_ms, &r, err, sizeof err) != 0) {
        ctl_resp_deinit(&r);
        return ctl_error(CTL_UNREACHABLE, "%s", err);
    }
    json_t *j = r.body.len
                    ? json_loadb((const char *)r.body.data, r.body.len, JSON_DECODE_ANY, NULL)
                    : NULL;
    const char *msg = json_string_value(json_object_get(j, "error"));
    int rc = CTL_OK;
    if (r.status == 401 || r.status == 403) {
        rc = ctl_error(CTL_UNREACHABLE, "%s refused the request (HTTP %d): %s%s", c->url.text,
                       r.status, msg ? msg : "unauthorized",
                       c->token ? ""
                                : "\n  no token: pass --token, set ONAIR_TOKEN, or set "
                                  "JWT_SECRET so that onairctl mints one");
    } else if (r.status < 200 || r.status > 299) {
        if (msg) {
            rc = r.status >= 500 ? ctl_error(CTL_FAIL, "%s (HTTP %d)", msg, r.status)
                                 : ctl_error(CTL_FAIL, "%s", msg);
        } else {
            rc = ctl_error(CTL_FAIL, "%s: HTTP %d%s", c->url.text, r.status,
                           r.status == 404 ? " (is this node running the livestream app?)" : "");
        }
    } else if (!j) {
        rc = ctl_error(CTL_FAIL, "%s: the answer is not JSON", c->url.text);
    }
    if (rc == CTL_OK) {
        *out = j;
    } else {
        json_decref(j);
    }
    ctl_resp_deinit(&r);
    return rc;
}

/* ---- tokens ---------------------------------------------------------------------------------- */

int ctl_mint(const char *sub, const char *name, bool admin, int64_t ttl_s, const char *rooms,
             char **out, char *err, size_t errlen)
{
    const char *secret = getenv("JWT_SECRET"), *key = getenv("JWT_PRIVATE_KEY");
    secret = secret && *secret ? secret : NULL;
    key = key && *key ? key : NULL;
    if (!secret && !key) {
        snprintf(err, errlen,
                 "JWT_SECRET is not set: onairctl mints tokens with the secret "
                 "the nodes verify (or JWT_PRIVATE_KEY for RS256/ES256)");
        return -1;
    }
    if (!sub || !*sub || strlen(sub) > AUTH_MAX_CLAIM || (name && strlen(name) > AUTH_MAX_CLAIM)) {
        snprintf(err, errlen, "--sub must be 1-%d bytes (and --name at most that)", AUTH_MAX_CLAIM);
        return -1;
    }
    char *list = rooms ? xstrdup(rooms) : NULL, *save = NULL;
    const char **ids = xcalloc(AUTH_MAX_ROOMS + 1, sizeof(*ids));
    size_t n = 0;
    int rc = 0;
    for (char *t = list ? strtok_r(list, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
        t += strspn(t, " ");
        for (size_t e = strlen(t); e > 0 && t[e - 1] == ' '; e--) {
            t[e - 1] = 0;
        }
        if (!*t) {
            continue;
        }
        size_t len = strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
        if (t[len] || len > 64 || n == AUTH_MAX_ROOMS) {
            snprintf(err, errlen, "--rooms: '%.80s' is not a room id (A-Z a-z 0-9 _ -, 1-64)", t);
            rc = -1;
            break;
        }
        ids[n++] = t;
    }
    if (rc == 0) {
        auth_mint_t m = { .secret = secret,
                          .private_key = secret ? NULL : key,
                          .sub = sub,
                          .name = name,
                          .role = admin ? AUTH_ADMIN : AUTH_VIEWER,
                          .rooms = ids,
                          .nrooms = n,
                          .has_rooms = rooms != NULL,
                          .now_s = clock_wall_ms() / 1000,
                          .ttl_s = ttl_s };
        const char *why = NULL;
        *out = auth_mint(&m, &why);
        if (!*out) {
            snprintf(err, errlen, "cannot mint a token: %s", why ? why : "unknown error");
            rc = -1;
        }
    }
    free(ids);
    free(list);
    return rc;
}

/* ---- command line ---------------------------------------------------------------------------- */

typedef struct opt_def {
    const char *name;
    unsigned bit; /* CTL_O_* for command options, 0 for global ones */
    bool value;
} opt_def_t;

static const opt_def_t opt_defs[] = {
    { "url", 0, true },           { "token", 0, true },
    { "timeout", 0, true },       { "json", 0, false },
    { "help", 0, false },         { "sub", CTL_O_SUB, true },
    { "name", CTL_O_NAME, true }, { "role", CTL_O_ROLE, true },
    { "ttl", CTL_O_TTL, true },   { "rooms", CTL_O_ROOMS, true },
    { "off", CTL_O_OFF, false },  { NULL, 0, false },
};

typedef struct cmdline {
    const char *cmd;
    char **pos;
    int npos;
    unsigned seen;            /* command options given */
    const char *first_opt[8]; /* the spelling of each, by bit index, for messages */
    const char *url, *token, *timeout;
    bool help;
} cmdline_t;

static void set_opt(ctl_t *c, cmdline_t *cl, const opt_def_t *d, const char *v)
{
    if (!strcmp(d->name, "url")) {
        cl->url = v;
    } else if (!strcmp(d->name, "token")) {
        cl->token = v;
    } else if (!strcmp(d->name, "timeout")) {
        cl->timeout = v;
    } else if (!strcmp(d->name, "json")) {
        c->json = true;
    } else if (!strcmp(d->name, "help")) {
        cl->help = true;
    } else if (!strcmp(d->name, "sub")) {
        c->sub = v;
    } else if (!strcmp(d->name, "name")) {
        c->name = v;
    } else if (!strcmp(d->name, "role")) {
        c->role = v;
    } else if (!strcmp(d->name, "ttl")) {
        c->ttl = v;
    } else if (!strcmp(d->name, "rooms")) {
        c->rooms = v;
    } else if (!strcmp(d->name, "off")) {
        c->off = true;
    }
}

/* Splits argv into options and positionals. Returns 0, or CTL_USAGE after printing why. */
static int parse_args(int argc, char **argv, ctl_t *c, cmdline_t *cl)
{
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (opts_done || a[0] != '-' || !a[1]) {
            if (!cl->cmd) {
                cl->cmd = a;
            } else {
                cl->pos[cl->npos++] = a;
            }
            continue;
        }
        if (!strcmp(a, "--")) {
            opts_done = true;
            continue;
        }
        if (!strcmp(a, "-h")) {
            cl->help = true;
            continue;
        }
        if (a[1] != '-') {
            return ctl_error(CTL_USAGE, "unknown option %s (see onairctl --help)%s", a, DASH_HINT);
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const opt_def_t *d = opt_defs;
        while (d->name && (strlen(d->name) != nl || strncmp(d->name, name, nl) != 0)) {
            d++;
        }
        if (!d->name) {
            return ctl_error(CTL_USAGE, "unknown option --%.*s (see onairctl --help)%s", (int)nl,
                             name, DASH_HINT);
        }
        const char *v = NULL;
        if (d->value) {
            v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!v) {
                return ctl_error(CTL_USAGE, "option --%s needs a value", d->name);
            }
        } else if (eq) {
            return ctl_error(CTL_USAGE, "option --%s takes no value", d->name);
        }
        if (d->bit) {
            cl->seen |= d->bit;
            cl->first_opt[__builtin_ctz(d->bit)] = d->name;
        }
        set_opt(c, cl, d, v);
    }
    return 0;
}

/* Checks the command's options and argument count. Returns 0 or CTL_USAGE. */
static int check_cmd(const ctl_cmd_t *cmd, const cmdline_t *cl)
{
    unsigned extra = cl->seen & ~cmd->opts;
    if (extra) {
        return ctl_error(CTL_USAGE, "%s: option --%s does not apply (see onairctl %s --help)",
                         cmd->name, cl->first_opt[__builtin_ctz(extra)], cmd->name);
    }
    if (cl->npos < cmd->min_args || cl->npos > cmd->max_args) {
        return ctl_error(CTL_USAGE, "%s: %s\nusage: onairctl %s %s", cmd->name,
                         cl->npos < cmd->min_args ? "missing argument" : "too many arguments",
                         cmd->name, cmd->synopsis);
    }
    return 0;
}

static int setup(ctl_t *c, const cmdline_t *cl, const ctl_cmd_t *cmd)
{
    char err[512];
    const char *url = cl->url ? cl->url : getenv("ONAIR_URL");
    if (ctl_url_parse(url && *url ? url : DEFAULT_URL, &c->url, err, sizeof err) != 0) {
        return ctl_error(CTL_USAGE, "--url %s", err);
    }
    c->timeout_ms = DEFAULT_TIMEOUT_MS;
    if (cl->timeout) {
        int64_t s = 0;
        if (ctl_parse_ttl(cl->timeout, &s) != 0 || s > 3600) {
            return ctl_error(CTL_USAGE, "--timeout: '%s' is not a duration of 1s-1h (e.g. 30, 5s)",
                             cl->timeout);
        }
        c->timeout_ms = (int)s * 1000;
    }
    const char *tok = cl->token ? cl->token : getenv("ONAIR_TOKEN");
    c->token = tok && *tok ? tok : NULL;
    if (cmd->api && !c->token && getenv("JWT_SECRET") && *getenv("JWT_SECRET")) {
        if (ctl_mint("onairctl", "onairctl", true, SELF_TOKEN_TTL_S, NULL, &c->minted, err,
                     sizeof err) != 0) {
            return ctl_error(CTL_FAIL, "%s", err);
        }
        c->token = c->minted;
    }
    return 0;
}

int main(int argc, char **argv)
{
    ctl_t c;
    cmdline_t cl;
    memset(&c, 0, sizeof c);
    memset(&cl, 0, sizeof cl);
    cl.pos = xcalloc((size_t)argc + 1, sizeof(*cl.pos));
    int rc = parse_args(argc, argv, &c, &cl);
    const ctl_cmd_t *cmd = NULL;
    if (rc != 0) {
        goto out;
    }
    if (!cl.cmd || !strcmp(cl.cmd, "help")) {
        const char *topic = cl.cmd && cl.npos ? cl.pos[0] : NULL;
        if (topic && !(cmd = find_cmd(topic))) {
            rc = ctl_error(CTL_USAGE, "unknown command '%s' (see onairctl --help)", topic);
        } else if (cmd) {
            command_help(cmd, stdout);
        } else {
            usage(cl.cmd || cl.help ? stdout : stderr);
            rc = cl.cmd || cl.help ? CTL_OK : CTL_USAGE;
        }
        goto out;
    }
    cmd = find_cmd(cl.cmd);
    if (!cmd) {
        rc = ctl_error(CTL_USAGE, "unknown command '%s' (see onairctl --help)", cl.cmd);
        goto out;
    }
    if (cl.help) {
        command_help(cmd, stdout);
        goto out;
    }
    if ((rc = check_cmd(cmd, &cl)) != 0 || (rc = setup(&c, &cl, cmd)) != 0) {
        goto out;
    }
    c.args = cl.pos;
    c.nargs = cl.npos;
    rc = cmd->run(&c);
out:
    free(c.minted);
    free(cl.pos);
    return rc;
}
