/* signal/app.h: how an application plugs into onair-signal. main.c holds a table of apps
 * (`--app test|livestream`); the chosen one gets the loop, the HTTP router and the Socket.IO
 * server, registers its namespaces and routes in start(), and releases its own handles in
 * stop(). Everything runs on the one loop thread. */
#ifndef SIGNAL_APP_H
#define SIGNAL_APP_H
#include "../common/cfg.h"
#include "http.h"
#include "sio.h"
#include <uv.h>

typedef struct app_env {
    uv_loop_t *loop;
    http_server_t *http;         /* register routes with http_route() */
    sio_server_t *sio;           /* register namespaces with sio_nsp_add() */
    const sio_config_t *sio_cfg; /* the Engine.IO/Socket.IO settings in effect */
    const char *client_dir;      /* where the socket.io-client bundle was loaded from */
} app_env_t;

typedef struct app {
    const char *name;
    const char *help;
    /* The app's own options (NULL-terminated table, may be NULL); main parses them together
     * with the core's, so they may point at the app's static config. */
    const cfg_opt_t *opts;
    /* The CORS policy the app wants on Engine.IO requests (NULL: none). Read after option
     * parsing, before the servers are created. */
    const char *(*cors_origin)(void);
    /* Called once the servers exist and before listening. Returns 0, or non-zero to abort
     * start-up (after logging why; the process then exits 1). On failure start must release
     * what it created itself: stop/free are only called after a successful start. *state is
     * handed back to stop/free. */
    int (*start)(app_env_t *env, void **state);
    /* Shutdown, before the servers close: stop timers, close the app's handles. */
    void (*stop)(void *state);
    /* After the loop has run out: free the state. */
    void (*free)(void *state);
} app_t;

extern const app_t app_test;
/* Defined by the livestream app (signal/live_app.c). */
extern const app_t app_livestream;

#endif
