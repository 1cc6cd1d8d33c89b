/* HTTP(S) server on libmicrohttpd: routing, content negotiation, gzip, basic auth, limits. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "http/expo_cache.h"
#include "http/server.h"
#include "lib/clock.h"
#include "lib/log.h"

#define MAX_BODY 4096              /* only POST /-/reload may carry one, and it is ignored */
#define CONN_MEMORY_LIMIT (32 * 1024) /* request line + headers; more is answered 431/413 */
#define LISTEN_BACKLOG 1024        /* clients over the connection limit wait here */
#define THREAD_STACK (512 * 1024)
#define MIN_GZIP_BYTES 1024        /* smaller bodies are not worth compressing */

/* One per accepted connection, from accept to libmicrohttpd's CLOSED. The fd is
 * ours to shut down until CLOSED: libmicrohttpd closes it only after notifying. */
struct slot {
	int fd;                  /* -1: free */
	unsigned char ip[16];    /* client address, IPv4 as v4-mapped IPv6 */
	double deadline;         /* CLOCK_MONOTONIC: its request headers are due; 0 while a request runs */
	bool evicted;            /* shut down, waiting for CLOSED */
};

/* Accepted, waiting until its client address is under per_client_limit. */
struct parked {
	int fd;
	unsigned char ip[16];
	struct sockaddr_storage ss;
	socklen_t sl;
};

/* One per address. libmicrohttpd resets connections over its own limit, so the
 * real limit is ours: our acceptor thread stops accepting while all slots are
 * taken, further clients wait in the kernel's backlog instead of being refused,
 * and admitted sockets are handed over with MHD_add_connection. libmicrohttpd's
 * own limit is set far above ours: it counts closed connections until its
 * cleanup runs, and its failure path for externally added connections deadlocks
 * in 0.9.75, so it must never trigger. (Blocking in the accept policy callback
 * instead deadlocks too: CLOSED is notified from the thread it blocks.)
 *
 * Idle senders (slowloris) cannot hold the slots: a request's headers must be
 * in within timeout_s of the connection opening or the previous response
 * ending, however slowly they trickle (libmicrohttpd's own timeout restarts
 * at every byte); one client address holds at most per_client_limit slots (more
 * of its connections wait, parked); and connections waiting for headers hold at
 * most pending_limit slots, the oldest is shut down beyond that, so a quarter
 * of the slots is always left for clients that have sent a request. */
struct listener {
	struct cw_http *h;
	struct MHD_Daemon *d;
	int fd;
	int wake_fd;             /* eventfd: a slot was freed or went idle */
	char bound[128];
	pthread_t acceptor;
	bool acceptor_running;
	struct slot *slots;      /* conn_limit of them; under h->lock */
	unsigned active;         /* slots taken; under h->lock */
	struct parked *park;     /* acceptor thread only */
	size_t npark;
};

struct cw_http {
	struct cw_http_opts o;
	char *telemetry_path;
	struct listener *ls;
	size_t nls;
	struct cw_expo_cache *expo;
	unsigned per_client;
	unsigned pending_limit;
	size_t park_limit;
	int inflight;  /* requests between their first callback and completion (atomic) */
	int stopping;  /* atomic: responses say Connection: close, acceptors quit */
	int stop_fd;   /* eventfd that wakes the acceptors */
	pthread_mutex_t lock;
};

/* One per request, created at its first callback. */
struct req {
	size_t body;
	bool too_big;
};

static void request_started(struct listener *l, struct MHD_Connection *c);
static void request_ended(struct listener *l, struct MHD_Connection *c);

/* ---- header parsing ----------------------------------------------------- */

static const char *skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static size_t trim_len(const char *s, const char *end)
{
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return (size_t)(end - s);
}

static bool token_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && !strncasecmp(s, want, n);
}

