/* Tests of the HTTP server in-process: header parsing, routing, methods, limits, negotiation, auth. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "http/expo_cache.h"
#include "http/server.h"

/* ---- header parsing ----------------------------------------------------- */

static void test_split_address(void **state)
{
	(void)state;
	char h[64], p[8];
	assert_int_equal(cw_http_split_address(":9745", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "");
	assert_string_equal(p, "9745");
	assert_int_equal(cw_http_split_address("127.0.0.1:80", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_int_equal(cw_http_split_address("[::1]:0", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "::1");
	assert_string_equal(p, "0");
	assert_int_equal(cw_http_split_address("localhost:9", h, sizeof(h), p, sizeof(p)), 0);
	const char *bad[] = { "9745", "::1:80", "host:", "host:65536", "host:http", "[::1]80", "[::1", ":123456" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cw_http_split_address(bad[i], h, sizeof(h), p, sizeof(p)) == 0)
			fail_msg("accepted %s", bad[i]);
}

static void test_negotiation(void **state)
{
	(void)state;
	assert_false(cw_http_wants_openmetrics(NULL));
	assert_false(cw_http_wants_openmetrics("*/*"));
	assert_false(cw_http_wants_openmetrics("text/plain"));
	assert_true(cw_http_wants_openmetrics("application/openmetrics-text"));
	/* what Prometheus 2.x sends */
	assert_true(cw_http_wants_openmetrics("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
					      "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
	assert_false(cw_http_wants_openmetrics("application/openmetrics-text;q=0.2, text/plain;q=0.9"));
	assert_false(cw_http_wants_openmetrics("application/openmetrics-text;q=0"));
	assert_true(cw_http_wants_openmetrics(" Application/OpenMetrics-Text ; version=1.0.0 ; q=0.9 , */*;q=0.1"));

	assert_false(cw_http_accepts_gzip(NULL));
	assert_true(cw_http_accepts_gzip("gzip"));
	assert_true(cw_http_accepts_gzip("deflate, gzip;q=1.0, *;q=0.5"));
	assert_false(cw_http_accepts_gzip("gzip;q=0"));
	assert_false(cw_http_accepts_gzip("identity"));
	assert_true(cw_http_accepts_gzip("*"));
	assert_false(cw_http_accepts_gzip("*, gzip;q=0"));
	assert_false(cw_http_accepts_gzip("gzipx"));
}

static void test_parse_basic(void **state)
{
	(void)state;
	char *u, *p;
	/* "alice:pa:ss" */
	assert_int_equal(cw_http_parse_basic("Basic YWxpY2U6cGE6c3M=", &u, &p), 0);
	assert_string_equal(u, "alice");
	assert_string_equal(p, "pa:ss");
	free(u);
	assert_int_equal(cw_http_parse_basic("basic  YTo=", &u, &p), 0); /* "a:" */
	assert_string_equal(u, "a");
	assert_string_equal(p, "");
	free(u);
	const char *bad[] = { NULL, "", "Bearer abc", "Basic", "Basic !!!!", "Basic YWxpY2U=" /* no colon */,
			      "Basic YQBiOmM=" /* NUL inside */, "Basic Y" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cw_http_parse_basic(bad[i], &u, &p) == 0)
			fail_msg("accepted %s", bad[i] ? bad[i] : "NULL");
}

/* ---- a live server ------------------------------------------------------ */

struct stub {
	bool ready;
	int reloads;
	size_t body_bytes; /* size of the fake exposition */
	uint64_t version;  /* atomic: the snapshot version the stub shows */
	bool bump;         /* every version() call sees a new version */
	int renders;       /* atomic */
};

static uint64_t stub_version(void *ctx)
{
	struct stub *s = ctx;
	if (s->bump)
		return __atomic_add_fetch(&s->version, 1, __ATOMIC_ACQ_REL);
	return __atomic_load_n(&s->version, __ATOMIC_ACQUIRE);
}

static int stub_metrics(void *ctx, enum cw_expo_format fmt, struct cw_buf *out, uint64_t *version)
{
	struct stub *s = ctx;
	*version = __atomic_load_n(&s->version, __ATOMIC_ACQUIRE);
	__atomic_add_fetch(&s->renders, 1, __ATOMIC_ACQ_REL);
	cw_buf_puts(out, fmt == CW_EXPO_OPENMETRICS ? "# om\n" : "# text\n");
	for (size_t i = 0; i < s->body_bytes / 16; i++)
		cw_buf_puts(out, "x_total 1234567\n");
	if (fmt == CW_EXPO_OPENMETRICS)
		cw_buf_puts(out, "# EOF\n");
	return 0;
}

static int stub_landing(void *ctx, struct cw_buf *out)
{
	(void)ctx;
	cw_buf_puts(out, "<html>hi</html>");
	return 0;
}

static bool stub_ready(void *ctx)
{
	return ((struct stub *)ctx)->ready;
}

static int stub_reload(void *ctx, char *err, size_t errlen)
{
	struct stub *s = ctx;
	s->reloads++;
	snprintf(err, errlen, "bad config");
	return s->reloads > 1 ? -1 : 0;
}

static int port_of(struct cw_http *h)
{
	const char *b = cw_http_bound_address(h, 0);
	return atoi(strrchr(b, ':') + 1);
}

/* Sends raw bytes, returns the whole response (connection closed by either side). */
static char *request(int port, const char *raw, size_t rawlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (size_t off = 0; off < rawlen;) {
		ssize_t w = send(fd, raw + off, rawlen - off, MSG_NOSIGNAL);
		if (w <= 0)
			break; /* the server may answer and close before reading everything */
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	size_t cap = 1 << 20, n = 0;
	char *resp = malloc(cap + 1);
	ssize_t r;
	while (n < cap && (r = recv(fd, resp + n, cap - n, 0)) > 0)
		n += (size_t)r;
	resp[n] = '\0';
	close(fd);
	return resp;
}

static char *get(int port, const char *method, const char *path, const char *headers)
{
	char raw[8192];
	int n = snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n", method, path,
			 headers ? headers : "");
	return request(port, raw, (size_t)n);
}

static int status_of(const char *resp)
{
	return strncmp(resp, "HTTP/1.1 ", 9) ? -1 : atoi(resp + 9);
}

#define assert_status(resp, code)                                                           \
	do {                                                                                 \
		if (status_of(resp) != (code))                                               \
			fail_msg("want %d, got:\n%.300s", code, resp);                       \
	} while (0)

/* A server on 127.0.0.1:0 with the given limits. */
static struct cw_http *start_with(struct stub *s, struct cw_webconfig *web, bool lifecycle, unsigned conn_limit,
				  unsigned timeout_s, unsigned per_client)
{
	static const char *listen[] = { "127.0.0.1:0" };
	struct cw_http_opts o = {
		.listen = listen, .nlisten = 1, .telemetry_path = "/metrics", .web = web,
		.conn_limit = conn_limit, .timeout_s = timeout_s, .per_client_limit = per_client,
		.h = { .ctx = s, .version = stub_version, .metrics = stub_metrics, .landing = stub_landing,
		       .ready = stub_ready, .reload = lifecycle ? stub_reload : NULL },
	};
	struct cw_http *h = NULL;
	char err[256];
	if (cw_http_start(&o, &h, err, sizeof(err)))
		fail_msg("start: %s", err);
	return h;
}

static struct cw_http *start(struct stub *s, struct cw_webconfig *web, bool lifecycle)
{
	return start_with(s, web, lifecycle, 8, 5, 0);
}

static void test_routes_and_methods(void **state)
{
	(void)state;
	struct stub s = { .body_bytes = 64 };
	struct cw_http *h = start(&s, NULL, false);
	int port = port_of(h);
	char *r;

	r = get(port, "GET", "/-/healthy", NULL);
	assert_status(r, 200);
	free(r);
	r = get(port, "GET", "/-/ready", NULL);
	assert_status(r, 503);
	free(r);
	s.ready = true;
	r = get(port, "GET", "/-/ready", NULL);
	assert_status(r, 200);
	free(r);
	r = get(port, "GET", "/", NULL);
	assert_status(r, 200);
	assert_non_null(strstr(r, "text/html"));
	free(r);
	r = get(port, "GET", "/nope", NULL);
	assert_status(r, 404);
	free(r);
	r = get(port, "GET", "/metrics/", NULL);
	assert_status(r, 404);
	free(r);
	r = get(port, "POST", "/metrics", "Content-Length: 0\r\n");
	assert_status(r, 405);
	assert_non_null(strstr(r, "\r\nAllow: GET, HEAD\r\n"));
	free(r);
	r = get(port, "DELETE", "/", NULL);
	assert_status(r, 405);
	free(r);
	r = get(port, "POST", "/-/reload", "Content-Length: 0\r\n"); /* lifecycle off: unknown */
	assert_status(r, 404);
	free(r);
	r = get(port, "HEAD", "/metrics", NULL);
	assert_status(r, 200);
	assert_non_null(strstr(r, "Content-Length: "));
	assert_null(strstr(r, "x_total")); /* no body for HEAD */
	free(r);
	cw_http_stop(h, 1000);
}

static void test_negotiated_responses(void **state)
{
	(void)state;
	struct stub s = { .body_bytes = 4096 };
	struct cw_http *h = start(&s, NULL, false);
	int port = port_of(h);
	char *r = get(port, "GET", "/metrics", NULL);
	assert_status(r, 200);
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(r, "\r\n\r\n# text\n"));
	free(r);
	r = get(port, "GET", "/metrics", "Accept: application/openmetrics-text; version=1.0.0\r\n");
	assert_non_null(strstr(r, "Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\n"));
	assert_non_null(strstr(r, "# EOF\n"));
	free(r);
	r = get(port, "GET", "/metrics", "Accept-Encoding: gzip\r\n");
	assert_non_null(strstr(r, "Content-Encoding: gzip\r\n"));
	assert_null(strstr(r, "x_total"));
	free(r);
	s.body_bytes = 16; /* too small to be worth compressing */
	__atomic_add_fetch(&s.version, 1, __ATOMIC_ACQ_REL);
	r = get(port, "GET", "/metrics", "Accept-Encoding: gzip\r\n");
	assert_null(strstr(r, "Content-Encoding"));
	free(r);
	cw_http_stop(h, 1000);
}

static void test_limits(void **state)
{
	(void)state;
	struct stub s = { .body_bytes = 16 };
	struct cw_http *h = start(&s, NULL, true);
	int port = port_of(h);
	/* a body over the limit */
	size_t big = 64 * 1024;
	char *raw = malloc(big + 256);
	int n = snprintf(raw, 256, "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", big);
	memset(raw + n, 'a', big);
	char *r = request(port, raw, (size_t)n + big);
	assert_status(r, 413);
	free(r);
	/* huge headers: rejected by the connection memory limit, never a crash */
	n = snprintf(raw, 256, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(raw + n, 'b', big - 10);
	memcpy(raw + n + big - 10, "\r\n\r\n", 4);
	r = request(port, raw, (size_t)n + big - 6);
	assert_true(status_of(r) == 431 || status_of(r) == 413 || status_of(r) == -1);
	free(r);
	/* garbage */
	static const char junk[] = "\x01\x02\x03 / HTTP/9\r\n\r\n";
	r = request(port, junk, sizeof(junk) - 1);
	assert_true(status_of(r) >= 400 || status_of(r) == -1);
	free(r);
	free(raw);
	/* the server still works */
	r = get(port, "GET", "/-/healthy", NULL);
	assert_status(r, 200);
	free(r);
	cw_http_stop(h, 1000);
}

static void test_reload_hook(void **state)
{
	(void)state;
	struct stub s = { 0 };
	struct cw_http *h = start(&s, NULL, true);
	int port = port_of(h);
	char *r = get(port, "POST", "/-/reload", "Content-Length: 0\r\n");
	assert_status(r, 200);
	free(r);
	r = get(port, "POST", "/-/reload", "Content-Length: 0\r\n");
	assert_status(r, 500);
	assert_non_null(strstr(r, "bad config"));
	free(r);
	r = get(port, "GET", "/-/reload", NULL);
	assert_status(r, 405);
	assert_non_null(strstr(r, "\r\nAllow: POST\r\n"));
	free(r);
	cw_http_stop(h, 1000);
}

static void test_basic_auth(void **state)
{
	(void)state;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], yaml[256], err[256];
	struct crypt_data cd;
	memset(&cd, 0, sizeof(cd));
	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  alice: %s\n", crypt_r("pw", salt, &cd));
	struct cw_webconfig *w;
	assert_int_equal(cw_webconfig_parse(yaml, strlen(yaml), "web.yml", &w, err, sizeof(err)), 0);
	struct stub s = { .ready = true };
	struct cw_http *h = start(&s, w, false);
	int port = port_of(h);
	char *r = get(port, "GET", "/metrics", NULL);
	assert_status(r, 401);
	assert_non_null(strstr(r, "\r\nWWW-Authenticate: Basic realm=\"cachewatch\"\r\n"));
	free(r);
	r = get(port, "GET", "/metrics", "Authorization: Basic YWxpY2U6cHc=\r\n"); /* alice:pw */
	assert_status(r, 200);
	free(r);
	r = get(port, "GET", "/-/ready", "Authorization: Basic YWxpY2U6cHc=\r\n");
	assert_status(r, 200);
	free(r);
	r = get(port, "GET", "/metrics", "Authorization: Basic YWxpY2U6cHg=\r\n"); /* alice:px */
	assert_status(r, 401);
	free(r);
	r = get(port, "GET", "/nope", NULL); /* auth comes before routing */
	assert_status(r, 401);
	free(r);
	cw_http_stop(h, 1000);
	cw_webconfig_free(w);
}

static void test_bind_errors(void **state)
{
	(void)state;
	struct stub s = { 0 };
	struct cw_http *h = start(&s, NULL, false);
	char taken[64], err[256];
	snprintf(taken, sizeof(taken), "127.0.0.1:%d", port_of(h));
	const char *listen[] = { "127.0.0.1:0", taken };
	struct cw_http_opts o = { .listen = listen, .nlisten = 2, .telemetry_path = "/metrics", .conn_limit = 4,
				  .timeout_s = 1, .h = { .ctx = &s, .version = stub_version, .metrics = stub_metrics, .landing = stub_landing,
							 .ready = stub_ready } };
	struct cw_http *h2 = NULL;
	assert_int_equal(cw_http_start(&o, &h2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot listen on"));
	assert_non_null(strstr(err, "in use"));
	listen[1] = "nonsense";
	assert_int_equal(cw_http_start(&o, &h2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "what is 'nonsense'"));
	cw_http_stop(h, 1000);
}


/* ---- shared renders ------------------------------------------------------- */

static int dial_from(int port, const char *src, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	struct sockaddr_in me = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	inet_pton(AF_INET, src, &me.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *s)
{
	size_t n = strlen(s);
	assert_int_equal(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}


static void test_scrapes_share_one_render(void **state)
{
	(void)state;
	struct stub s = { .body_bytes = 4096, .version = 7 };
	struct cw_http *h = start(&s, NULL, false);
	int port = port_of(h);
	const char *hdrs[] = { NULL, "Accept-Encoding: gzip\r\n", NULL, "Accept-Encoding: gzip\r\n" };
	for (size_t i = 0; i < 4; i++) {
		char *r = get(port, "GET", "/metrics", hdrs[i]);
		assert_status(r, 200);
		free(r);
	}
	assert_int_equal(__atomic_load_n(&s.renders, __ATOMIC_ACQUIRE), 1);
	char *r = get(port, "GET", "/metrics", "Accept: application/openmetrics-text\r\n");
	assert_non_null(strstr(r, "# om\n"));
	free(r);
	assert_int_equal(__atomic_load_n(&s.renders, __ATOMIC_ACQUIRE), 2); /* one per format */
	__atomic_add_fetch(&s.version, 1, __ATOMIC_ACQ_REL);
	r = get(port, "GET", "/metrics", NULL);
	free(r);
	assert_int_equal(__atomic_load_n(&s.renders, __ATOMIC_ACQUIRE), 3); /* a new snapshot, a new render */
	cw_http_stop(h, 1000);
}

/* Slow clients that never read their body, each scraping a new snapshot
 * version: renders alive at once stay within the budget, and fresh renders
 * resume once they are gone. */
static void test_slow_scrapers_bounded(void **state)
{
	(void)state;
	enum { N = 8 };
	struct stub s = { .body_bytes = 4 << 20, .bump = true };
	struct cw_http *h = start_with(&s, NULL, false, 16, 30, 16);
	char buf[512];
	int port = port_of(h), fds[N];
	for (int i = 0; i < N; i++) {
		fds[i] = dial_from(port, "127.0.0.1", 4096);
		assert_true(fds[i] >= 0);
		send_all(fds[i], "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_true(recv(fds[i], buf, sizeof(buf), 0) > 0); /* its response started, then it stalls */
	}
	assert_true(__atomic_load_n(&s.renders, __ATOMIC_ACQUIRE) <= CW_EXPO_MAX_LIVE);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	int before = __atomic_load_n(&s.renders, __ATOMIC_ACQUIRE);
	char *r = NULL;
	for (int i = 0; i < 100 && __atomic_load_n(&s.renders, __ATOMIC_ACQUIRE) == before; i++) {
		usleep(50 * 1000);
		free(r);
		s.body_bytes = 64;
		r = get(port, "GET", "/metrics", NULL);
	}
	assert_status(r, 200);
	free(r);
	assert_true(__atomic_load_n(&s.renders, __ATOMIC_ACQUIRE) > before);
	cw_http_stop(h, 1000);
}

/* ---- slowloris ------------------------------------------------------------ */

struct attack {
	int port;
	int n;
	bool many_sources;  /* 127.0.1.i each, else all from 127.0.0.1 */
	int stop;           /* atomic */
	int reconnects;
	pthread_t t;
};

/* Keeps n connections open, each sending one header byte every 200 ms (so
 * libmicrohttpd's idle timeout never fires), reconnecting whatever is closed. */
static void *attack_loop(void *arg)
{
	struct attack *a = arg;
	int fds[64];
	char src[32];
	for (int i = 0; i < a->n; i++)
		fds[i] = -1;
	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		for (int i = 0; i < a->n; i++) {
			if (fds[i] < 0) {
				snprintf(src, sizeof(src), a->many_sources ? "127.0.1.%d" : "127.0.0.1", i + 1);
				fds[i] = dial_from(a->port, src, 0);
				if (fds[i] >= 0 && send(fds[i], "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL) != 16) {
					close(fds[i]);
					fds[i] = -1;
				}
				a->reconnects++;
				continue;
			}
			char c;
			if (send(fds[i], "X", 1, MSG_NOSIGNAL) != 1 || recv(fds[i], &c, 1, MSG_DONTWAIT) == 0) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
		usleep(200 * 1000);
	}
	for (int i = 0; i < a->n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return NULL;
}

/* A fresh client from 127.0.0.2: its scrape must complete within 5 s. */
static void fresh_scrape_works(int port)
{
	int fd = dial_from(port, "127.0.0.2", 0);
	assert_true(fd >= 0);
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	send_all(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n <= 0)
		fail_msg("no answer to a fresh client within 5 s during the attack");
	buf[n] = '\0';
	assert_status(buf, 200);
}

static void slowloris(bool many_sources)
{
	struct stub s = { .body_bytes = 64 };
	struct cw_http *h = start_with(&s, NULL, false, 8, 30, 0);
	struct attack a = { .port = port_of(h), .n = 16, .many_sources = many_sources };
	assert_int_equal(pthread_create(&a.t, NULL, attack_loop, &a), 0);
	usleep(1000 * 1000); /* the attack holds whatever it can get */
	for (int i = 0; i < 3; i++)
		fresh_scrape_works(a.port);
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	pthread_join(a.t, NULL);
	cw_http_stop(h, 1000);
}

static void test_slowloris_one_address(void **state)
{
	(void)state;
	slowloris(false);
}

static void test_slowloris_many_addresses(void **state)
{
	(void)state;
	slowloris(true);
}

/* Headers trickled a byte at a time do not keep a connection past timeout_s. */
static void test_header_deadline(void **state)
{
	(void)state;
	struct stub s = { .body_bytes = 64 };
	struct cw_http *h = start_with(&s, NULL, false, 8, 2, 0);
	char c;
	int fd = dial_from(port_of(h), "127.0.0.1", 0);
	assert_true(fd >= 0);
	send_all(fd, "GET /metrics HTTP/1.1\r\n");
	bool closed = false;
	for (int i = 0; i < 40 && !closed; i++) { /* 8 s: four times the deadline */
		usleep(200 * 1000);
		closed = send(fd, "X", 1, MSG_NOSIGNAL) != 1 || recv(fd, &c, 1, MSG_DONTWAIT) == 0;
	}
	close(fd);
	assert_true(closed);
	cw_http_stop(h, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_address),
		cmocka_unit_test(test_negotiation),
		cmocka_unit_test(test_parse_basic),
		cmocka_unit_test(test_routes_and_methods),
		cmocka_unit_test(test_negotiated_responses),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_reload_hook),
		cmocka_unit_test(test_basic_auth),
		cmocka_unit_test(test_bind_errors),
		cmocka_unit_test(test_scrapes_share_one_render),
		cmocka_unit_test(test_slow_scrapers_bounded),
		cmocka_unit_test(test_slowloris_one_address),
		cmocka_unit_test(test_slowloris_many_addresses),
		cmocka_unit_test(test_header_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
