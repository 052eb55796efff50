/* proto/err.c: messages and wire strings for the tables in err.h. */
#include "err.h"

const char *proto_strerror(int err)
{
    switch (err) {
#define XX(name, val, msg)                                                                         \
    case val:                                                                                      \
        return msg;
        PROTO_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

const char *app_err_str(app_err_t err)
{
    switch (err) {
#define XX(name, str)                                                                              \
    case APP_E##name:                                                                              \
        return str;
        APP_ERR_MAP(XX)
#undef XX
    default:
        return "internal";
    }
}