/* The q parameter among "; a=b; q=0.5" params (1 when absent, 0 when malformed). */
static double item_q(const char *params, const char *end)
{
	double q = 1;
	while (params < end) {
		const char *p = skip_ws(params + 1, end);
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi ? semi : end;
		if (stop - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			char num[16];
			size_t n = trim_len(p + 2, stop);
			if (n == 0 || n >= sizeof(num))
				return 0;
			memcpy(num, p + 2, n);
			num[n] = '\0';
			char *e;
			q = strtod(num, &e);
			if (*e || q < 0 || q > 1)
				return 0;
		}
		params = stop;
	}
	return q;
}

/* True when the "; a=b; c=d" params hold name=value (name case-insensitive). */
static bool has_param(const char *params, const char *end, const char *name, const char *value)
{
	while (params < end) {
		const char *p = skip_ws(params + 1, end);
		if (p >= end)
			return false;
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi ? semi : end;
		size_t nl = strlen(name), vl = strlen(value);
		if (trim_len(p, stop) == nl + 1 + vl && !strncasecmp(p, name, nl) && p[nl] == '=' &&
		    !strncmp(p + nl + 1, value, vl))
			return true;
		params = stop;
	}
	return false;
}

struct item {
	const char *tok;    /* the media type or coding, before ';' */
	size_t n;
	const char *params; /* from the first ';' (or the end) to the end of the item */
	const char *end;
	double q;
};

/* Calls fn for every comma-separated item: its token (before ';'), params and q. */
static void each_item(const char *hdr, void (*fn)(const struct item *it, void *arg), void *arg)
{
	for (const char *s = hdr; s && *s;) {
		size_t len = strcspn(s, ",");
		size_t ws = strspn(s, " \t");
		const char *t = s + (ws < len ? ws : len);
		size_t tlen = len - (size_t)(t - s);
		size_t toklen = strcspn(t, ";,");
		if (toklen > tlen)
			toklen = tlen;
		struct item it = { t, trim_len(t, t + toklen), t + toklen, t + tlen,
				   toklen < tlen ? item_q(t + toklen, t + tlen) : 1 };
		fn(&it, arg);
		s = s[len] ? s + len + 1 : NULL;
	}
}

struct accept_scores {
	double pb, om, text;
};

/* Protobuf only as the delimited MetricFamily stream: another message or
 * framing under the same media type is something else. */
static void accept_item(const struct item *it, void *arg)
{
	struct accept_scores *sc = arg;
	const char *tok = it->tok;
	size_t n = it->n;
	double q = it->q;
	if (token_is(tok, n, "application/vnd.google.protobuf") &&
	    has_param(it->params, it->end, "proto", "io.prometheus.client.MetricFamily") &&
	    has_param(it->params, it->end, "encoding", "delimited") && q > sc->pb)
		sc->pb = q;
	if (token_is(tok, n, "application/openmetrics-text") && q > sc->om)
		sc->om = q;
	if ((token_is(tok, n, "text/plain") || token_is(tok, n, "text/*") || token_is(tok, n, "*/*")) && q > sc->text)
		sc->text = q;
}

/* The highest q wins; on a tie the richer format (protobuf, then OpenMetrics). */
enum cw_expo_format cw_http_expo_format(const char *accept)
{
	struct accept_scores sc = { 0, 0, 0 };
	each_item(accept, accept_item, &sc);
	if (sc.pb > 0 && sc.pb >= sc.om && sc.pb >= sc.text)
		return CW_EXPO_PROTOBUF;
	return sc.om > 0 && sc.om >= sc.text ? CW_EXPO_OPENMETRICS : CW_EXPO_TEXT;
}

bool cw_http_wants_openmetrics(const char *accept)
{
	return cw_http_expo_format(accept) == CW_EXPO_OPENMETRICS;
}

struct enc_scores {
	double gzip, star; /* -1: not mentioned */
};

static void enc_item(const struct item *it, void *arg)
{
	struct enc_scores *sc = arg;
	const char *tok = it->tok;
	size_t n = it->n;
	double q = it->q;
	if (token_is(tok, n, "gzip") || token_is(tok, n, "x-gzip"))
		sc->gzip = q;
	else if (token_is(tok, n, "*"))
		sc->star = q;
}

