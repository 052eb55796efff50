/* signal/ctl/ctl_cmds.c: onairctl's commands (see ctl.h and docs/ONAIRCTL.md). Each sends one
 * request to the node's admin API and prints either the JSON answer as is (--json) or an
 * aligned table for people. */
#include "../../common/clock.h"
#include "../../common/xalloc.h"
#include "ctl.h"
#include <stdlib.h>
#include <string.h>

#define ROOM_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

/* ---- helpers --------------------------------------------------------------------------------- */

static int print_json(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text) {
        puts(text);
    }
    free(text);
    json_decref(j);
    return text ? CTL_OK : ctl_error(CTL_FAIL, "cannot print the answer");
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int64_t num(json_t *o, const char *key)
{
    return (int64_t)json_number_value(json_object_get(o, key));
}

static bool room_arg_ok(const char *id)
{
    size_t n = strspn(id, ROOM_CHARS);
    return n > 0 && n <= 64 && !id[n];
}

/* Checks a room id argument; CTL_OK or CTL_USAGE. */
static int need_room(const char *cmd, const char *id)
{
    return room_arg_ok(id) ? CTL_OK
                           : ctl_error(CTL_USAGE,
                                       "%s: '%s' is not a room id (1-64 characters of A-Z a-z "
                                       "0-9 _ -)",
                                       cmd, id);
}

/* Percent-encodes an id for a path segment (RFC 3986 unreserved characters stay). */
static void encode_seg(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (strchr(ROOM_CHARS ".~", ch)) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = 0;
}

/* "live 3m12s" / "offline" of a room object. */
static void room_status(json_t *r, char *out, size_t cap)
{
    if (!json_is_true(json_object_get(r, "live"))) {
        snprintf(out, cap, "offline");
        return;
    }
    char d[32];
    json_t *at = json_object_get(r, "startedAt");
    if (json_is_integer(at)) {
        ctl_fmt_duration(clock_wall_ms() - json_integer_value(at), d, sizeof d);
        snprintf(out, cap, "live %s", d);
    } else {
        snprintf(out, cap, "live");
    }
}

/* "-" or "since 2m03s" of a recording object. */
static void recording_text(json_t *rec, char *out, size_t cap)
{
    if (!json_is_object(rec)) {
        snprintf(out, cap, "-");
        return;
    }
    char d[32];
    ctl_fmt_duration(clock_wall_ms() - num(rec, "startedAt"), d, sizeof d);
    const char *file = str(rec, "file");
    snprintf(out, cap, "recording %s%s%s", d, file ? " to " : "", file ? file : "");
}

static int unexpected(ctl_t *c, json_t *j)
{
    json_decref(j);
    return ctl_error(CTL_FAIL, "%s: unexpected answer (is onairctl older than the node?)",
                     c->url.text);
}

/* ---- rooms, room, viewers -------------------------------------------------------------------- */

static int cmd_rooms(ctl_t *c)
{
    json_t *j, *r;
    int rc = ctl_call(c, "GET", "/api/admin/rooms", NULL, &j);
    if (rc || c->json) {
        return rc ? rc : print_json(j);
    }
    if (!json_is_array(j)) {
        return unexpected(c, j);
    }
    static const char *const hdr[] = { "ROOM",    "TITLE", "OWNER",    "STATUS",
                                       "VIEWERS", "SFU",   "RECORDING" };
    ctl_table_t *t = ctl_table_new(7, hdr);
    size_t i;
    json_array_foreach(j, i, r)
    {
        char title[256], status[48], viewers[24], rec[160];
        ctl_fmt_clip(str(r, "title") ? str(r, "title") : "-", 40, title, sizeof title);
        room_status(r, status, sizeof status);
        snprintf(viewers, sizeof viewers, "%lld", (long long)num(r, "viewers"));
        recording_text(json_object_get(r, "recording"), rec, sizeof rec);
        const char *row[] = { str(r, "roomId"), title, str(r, "owner"), status, viewers,
                              str(r, "sfu"),    rec };
        ctl_table_row(t, row);
    }
    if (ctl_table_rows(t)) {
        ctl_table_print(t, stdout);
    } else {
        puts("no rooms");
    }
    ctl_table_free(t);
    json_decref(j);
    return CTL_OK;
}

