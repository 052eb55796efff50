/* signal/live_admin.c: the operator API under /api/admin/ (see live_admin.h). */
#include "live_admin.h"
#include "live.h"

void live_admin_routes(live_t *app)
{
    (void)app;
}