bool cw_http_accepts_gzip(const char *accept_encoding)
{
	struct enc_scores sc = { -1, -1 };
	each_item(accept_encoding, enc_item, &sc);
	return sc.gzip > 0 || (sc.gzip < 0 && sc.star > 0);
}

int cw_http_split_address(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon;
	const char *h = addr;
	size_t hl;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return -1;
		h = addr + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
			return -1; /* bare IPv6 needs brackets */
		hl = (size_t)(colon - addr);
	}
	const char *p = colon + 1;
	size_t pl = strlen(p);
	if (pl == 0 || pl > 5 || strspn(p, "0123456789") != pl || atoi(p) > 65535)
		return -1;
	if (hl >= hostlen || pl >= portlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, p, pl + 1);
	return 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict base64 (padding optional); out must hold len*3/4+1 bytes. */
static int b64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*outlen = o;
	return 0;
}

int cw_http_parse_basic(const char *header, char **user, char **password)
{
	if (!header || strncasecmp(header, "Basic ", 6))
		return -1;
	const char *b = header + 6;
	while (*b == ' ')
		b++;
	size_t len = trim_len(b, b + strlen(b));
	unsigned char *buf = malloc(len * 3 / 4 + 2);
	size_t n;
	if (!buf || b64_decode(b, len, buf, &n)) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	char *colon = memchr(buf, ':', n);
	if (!colon || memchr(buf, '\0', n)) {
		free(buf);
		return -1;
	}
	*colon = '\0';
	*user = (char *)buf;
	*password = colon + 1;
	return 0;
}

/* ---- responses ---------------------------------------------------------- */

/* Adds the headers every response carries and queues r. */
static enum MHD_Result queue(struct cw_http *h, struct MHD_Connection *c, unsigned status, struct MHD_Response *r,
			     const char *ctype, const char *hname, const char *hvalue)
{
	if (ctype)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (hname)
		MHD_add_response_header(r, hname, hvalue);
	if (__atomic_load_n(&h->stopping, __ATOMIC_ACQUIRE))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_response(struct cw_http *h, struct MHD_Connection *c, unsigned status,
				     const char *ctype, void *body, size_t len, bool must_free,
				     const char *hname, const char *hvalue)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (must_free)
			free(body);
		return MHD_NO;
	}
	return queue(h, c, status, r, ctype, hname, hvalue);
}

static enum MHD_Result send_text(struct cw_http *h, struct MHD_Connection *c, unsigned status, const char *text,
				 const char *hname, const char *hvalue)
{
	return send_response(h, c, status, "text/plain; charset=utf-8", (void *)text, strlen(text), false, hname,
			     hvalue);
}

static enum MHD_Result send_buf(struct cw_http *h, struct MHD_Connection *c, unsigned status, const char *ctype,
				struct cw_buf *b, const char *hname, const char *hvalue)
{
	size_t len;
	char *data = cw_buf_steal(b, &len);
	if (!data)
		return send_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL, NULL);
	return send_response(h, c, status, ctype, data, len, true, hname, hvalue);
}

/* libmicrohttpd drops the response when its last connection is done with it. */
static void expo_release(void *cls)
{
	cw_expo_put(cls);
}

/* Every scrape of one snapshot version gets the same render (and gzip), by
 * reference: concurrent scrapes cost one body, not one each. */
static enum MHD_Result serve_metrics(struct cw_http *h, struct MHD_Connection *c)
{
	const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	enum cw_expo_format fmt = cw_http_expo_format(accept);
	bool gzip = cw_http_accepts_gzip(ae);
	struct cw_expo *e = cw_expo_get(h->expo, fmt, gzip, MIN_GZIP_BYTES);
	if (!e)
		return send_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "rendering the metrics failed\n", NULL, NULL);
	gzip = gzip && e->gz;
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
		gzip ? e->gz_len : e->len, gzip ? e->gz : e->body, expo_release, e);
	if (!r) {
		cw_expo_put(e);
		return MHD_NO;
	}
	if (gzip)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	return queue(h, c, MHD_HTTP_OK, r, cw_expo_content_type(fmt), MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
}

