/* signal/static.h: the socket.io-client browser bundle, served as Node's socket.io serves it
 * (see static.c). */
#ifndef SIGNAL_STATIC_H
#define SIGNAL_STATIC_H
#include "http.h"

typedef struct static_client static_client_t;

/* Reads the bundle files from dir (socket.io-client's dist/; the version for the ETag comes
 * from dir/../package.json) and registers GET routes prefix + file name (prefix
 * "/socket.io/"). Missing files are skipped with a warning. Returns the owner of the loaded
 * bytes, which must outlive the HTTP server's routes; free with static_client_free. */
static_client_t *static_client_load(http_server_t *http, const char *dir, const char *prefix);
size_t static_client_files(const static_client_t *sc);
void static_client_free(static_client_t *sc);

#endif
