/* proto/err.h: the project's error codes, one X-macro table (like libuv's UV_ERRNO_MAP).
 * Codecs return these (negative) values; this is the only place that maps them to the wire
 * strings of PROTOCOL.md section 3 (the application codes) and to readable messages. */
#ifndef PROTO_ERR_H
#define PROTO_ERR_H

/* Codec-level errors: XX(name, value, message) */
#define PROTO_ERRNO_MAP(XX)                                                                        \
    XX(EAGAIN, -1, "more input needed")                                                            \
    XX(EINVAL, -2, "malformed input")                                                              \
    XX(ETOOBIG, -3, "input over its size limit")                                                   \
    XX(EUTF8, -4, "invalid UTF-8")                                                                 \
    XX(EUNSUPP, -5, "unsupported")                                                                 \
    XX(ENOMEM, -6, "out of memory")                                                                \
    XX(ESTATE, -7, "not valid in this state")

typedef enum proto_err {
#define XX(name, val, msg) PROTO_##name = (val),
    PROTO_ERRNO_MAP(XX)
#undef XX
} proto_err_t;

/* Application error codes of PROTOCOL.md section 3, in the order of precedence that
 * section gives (rate_limited first). XX(name, wire string) */
#define APP_ERR_MAP(XX)                                                                            \
    XX(UNAUTHORIZED, "unauthorized")                                                               \
    XX(RATE_LIMITED, "rate_limited")                                                               \
    XX(INVALID_PAYLOAD, "invalid_payload")                                                         \
    XX(FORBIDDEN, "forbidden")                                                                     \
    XX(NOT_FOUND, "not_found")                                                                     \
    XX(CONFLICT, "conflict")                                                                       \
    XX(UNAVAILABLE, "unavailable")                                                                 \
    XX(INTERNAL, "internal")

typedef enum app_err {
    APP_OK = 0,
#define XX(name, str) APP_E##name,
    APP_ERR_MAP(XX)
#undef XX
        APP_ERR_COUNT
} app_err_t;

/* Returns a static readable message for a PROTO_E* code ("unknown error" otherwise). */
const char *proto_strerror(int err);

/* Returns the PROTOCOL.md wire string of an APP_E* code ("internal" for unknown values). */
const char *app_err_str(app_err_t err);

#endif