static enum MHD_Result serve_landing(struct cw_http *h, struct MHD_Connection *c)
{
	struct cw_buf b = { 0 };
	if (h->o.h.landing(h->o.h.ctx, &b)) {
		cw_buf_free(&b);
		return send_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "rendering the page failed\n", NULL, NULL);
	}
	return send_buf(h, c, MHD_HTTP_OK, "text/html; charset=utf-8", &b, NULL, NULL);
}

static enum MHD_Result serve_reload(struct cw_http *h, struct MHD_Connection *c)
{
	char err[512] = "";
	if (h->o.h.reload(h->o.h.ctx, err, sizeof(err)) == 0)
		return send_text(h, c, MHD_HTTP_OK, "reloaded\n", NULL, NULL);
	struct cw_buf b = { 0 };
	cw_buf_printf(&b, "reload failed: %s\n", err);
	return send_buf(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", &b, NULL, NULL);
}

/* ---- routing ------------------------------------------------------------ */

enum route { R_NONE, R_METRICS, R_LANDING, R_HEALTHY, R_READY, R_RELOAD };

static enum route route_of(const struct cw_http *h, const char *url)
{
	if (!strcmp(url, h->telemetry_path))
		return R_METRICS;
	if (!strcmp(url, "/"))
		return R_LANDING;
	if (!strcmp(url, "/-/healthy"))
		return R_HEALTHY;
	if (!strcmp(url, "/-/ready"))
		return R_READY;
	if (!strcmp(url, "/-/reload") && h->o.h.reload)
		return R_RELOAD;
	return R_NONE;
}

static bool authorized(struct cw_http *h, struct MHD_Connection *c)
{
	if (!cw_webconfig_has_auth(h->o.web))
		return true;
	const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	char *user, *pass;
	if (cw_http_parse_basic(hdr, &user, &pass))
		return false;
	bool ok = cw_webconfig_authenticate(h->o.web, user, pass);
	memset(user, 0, strlen(user) + 1 + strlen(pass)); /* the password sits right after the user */
	free(user);
	return ok;
}

static enum MHD_Result dispatch(struct cw_http *h, struct MHD_Connection *c, const char *url, const char *method)
{
	if (!authorized(h, c))
		return send_text(h, c, MHD_HTTP_UNAUTHORIZED, "Unauthorized\n", MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				 "Basic realm=\"cachewatch\"");
	enum route r = route_of(h, url);
	if (r == R_NONE)
		return send_text(h, c, MHD_HTTP_NOT_FOUND, "404 page not found\n", NULL, NULL);
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
	bool post = !strcmp(method, MHD_HTTP_METHOD_POST);
	if (r == R_RELOAD && !post)
		return send_text(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "Only POST is allowed here\n",
				 MHD_HTTP_HEADER_ALLOW, "POST");
	if (r != R_RELOAD && !get)
		return send_text(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "Only GET and HEAD are allowed here\n",
				 MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	switch (r) {
	case R_METRICS:
		return serve_metrics(h, c);
	case R_LANDING:
		return serve_landing(h, c);
	case R_HEALTHY:
		return send_text(h, c, MHD_HTTP_OK, "Healthy\n", NULL, NULL);
	case R_READY:
		if (h->o.h.ready(h->o.h.ctx))
			return send_text(h, c, MHD_HTTP_OK, "Ready\n", NULL, NULL);
		return send_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "Not ready: BPF not attached or not polled yet\n",
				 NULL, NULL);
	case R_RELOAD:
		return serve_reload(h, c);
	case R_NONE:
		break;
	}
	return MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct listener *l = cls;
	struct cw_http *h = l->h;
	struct req *rq = *con_cls;
	(void)version;
	(void)upload_data;
	if (!rq) {
		request_started(l, c);
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		*con_cls = rq;
		__atomic_add_fetch(&h->inflight, 1, __ATOMIC_ACQ_REL);
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		rq->too_big = cl && strtoull(cl, NULL, 10) > MAX_BODY;
		if (!rq->too_big)
			return MHD_YES;
	}
	if (*upload_data_size > 0) {
		rq->body += *upload_data_size;
		*upload_data_size = 0;
		rq->too_big |= rq->body > MAX_BODY;
		if (!rq->too_big)
			return MHD_YES;
	}
	if (rq->too_big)
		return send_text(h, c, MHD_HTTP_CONTENT_TOO_LARGE, "Request body too large\n",
				 MHD_HTTP_HEADER_CONNECTION, "close");
	return dispatch(h, c, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;
	struct cw_http *h = l->h;
	(void)toe;
	request_ended(l, c);
	if (!*con_cls)
		return;
	free(*con_cls);
	*con_cls = NULL;
	__atomic_sub_fetch(&h->inflight, 1, __ATOMIC_ACQ_REL);
}

/* libmicrohttpd's own messages (TLS handshake failures, limits) are debug noise
 * for an exporter; they stay available at --log.level=debug. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	cw_debug("libmicrohttpd", "detail", msg);
}

/* ---- listening ---------------------------------------------------------- */

static int listen_on(const struct addrinfo *ai, int *out)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6) /* "[::]:port" also takes IPv4, like Go's listeners */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, LISTEN_BACKLOG)) {
		int e = -errno;
		close(fd);
		return e;
	}
	*out = fd;
	return 0;
}