static void print_viewers(json_t *a, bool indent)
{
    static const char *const hdr[] = { "VIEWER", "USER", "NAME", "JOINED", "NODE" };
    ctl_table_t *t = ctl_table_new(5, hdr);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        char name[128], joined[48];
        ctl_fmt_clip(str(v, "name") ? str(v, "name") : "-", 30, name, sizeof name);
        ctl_fmt_duration(clock_wall_ms() - num(v, "joinedAt"), joined, sizeof joined);
        strcat(joined, " ago");
        const char *row[] = { str(v, "id"), str(v, "userId"), name, joined, str(v, "node") };
        ctl_table_row(t, row);
    }
    if (ctl_table_rows(t)) {
        ctl_table_print(t, stdout);
    } else {
        puts(indent ? "(no viewers)" : "no viewers");
    }
    ctl_table_free(t);
}

static void kv(ctl_table_t *t, const char *k, const char *v)
{
    const char *row[] = { k, v };
    ctl_table_row(t, row);
}

/* The "Bitrate" lines of a room detail. */
static void media_lines(ctl_table_t *t, json_t *room, json_t *media)
{
    char line[256], a[32], b[32];
    if (!json_is_true(json_object_get(room, "live"))) {
        return;
    }
    if (!json_is_object(media)) {
        kv(t, "Bitrate", str(room, "sfu") ? "n/a (ask the node that drives the room's SFU)" : "-");
        return;
    }
    if (str(media, "error")) {
        snprintf(line, sizeof line, "n/a (SFU: %s)", str(media, "error"));
        kv(t, "Bitrate", line);
        return;
    }
    ctl_fmt_bitrate((double)num(media, "bitrateIn"), a, sizeof a);
    snprintf(line, sizeof line, "%s from the publisher%s, %lld packets lost", a,
             json_is_true(json_object_get(media, "publisher")) ? "" : " (no publisher media)",
             (long long)num(media, "packetsLost"));
    kv(t, "Bitrate in", line);
    ctl_fmt_bitrate((double)num(media, "sfuBitrateOut"), b, sizeof b);
    snprintf(line, sizeof line, "%s total on the SFU, %lld subscribers", b,
             (long long)num(media, "subscribers"));
    kv(t, "Bitrate out", line);
}

