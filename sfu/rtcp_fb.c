/* sfu/rtcp_fb.c: see rtcp_fb.h. */
#include "rtcp_fb.h"
#include "stats.h"

void rtcp_fb_tick(sfu_t *s)
{
    stats_update_rates(s);
}