static void describe_bound(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
			    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(buf, len, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
}

/* Empty host: every address, IPv6 dual-stack first, plain IPv4 where IPv6 is off. */
static int bind_address(const char *addr, int *fd, char *err, size_t errlen)
{
	char host[256], port[8];
	if (cw_http_split_address(addr, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "--web.listen-address: what is '%s'? expected HOST:PORT, [IPV6]:PORT or :PORT",
			 addr);
		return -1;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	hints.ai_family = *host ? AF_UNSPEC : AF_INET6;
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
	if (rc == 0) {
		rc = -EADDRNOTAVAIL;
		for (struct addrinfo *ai = res; ai && rc; ai = ai->ai_next)
			rc = listen_on(ai, fd);
		freeaddrinfo(res);
		if (rc && !*host && rc == -EAFNOSUPPORT) {
			hints.ai_family = AF_INET;
			if (getaddrinfo(NULL, port, &hints, &res) == 0) {
				rc = listen_on(res, fd);
				freeaddrinfo(res);
			}
		}
		if (rc == 0)
			return 0;
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(-rc));
		return -1;
	}
	snprintf(err, errlen, "cannot listen on %s: %s", addr, gai_strerror(rc));
	return -1;
}

/* ---- connection slots ---------------------------------------------------- */

static bool stopping(struct cw_http *h)
{
	return __atomic_load_n(&h->stopping, __ATOMIC_ACQUIRE);
}

static void wake(int fd)
{
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) < 0)
		cw_debug("cannot wake an HTTP acceptor", "error", strerror(errno));
}

static void ip_key(const struct sockaddr_storage *ss, unsigned char key[16])
{
	memset(key, 0, 16);
	if (ss->ss_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	} else if (ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	}
}

/* The slot of connection c; under h->lock. */
static struct slot *slot_of(struct listener *l, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return NULL;
	for (unsigned i = 0; i < l->h->o.conn_limit; i++)
		if (l->slots[i].fd == ci->connect_fd)
			return &l->slots[i];
	return NULL;
}

static unsigned slots_of_ip(const struct listener *l, const unsigned char ip[16])
{
	unsigned n = 0;
	for (unsigned i = 0; i < l->h->o.conn_limit; i++)
		n += l->slots[i].fd >= 0 && !memcmp(l->slots[i].ip, ip, 16);
	return n;
}

/* Its headers are in: no header deadline while the request runs. */
static void request_started(struct listener *l, struct MHD_Connection *c)
{
	pthread_mutex_lock(&l->h->lock);
	struct slot *s = slot_of(l, c);
	if (s)
		s->deadline = 0;
	pthread_mutex_unlock(&l->h->lock);
}