static int cmd_room(ctl_t *c)
{
    int rc = need_room("room", c->args[0]);
    if (rc) {
        return rc;
    }
    char path[128];
    snprintf(path, sizeof path, "/api/admin/rooms/%s", c->args[0]);
    json_t *j;
    rc = ctl_call(c, "GET", path, NULL, &j);
    if (rc || c->json) {
        return rc ? rc : print_json(j);
    }
    json_t *room = json_object_get(j, "room"), *viewers = json_object_get(j, "viewers");
    if (!json_is_object(room) || !json_is_array(viewers)) {
        return unexpected(c, j);
    }
    const char *const hdr[] = { "Room", str(room, "roomId") };
    ctl_table_t *t = ctl_table_new(2, hdr);
    char status[128], s2[64], n[32], rec[200], media[64];
    kv(t, "Title", str(room, "title"));
    kv(t, "Owner", str(room, "owner"));
    room_status(room, status, sizeof status);
    if (json_is_integer(json_object_get(room, "startedAt"))) {
        ctl_fmt_time(num(room, "startedAt"), s2, sizeof s2);
        snprintf(status + strlen(status), sizeof status - strlen(status), " (since %s)", s2);
    }
    kv(t, "Status", status);
    json_t *pub = json_object_get(room, "publisher");
    if (json_is_object(pub)) {
        char p[200];
        snprintf(p, sizeof p, "connection %s on node %s", str(pub, "conn"),
                 str(pub, "node") ? str(pub, "node") : "?");
        kv(t, "Publisher", p);
    }
    kv(t, "SFU", str(room, "sfu"));
    snprintf(n, sizeof n, "%lld", (long long)num(room, "viewers"));
    kv(t, "Viewers", n);
    media_lines(t, room, json_object_get(j, "media"));
    recording_text(json_object_get(room, "recording"), rec, sizeof rec);
    kv(t, "Recording", strcmp(rec, "-") ? rec : "no");
    json_t *ms = json_object_get(room, "mediaState");
    if (json_is_object(ms)) {
        snprintf(media, sizeof media, "audio %s, video %s",
                 json_is_true(json_object_get(ms, "audio")) ? "on" : "off",
                 json_is_true(json_object_get(ms, "video")) ? "on" : "off");
        kv(t, "Media", media);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
    putchar('\n');
    print_viewers(viewers, true);
    json_decref(j);
    return CTL_OK;
}

static int cmd_viewers(ctl_t *c)
{
    int rc = need_room("viewers", c->args[0]);
    if (rc) {
        return rc;
    }
    char path[128];
    snprintf(path, sizeof path, "/api/admin/rooms/%s/viewers", c->args[0]);
    json_t *j;
    rc = ctl_call(c, "GET", path, NULL, &j);
    if (rc || c->json) {
        return rc ? rc : print_json(j);
    }
    if (!json_is_array(j)) {
        return unexpected(c, j);
    }
    print_viewers(j, false);
    json_decref(j);
    return CTL_OK;
}

/* ---- kick, end ------------------------------------------------------------------------------- */

static int cmd_kick(ctl_t *c)
{
    int rc = need_room("kick", c->args[0]);
    if (rc) {
        return rc;
    }
    const char *viewer = c->args[1];
    if (!*viewer || strlen(viewer) > 64) {
        return ctl_error(CTL_USAGE, "kick: '%s' is not a viewer id (see onairctl viewers ROOM)",
                         viewer);
    }
    char path[128];
    snprintf(path, sizeof path, "/api/admin/rooms/%s/kick", c->args[0]);
    json_t *body = json_pack("{s:s}", "viewerId", viewer), *j;
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    rc = ctl_call(c, "POST", path, text, &j);
    free(text);
    if (rc || c->json) {
        return rc ? rc : print_json(j);
    }
    size_t conns = json_array_size(json_object_get(j, "kicked"));
    const char *user = str(j, "userId");
    long long left = (long long)num(j, "viewers");
    printf("kicked viewer %s%s%s%s from room %s (%zu connection%s, banned 60s); %lld viewer%s "
           "left\n",
           viewer, user ? " (user " : "", user ? user : "", user ? ")" : "", c->args[0], conns,
           conns == 1 ? "" : "s", left, left == 1 ? "" : "s");
    json_decref(j);
    return CTL_OK;
}

static int cmd_end(ctl_t *c)
{
    int rc = need_room("end", c->args[0]);
    if (rc) {
        return rc;
    }
    char path[128];
    snprintf(path, sizeof path, "/api/admin/rooms/%s/end", c->args[0]);
    json_t *j;
    rc = ctl_call(c, "POST", path, "{}", &j);
    if (rc || c->json) {
        return rc ? rc : print_json(j);
    }
    if (json_is_true(json_object_get(j, "wasLive"))) {
        printf("ended the broadcast in room %s\n", c->args[0]);
    } else {
        printf("room %s is not live: nothing to end\n", c->args[0]);
    }
    json_decref(j);
    return CTL_OK;
}

/* ---- SFUs, nodes, health --------------------------------------------------------------------- */

static int cmd_sfus(ctl_t *c)
{
    json_t *j, *s;
    int rc = ctl_call(c, "GET", "/api/admin/sfus", NULL, &j);
    if (rc || c->json) {
        return rc ? rc : print_json(j);
    }
    if (!json_is_array(j)) {
        return unexpected(c, j);
    }
    static const char *const hdr[] = { "SFU", "STATE", "LOAD", "IN", "OUT", "NODE", "SOCKET" };
    ctl_table_t *t = ctl_table_new(7, hdr);
    size_t i;
    json_array_foreach(j, i, s)
    {
        char state[64], load[32], in[32], out[32];
        snprintf(state, sizeof state, "%s%s", str(s, "state") ? str(s, "state") : "?",
                 json_is_true(json_object_get(s, "draining")) ? ", draining" : "");
        snprintf(load, sizeof load, "%lld peers", (long long)num(s, "peers"));
        ctl_fmt_bitrate((double)num(s, "bitrateIn"), in, sizeof in);
        ctl_fmt_bitrate((double)num(s, "bitrateOut"), out, sizeof out);
        const char *row[] = {
            str(s, "id"), state, load, in, out, str(s, "node"), str(s, "socket")
        };
        ctl_table_row(t, row);
    }
    if (ctl_table_rows(t)) {
        ctl_table_print(t, stdout);
    } else {
        puts("no SFUs");
    }
    ctl_table_free(t);
    json_decref(j);
    return CTL_OK;
}

static int cmd_sfu(ctl_t *c)
{
    if (strcmp(c->args[0], "drain") != 0 || c->nargs != 2) {
        return ctl_error(CTL_USAGE, "sfu: usage: onairctl sfu drain ID [--off]");
    }
    char id[400], path[512];
    encode_seg(c->args[1], id, sizeof id);
    snprintf(path, sizeof path, "/api/admin/sfus/%s/drain", id);
    json_t *j;
    int rc = ctl_call(c, "POST", path, c->off ? "{\"on\":false}" : "{\"on\":true}", &j);
    if (rc || c->json) {
        return rc ? rc : print_json(j);
    }
    printf("SFU %s %s (%s)\n", c->args[1],
           json_is_true(json_object_get(j, "draining"))
               ? "is draining: no new rooms are placed on it"
               : "takes new rooms again",
           str(j, "state") ? str(j, "state") : "?");
    json_decref(j);
    return CTL_OK;
}

static int cmd_nodes(ctl_t *c)
{
    json_t *j, *n;
    int rc = ctl_call(c, "GET", "/api/admin/nodes", NULL, &j);
    if (rc || c->json) {
        return rc ? rc : print_json(j);
    }
    if (!json_is_array(j)) {
        return unexpected(c, j);
    }
    static const char *const hdr[] = { "NODE", "" };
    ctl_table_t *t = ctl_table_new(2, hdr);
    size_t i;
    json_array_foreach(j, i, n)
    {
        const char *row[] = { str(n, "id"),
                              json_is_true(json_object_get(n, "self")) ? "(answered)" : "" };
        ctl_table_row(t, row);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
    json_decref(j);
    return CTL_OK;
}

static int cmd_health(ctl_t *c)
{
    ctl_resp_t r;
    char err[1024];
    if (ctl_http(&c->url, "GET", "/health", NULL, NULL, c->timeout_ms, &r, err, sizeof err) != 0) {
        ctl_resp_deinit(&r);
        return ctl_error(CTL_UNREACHABLE, "%s", err);
    }
    json_t *j = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
    int status = r.status;
    ctl_resp_deinit(&r);
    if (!json_is_object(j)) {
        json_decref(j);
        return ctl_error(CTL_FAIL, "%s/health: HTTP %d, not a JSON answer", c->url.text, status);
    }
    int rc = status == 200 ? CTL_OK : CTL_FAIL;
    if (c->json) {
        print_json(j);
    } else {
        json_t *st = json_object_get(j, "store"), *sf = json_object_get(j, "sfus");
        json_t *cn = json_object_get(j, "connections");
        char line[256];
        const char *const hdr[] = { "Status", str(j, "status") };
        ctl_table_t *t = ctl_table_new(2, hdr);
        snprintf(line, sizeof line, "%s (%s mode)", str(j, "node") ? str(j, "node") : "?",
                 str(j, "mode") ? str(j, "mode") : "?");
        kv(t, "Node", line);
        snprintf(line, sizeof line, "%s, %s", str(st, "backend") ? str(st, "backend") : "?",
                 json_is_true(json_object_get(st, "up")) ? "up" : "DOWN");
        kv(t, "Store", line);
        snprintf(line, sizeof line, "%lld ready of %lld", (long long)num(sf, "ready"),
                 (long long)num(sf, "total"));
        kv(t, "SFUs", line);
        snprintf(line, sizeof line, "%lld websocket, %lld polling; %lld sockets",
                 (long long)num(cn, "websocket"), (long long)num(cn, "polling"),
                 (long long)num(j, "sockets"));
        kv(t, "Connections", line);
        snprintf(line, sizeof line, "%lld with members on this node", (long long)num(j, "rooms"));
        kv(t, "Rooms", line);
        ctl_table_print(t, stdout);
        ctl_table_free(t);
        json_decref(j);
    }
    if (rc) {
        ctl_error(rc, "%s is degraded (HTTP %d)", c->url.text, status);
    }
    return rc;
}

/* ---- recordings ------------------------------------------------------------------------------ */

static int cmd_recordings(ctl_t *c)
{
    json_t *j, *r;
    int rc = ctl_call(c, "GET", "/api/admin/recordings", NULL, &j);
    if (rc || c->json) {
        return rc ? rc : print_json(j);
    }
    json_t *list = json_object_get(j, "recordings");
    if (!json_is_array(list)) {
        return unexpected(c, j);
    }
    static const char *const hdr[] = { "FILE", "ROOM", "SIZE", "MODIFIED", "STATE" };
    ctl_table_t *t = ctl_table_new(5, hdr);
    size_t i;
    json_array_foreach(list, i, r)
    {
        char size[32] = "-", mod[48] = "-", state[48] = "finished";
        if (json_is_integer(json_object_get(r, "size"))) {
            ctl_fmt_size(num(r, "size"), size, sizeof size);
        }
        if (json_is_integer(json_object_get(r, "modifiedAt"))) {
            ctl_fmt_duration(clock_wall_ms() - num(r, "modifiedAt"), mod, sizeof mod);
            strcat(mod, " ago");
        }
        if (json_is_true(json_object_get(r, "live"))) {
            char d[32];
            ctl_fmt_duration(clock_wall_ms() - num(r, "startedAt"), d, sizeof d);
            if (json_is_integer(json_object_get(r, "startedAt"))) {
                snprintf(state, sizeof state, "live %s", d);
            } else {
                snprintf(state, sizeof state, "live");
            }
        }
        const char *row[] = { str(r, "name"), str(r, "roomId"), size, mod, state };
        ctl_table_row(t, row);
    }
    if (ctl_table_rows(t)) {
        ctl_table_print(t, stdout);
    } else {
        printf("no recordings in %s\n", str(j, "dir") ? str(j, "dir") : "the recordings directory");
    }
    if (json_is_true(json_object_get(j, "truncated"))) {
        puts("(more recordings exist: only the newest are listed)");
    }
    ctl_table_free(t);
    json_decref(j);
    return CTL_OK;
}

static int cmd_recording(ctl_t *c)
{
    if (strcmp(c->args[0], "stop") != 0) {
        return ctl_error(CTL_USAGE, "recording: usage: onairctl recording stop ROOM");
    }
    int rc = need_room("recording stop", c->args[1]);
    if (rc) {
        return rc;
    }
    char path[160];
    snprintf(path, sizeof path, "/api/admin/rooms/%s/recording/stop", c->args[1]);
    json_t *j;
    rc = ctl_call(c, "POST", path, "{}", &j);
    if (rc || c->json) {
        return rc ? rc : print_json(j);
    }
    json_t *rec = json_object_get(j, "recording");
    if (json_is_object(rec)) {
        printf("stopped recording %s in room %s (file %s)\n", str(rec, "id") ? str(rec, "id") : "?",
               c->args[1], str(rec, "file") ? str(rec, "file") : "?");
    } else {
        printf("room %s is not recording: nothing to stop\n", c->args[1]);
    }
    json_decref(j);
    return CTL_OK;
}

/* ---- token ----------------------------------------------------------------------------------- */

static int cmd_token(ctl_t *c)
{
    if (!c->sub || !c->role) {
        return ctl_error(CTL_USAGE, "token: --sub and --role are required\nusage: onairctl token "
                                    "--sub S --role admin|viewer [--name N] [--ttl 1h] [--rooms "
                                    "a,b]");
    }
    if (strcmp(c->role, "admin") && strcmp(c->role, "viewer")) {
        return ctl_error(CTL_USAGE, "token: --role must be admin or viewer, not '%s'", c->role);
    }
    int64_t ttl = 3600;
    if (c->ttl && ctl_parse_ttl(c->ttl, &ttl) != 0) {
        return ctl_error(CTL_USAGE,
                         "token: --ttl '%s' is not a lifetime (e.g. 90, 30s, 15m, 1h, 7d)", c->ttl);
    }
    char *tok = NULL, err[512];
    if (ctl_mint(c->sub, c->name, !strcmp(c->role, "admin"), ttl, c->rooms, &tok, err,
                 sizeof err) != 0) {
        return ctl_error(strstr(err, "--") ? CTL_USAGE : CTL_FAIL, "token: %s", err);
    }
    if (c->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "token", tok, "sub", c->sub, "role", c->role,
                              "expiresAt", (json_int_t)(clock_wall_ms() / 1000 + ttl) * 1000);
        print_json(o);
    } else {
        puts(tok);
    }
    free(tok);
    return CTL_OK;
}

/* ---- the table ------------------------------------------------------------------------------- */

const ctl_cmd_t ctl_cmds[] = {
    { "rooms", "", "list the rooms (owner, live time, viewers, SFU)",
      "Every room of the deployment (all nodes share the state). A token with a rooms claim\n"
      "sees its rooms only.\n\n"
      "Example:\n  onairctl rooms\n  onairctl rooms --json | jq -r '.[] | select(.live) | "
      ".roomId'\n",
      0, 0, 0, true, cmd_rooms },
    { "room", "ID", "one room: owner, live time, SFU, viewers, bitrates",
      "Bitrates come from the room's SFU when the node you ask drives it (else n/a).\n\n"
      "Example:\n  onairctl room demo\n",
      1, 1, 0, true, cmd_room },
    { "viewers", "ID", "a room's viewers (their ids are what kick takes)",
      "The VIEWER column is what `kick` takes.\n\nExample:\n  onairctl viewers demo\n", 1, 1, 0,
      true, cmd_viewers },
    { "kick", "ROOM VIEWER", "remove a viewer's user from a room (60 s ban)",
      "Every connection of the viewer's user leaves the room: each page gets `kicked` and\n"
      "loses its media, and the user cannot rejoin for 60 s. VIEWER is a connection id from\n"
      "`onairctl viewers ROOM`; one that begins with '-' goes after \"--\".\n\n"
      "Example:\n  onairctl kick demo Xy3kq9_AbCdEfGhAAAB\n  onairctl kick demo -- "
      "-p2Qr8sT5uVwXyZaAAAC\n",
      2, 2, 0, true, cmd_kick },
    { "end", "ROOM", "end a room's broadcast (stream-ended \"stopped\")",
      "The SFU room is closed; the room, its members and its chat stay. Ending a room that is\n"
      "not live succeeds and changes nothing.\n\nExample:\n  onairctl end demo\n",
      1, 1, 0, true, cmd_end },
    { "sfus", "", "the media servers (SFUs): state, load, bitrates",
      "The SFUs the node drives, and those other nodes registered in the shared state.\n\n"
      "Example:\n  onairctl sfus\n",
      0, 0, 0, true, cmd_sfus },
    { "sfu", "drain ID [--off]", "place no new rooms on an SFU (--off: undo)",
      "Rooms already on the SFU keep running. Ask the node that drives the SFU (see the NODE\n"
      "column of `onairctl sfus`). Needs a token without a rooms claim.\n\n"
      "Example:\n  onairctl sfu drain node1-sfu1\n  onairctl sfu drain node1-sfu1 --off\n",
      2, 2, CTL_O_OFF, true, cmd_sfu },
    { "nodes", "", "the signal nodes alive in the deployment",
      "Nodes heartbeat into the shared state; with in-process state there is one.\n\n"
      "Example:\n  onairctl nodes\n",
      0, 0, 0, true, cmd_nodes },
    { "health", "", "the node's /health (exit 1 when degraded)",
      "No token needed.\n\nExample:\n  onairctl --url http://10.0.0.5:3000 health\n", 0, 0, 0,
      false, cmd_health },
    { "token", "--sub S --role admin|viewer [--name N] [--ttl 1h] [--rooms a,b]",
      "mint a JWT locally with JWT_SECRET",
      "Signs HS256 with JWT_SECRET (or RS256/ES256 with JWT_PRIVATE_KEY: PEM text or a file).\n"
      "--ttl: N seconds, or Ns, Nm, Nh, Nd (default 1h). --rooms limits the token to those\n"
      "rooms (\"\" allows none). Prints the token; --json adds sub, role and expiresAt (ms).\n\n"
      "Example:\n  export ONAIR_TOKEN=$(onairctl token --sub alice --role admin --ttl 8h)\n",
      0, 0, CTL_O_SUB | CTL_O_NAME | CTL_O_ROLE | CTL_O_TTL | CTL_O_ROOMS, false, cmd_token },
    { "recordings", "", "the recordings: file, room, size, live or finished",
      "The recording files in the node's recordings directory (--recordings-dir), newest first\n"
      "(at most 1000), and the recordings being written now in any room (STATE live; their\n"
      "file is on the disk of the node that drives the room's SFU). A token with a rooms claim\n"
      "sees its rooms' recordings only.\n\n"
      "Example:\n  onairctl recordings\n  onairctl recordings --json | jq -r '.recordings[] | "
      "select(.live | not) | .name'\n",
      0, 0, 0, true, cmd_recordings },
    { "recording", "stop ROOM", "stop a room's recording (the file is finished)",
      "As the owner's stop-recording: the recorder finishes the file and the room stops\n"
      "recording. A room that is not recording: exit 0, nothing changes. Ask the node that\n"
      "drives the room's SFU (another node's recording: exit 1 naming it).\n\n"
      "Example:\n  onairctl recording stop demo\n",
      2, 2, 0, true, cmd_recording },
    { NULL, NULL, NULL, NULL, 0, 0, 0, false, NULL },
};
