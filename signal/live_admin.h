/* signal/live_admin.h: the livestream app's operator API (docs/ONAIRCTL.md): JSON routes under
 * /api/admin/ for onairctl, authenticated with an admin JWT (Authorization: Bearer). Answers
 * come from the shared state store (both backends, every node) and this node's SFU pool. */
#ifndef SIGNAL_LIVE_ADMIN_H
#define SIGNAL_LIVE_ADMIN_H

typedef struct live live_t;

/* Registers the /api/admin/ routes on app->http. Requests the store answers later are held
 * open (HTTP_DEFERRED) and dropped quietly when their connection closes first. */
void live_admin_routes(live_t *app);

#endif