/* The response is done: the next request's headers are due within timeout_s. */
static void request_ended(struct listener *l, struct MHD_Connection *c)
{
	pthread_mutex_lock(&l->h->lock);
	struct slot *s = slot_of(l, c);
	if (s)
		s->deadline = cw_clock_seconds(CLOCK_MONOTONIC) + l->h->o.timeout_s;
	pthread_mutex_unlock(&l->h->lock);
	wake(l->wake_fd); /* one more idle connection: the acceptor checks the pending limit */
}

/* CLOSED comes from libmicrohttpd's cleanup, before it closes the socket. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct listener *l = cls;
	(void)socket_ctx;
	if (code != MHD_CONNECTION_NOTIFY_CLOSED)
		return;
	pthread_mutex_lock(&l->h->lock);
	struct slot *s = slot_of(l, c);
	if (s) {
		s->fd = -1;
		l->active--;
	}
	pthread_mutex_unlock(&l->h->lock);
	wake(l->wake_fd);
}

static void evict(struct listener *l, struct slot *s, const char *why)
{
	shutdown(s->fd, SHUT_RDWR); /* its thread sees EOF and closes the connection */
	s->evicted = true;
	cw_debug("closing an HTTP connection", "reason", why, "address", l->bound);
}

static bool pending(const struct slot *s)
{
	return s->fd >= 0 && !s->evicted && s->deadline > 0;
}

/* Shuts down connections past their header deadline and, over pending_limit,
 * the oldest waiting ones; under h->lock. Returns the ms until the next deadline
 * (-1: none). */
static int reap(struct listener *l, double now)
{
	struct cw_http *h = l->h;
	unsigned npending = 0;
	double next = 0;
	for (unsigned i = 0; i < h->o.conn_limit; i++) {
		struct slot *s = &l->slots[i];
		if (pending(s) && s->deadline <= now)
			evict(l, s, "request headers not in within the timeout");
		npending += pending(s);
	}
	while (npending > h->pending_limit) {
		struct slot *oldest = NULL;
		for (unsigned i = 0; i < h->o.conn_limit; i++)
			if (pending(&l->slots[i]) && (!oldest || l->slots[i].deadline < oldest->deadline))
				oldest = &l->slots[i];
		evict(l, oldest, "too many connections waiting for a request");
		npending--;
	}
	for (unsigned i = 0; i < h->o.conn_limit; i++)
		if (pending(&l->slots[i]) && (next == 0 || l->slots[i].deadline < next))
			next = l->slots[i].deadline;
	return next == 0 ? -1 : (int)((next - now) * 1000) + 1;
}

/* Takes a slot for fd when there is room for it and its address; under h->lock. */
static bool take_slot(struct listener *l, int fd, const unsigned char ip[16])
{
	struct cw_http *h = l->h;
	if (l->active >= h->o.conn_limit || slots_of_ip(l, ip) >= h->per_client)
		return false;
	for (unsigned i = 0; i < h->o.conn_limit; i++) {
		struct slot *s = &l->slots[i];
		if (s->fd >= 0)
			continue;
		*s = (struct slot){ .fd = fd, .deadline = cw_clock_seconds(CLOCK_MONOTONIC) + h->o.timeout_s };
		memcpy(s->ip, ip, 16);
		l->active++;
		return true;
	}
	return false;
}

static void give_slot(struct listener *l, int fd)
{
	pthread_mutex_lock(&l->h->lock);
	for (unsigned i = 0; i < l->h->o.conn_limit; i++) {
		if (l->slots[i].fd == fd) {
			l->slots[i].fd = -1;
			l->active--;
			break;
		}
	}
	pthread_mutex_unlock(&l->h->lock);
}

static void hand_over(struct listener *l, const struct parked *p)
{
	/* On failure libmicrohttpd closes the socket itself and never reports it CLOSED. */
	if (MHD_add_connection(l->d, p->fd, (const struct sockaddr *)&p->ss, p->sl) != MHD_YES) {
		give_slot(l, p->fd);
		cw_debug("libmicrohttpd refused a connection", "address", l->bound);
	}
}

