/* signal/live_app.h: the livestream application (`onair-signal --app livestream`), as main.c
 * sees it. The rest of its interface is private (live.h). */
#ifndef SIGNAL_LIVE_APP_H
#define SIGNAL_LIVE_APP_H
#include "../common/cfg.h"
#include "http.h"
#include "sio.h"
#include <stddef.h>
#include <uv.h>

typedef struct live live_t;

/* The app's configuration options (environment and flags, PROTOCOL.md 9), to be merged into
 * main's table before cfg_parse. The values land in a static config that live_app_start reads. */
const cfg_opt_t *live_app_options(void);

/* Starts the app on the server's namespace "/" and HTTP routes: auth, state store, SFU pool,
 * timers. Returns 0 and *out, or -1 with a message in err (configuration errors: the caller
 * exits with a distinct code). */
int live_app_start(uv_loop_t *loop, sio_server_t *sio, http_server_t *http, live_t **out, char *err,
                   size_t errlen);

/* Stops the app before the servers close: leaves the cluster (the node's members are removed
 * from the shared state), stops the SFUs it spawned, closes the store and the timers. Socket
 * disconnects that follow are ignored. */
void live_app_stop(live_t *app);
/* Frees the app once the loop has run out. */
void live_app_free(live_t *app);

/* Registers the app's HTTP routes (/health, /metrics, /api/dev-token in demo mode). */
void live_app_routes(live_t *app);
void live_app_routes_free(void);

#endif
