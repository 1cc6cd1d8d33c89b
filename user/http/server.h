/* The agent's HTTP(S) server (libmicrohttpd): endpoints, negotiation, auth, limits. */
#ifndef CW_HTTP_H
#define CW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "http/exposition.h"
#include "http/webconfig.h"

/* What the server asks the agent for; every callback runs on a connection thread. */
struct cw_http_handlers {
	void *ctx;
	/* The snapshot version a render would show now (cheap): scrapes of one
	 * version share one render. */
	uint64_t (*version)(void *ctx);
	/* The exposition in fmt, appended to out, and the version it shows; 0 or -1 (500). */
	int (*metrics)(void *ctx, enum cw_expo_format fmt, struct cw_buf *out, uint64_t *version);
	/* The landing page's HTML; 0 or -1. */
	int (*landing)(void *ctx, struct cw_buf *out);
	/* /-/ready: BPF attached and the first poll done. */
	bool (*ready)(void *ctx);
	/* POST /-/reload; NULL means the lifecycle API is off and the path is unknown.
	 * 0 when the reload worked, else -1 with the reason in err (500). */
	int (*reload)(void *ctx, char *err, size_t errlen);
};

struct cw_http_opts {
	const char *const *listen;   /* "host:port", "[v6]:port", ":port" (all addresses) */
	size_t nlisten;
	const char *telemetry_path;  /* "/metrics" */
	struct cw_webconfig *web;    /* TLS and basic auth; NULL for plain HTTP, no auth */
	unsigned conn_limit;         /* concurrent connections per address; more wait in the backlog */
	unsigned timeout_s;          /* a request's headers must be in this long after the connection
				      * opened or the previous response ended; also the idle timeout */
	unsigned per_client_limit;   /* connections from one client address; more wait, parked;
				      * 0: conn_limit / 4, at least 1 */
	struct cw_http_handlers h;
};

struct cw_http;

/* Binds every address (all or nothing) and starts serving. Returns 0, or -1 with a
 * sentence in err ("cannot listen on :9745: Address already in use"). */
int cw_http_start(const struct cw_http_opts *opts, struct cw_http **out, char *err, size_t errlen);
/* The address listen[i] is bound to, with the real port (for ":0"). */
const char *cw_http_bound_address(const struct cw_http *h, size_t i);
/* Stops accepting, lets requests in flight finish (at most grace_ms), closes all. */
void cw_http_stop(struct cw_http *h, unsigned grace_ms);

/* Header parsing, exposed for tests. */
/* The exposition format an Accept header asks for (text when it names none we serve). */
enum cw_expo_format cw_http_expo_format(const char *accept);
bool cw_http_wants_openmetrics(const char *accept);
bool cw_http_accepts_gzip(const char *accept_encoding);
/* Splits "host:port" / "[v6]:port" / ":port"; host is "" for all addresses. */
int cw_http_split_address(const char *addr, char *host, size_t hostlen, char *port, size_t portlen);
/* Decodes a "Basic ..." Authorization header into user and password (malloc'ed,
 * one allocation: free(*user) frees both). Returns 0 or -1. */
int cw_http_parse_basic(const char *header, char **user, char **password);

#endif