/* Admits p, or parks it while its address is at its limit (closes it when
 * the park is full). */
static void admit(struct listener *l, const struct parked *p)
{
	pthread_mutex_lock(&l->h->lock);
	bool ok = take_slot(l, p->fd, p->ip);
	pthread_mutex_unlock(&l->h->lock);
	if (ok)
		hand_over(l, p);
	else if (l->npark < l->h->park_limit)
		l->park[l->npark++] = *p;
	else
		close(p->fd);
}

/* Hands parked connections over, oldest first, as their addresses get room. */
static void unpark(struct listener *l)
{
	size_t kept = 0;
	for (size_t i = 0; i < l->npark; i++) {
		struct parked p = l->park[i];
		pthread_mutex_lock(&l->h->lock);
		bool ok = take_slot(l, p.fd, p.ip);
		pthread_mutex_unlock(&l->h->lock);
		if (ok)
			hand_over(l, &p);
		else
			l->park[kept++] = p;
	}
	l->npark = kept;
}

static void accept_one(struct listener *l)
{
	struct parked p = { .sl = sizeof(p.ss) };
	p.fd = accept4(l->fd, (struct sockaddr *)&p.ss, &p.sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (p.fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			usleep(100 * 1000); /* out of resources: let connections finish first */
		return;
	}
	ip_key(&p.ss, p.ip);
	admit(l, &p);
}

static void *accept_loop(void *arg)
{
	struct listener *l = arg;
	struct cw_http *h = l->h;
	while (!stopping(h)) {
		unpark(l);
		pthread_mutex_lock(&h->lock);
		int timeout_ms = reap(l, cw_clock_seconds(CLOCK_MONOTONIC));
		bool room = l->active < h->o.conn_limit && l->npark < h->park_limit;
		pthread_mutex_unlock(&h->lock);
		/* Without room the listen socket is left alone: clients wait in the backlog. */
		struct pollfd p[3] = { { .fd = h->stop_fd, .events = POLLIN }, { .fd = l->wake_fd, .events = POLLIN },
				       { .fd = room ? l->fd : -1, .events = POLLIN } };
		if (poll(p, 3, timeout_ms) < 0 && errno != EINTR)
			break;
		uint64_t n;
		if ((p[1].revents & POLLIN) && read(l->wake_fd, &n, sizeof(n)) < 0)
			cw_debug("cannot read the acceptor's wake-up", "error", strerror(errno));
		if (p[2].revents & POLLIN)
			accept_one(l);
	}
	for (size_t i = 0; i < l->npark; i++)
		close(l->park[i].fd);
	l->npark = 0;
	return NULL;
}

static int start_daemon(struct cw_http *h, struct listener *l, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
			 MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
	const char *cert = cw_webconfig_cert_pem(h->o.web);
	if (cert)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cw_webconfig_key_pem(h->o.web) },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)cw_webconfig_tls_priorities(h->o.web) },
		{ MHD_OPTION_END, 0, NULL },
	};
	l->h = h;
	l->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l,
				MHD_OPTION_CONNECTION_LIMIT, h->o.conn_limit * 4 + 16,
				MHD_OPTION_CONNECTION_TIMEOUT, h->o.timeout_s,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_LIMIT,
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
				MHD_OPTION_ARRAY, cert ? tls : tls + 3,
				MHD_OPTION_END);
	if (!l->d) {
		snprintf(err, errlen, "cannot start the HTTP server on %s%s", l->bound,
			 cert ? " (TLS setup failed; check the key, certificate and min_version)" : "");
		return -1;
	}
	if (pthread_create(&l->acceptor, NULL, accept_loop, l)) {
		snprintf(err, errlen, "cannot start the HTTP server on %s: no thread", l->bound);
		return -1;
	}
	l->acceptor_running = true;
	return 0;
}

