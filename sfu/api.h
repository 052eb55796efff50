/* sfu/api.h: the RPC methods of docs/RPC.md on top of rooms and peers, and the controller
 * session (hello first, grace period after a disconnect, resume). */
#ifndef SFU_API_H
#define SFU_API_H
#include "sfu.h"

/* Sets up the tables and timers of s. */
void api_init(sfu_t *s);
/* Closes every peer and room and stops the timers (shutdown). Safe after a failed init. */
void api_deinit(sfu_t *s);

/* rpc_server_cbs_t callbacks; ud is the sfu_t. */
json_t *api_on_request(void *ud, unsigned conn, const rpc_msg_t *m, rpc_err_t *err, char *why,
                       size_t whylen);
void api_after_request(void *ud, unsigned conn);
void api_on_disconnect(void *ud, unsigned conn);

#endif