/* Limits derived from conn_limit (see struct listener). */
static void set_limits(struct cw_http *h)
{
	unsigned n = h->o.conn_limit;
	h->per_client = h->o.per_client_limit ? h->o.per_client_limit : n / 4;
	if (h->per_client == 0)
		h->per_client = 1;
	h->pending_limit = n - (n / 4 ? n / 4 : 1);
	if (h->pending_limit == 0)
		h->pending_limit = 1;
	h->park_limit = (size_t)n * 4;
}

static int listener_init(struct cw_http *h, struct listener *l)
{
	l->h = h;
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->slots = calloc(h->o.conn_limit, sizeof(*l->slots));
	l->park = calloc(h->park_limit, sizeof(*l->park));
	if (l->wake_fd < 0 || !l->slots || !l->park)
		return -1;
	for (unsigned i = 0; i < h->o.conn_limit; i++)
		l->slots[i].fd = -1;
	return 0;
}

int cw_http_start(const struct cw_http_opts *opts, struct cw_http **out, char *err, size_t errlen)
{
	struct cw_http *h = calloc(1, sizeof(*h));
	int ret = -1;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->o = *opts;
	set_limits(h);
	h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&h->lock, NULL);
	struct cw_expo_source src = { .ctx = opts->h.ctx, .version = opts->h.version, .render = opts->h.metrics };
	if (h->stop_fd < 0 || !(h->ls = calloc(opts->nlisten ? opts->nlisten : 1, sizeof(*h->ls))) ||
	    !(h->telemetry_path = strdup(opts->telemetry_path)) || !(h->expo = cw_expo_cache_new(&src))) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < opts->nlisten; i++)
		h->ls[i].fd = h->ls[i].wake_fd = -1;
	/* Bind everything first: a taken port fails the start before any thread runs. */
	for (size_t i = 0; i < opts->nlisten; i++) {
		h->nls++;
		if (listener_init(h, &h->ls[i])) {
			snprintf(err, errlen, "out of memory");
			goto cleanup;
		}
		if (bind_address(opts->listen[i], &h->ls[i].fd, err, errlen))
			goto cleanup;
		describe_bound(h->ls[i].fd, h->ls[i].bound, sizeof(h->ls[i].bound));
	}
	for (size_t i = 0; i < h->nls; i++)
		if (start_daemon(h, &h->ls[i], err, errlen))
			goto cleanup;
	*out = h;
	h = NULL;
	ret = 0;
cleanup:
	if (h)
		cw_http_stop(h, 0);
	return ret;
}

const char *cw_http_bound_address(const struct cw_http *h, size_t i)
{
	return i < h->nls ? h->ls[i].bound : NULL;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void cw_http_stop(struct cw_http *h, unsigned grace_ms)
{
	if (!h)
		return;
	/* Stop accepting: the acceptors quit and the listen sockets close, so new
	 * clients are refused. */
	__atomic_store_n(&h->stopping, 1, __ATOMIC_RELEASE);
	if (h->stop_fd >= 0)
		wake(h->stop_fd);
	for (size_t i = 0; h->ls && i < h->nls; i++) {
		if (h->ls[i].acceptor_running)
			pthread_join(h->ls[i].acceptor, NULL);
		if (h->ls[i].fd >= 0)
			close(h->ls[i].fd);
	}
	/* Requests in flight finish (their responses say Connection: close). */
	double deadline = now_ms() + grace_ms;
	while (__atomic_load_n(&h->inflight, __ATOMIC_ACQUIRE) > 0 && now_ms() < deadline)
		usleep(10 * 1000);
	for (size_t i = 0; h->ls && i < h->nls; i++) {
		struct listener *l = &h->ls[i];
		if (l->d)
			MHD_stop_daemon(l->d);
		if (l->wake_fd >= 0)
			close(l->wake_fd);
		free(l->slots);
		free(l->park);
	}
	cw_expo_cache_free(h->expo); /* after the daemons: their responses are gone */
	if (h->stop_fd >= 0)
		close(h->stop_fd);
	pthread_mutex_destroy(&h->lock);
	free(h->ls);
	free(h->telemetry_path);
	free(h);
}
