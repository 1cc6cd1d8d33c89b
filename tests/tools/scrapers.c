/* Test tool: N scrapers connect at once, send together, and check every response is complete.
 *   scrapers HOST PORT PATH N [OUTDIR] [ACCEPT]
 * Prints "complete C/N p50 P p99 Q max M" (seconds) and exits 0 only when all N
 * responses were 200 with a body of exactly Content-Length bytes that ends in a
 * newline (and "# EOF\n" when ACCEPT asks for OpenMetrics). With OUTDIR, body i
 * is written to OUTDIR/i.prom for promtool.
 *   scrapers --rate BPS --seconds S HOST PORT PATH N
 * Slow scrapers: each reads its response at BPS bytes/s for at most S seconds;
 * prints "slow C/N" (C: answered 200) and exits 0 when all were.
 *   scrapers --slowloris S [--sources K] HOST PORT N
 * Slowloris: N connections send one header byte every 200 ms for S seconds,
 * reconnecting whatever the server closes; from 127.0.0.1, or spread over
 * 127.0.1.1..K. Prints "slowloris connects C closed-by-server D". */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_RESP (16 << 20)

struct job {
	int id;
	double seconds;
	int ok;
	char why[128];
};

static const char *host, *path, *outdir, *accept_hdr;
static int port;
static long rate;        /* --rate: bytes per second per scraper */
static double seconds;   /* --rate, --slowloris: how long */
static int sources;      /* --sources */
static pthread_barrier_t go;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Connects from src (any local address when NULL). */
static int dial_from(const char *src)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	struct sockaddr_in me = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (src && (inet_pton(AF_INET, src, &me.sin_addr) != 1 || bind(fd, (struct sockaddr *)&me, sizeof(me)))) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int dial(void)
{
	return dial_from(NULL);
}

static int check(struct job *j, char *resp, size_t n)
{
	char *body = strstr(resp, "\r\n\r\n");
	if (!body || strncmp(resp, "HTTP/1.1 200", 12))
		return snprintf(j->why, sizeof(j->why), "not a 200 response: %.40s", resp), -1;
	body += 4;
	char *cl = strcasestr(resp, "\r\nContent-Length:");
	size_t blen = n - (size_t)(body - resp);
	if (!cl || strtoul(cl + 17, NULL, 10) != blen)
		return snprintf(j->why, sizeof(j->why), "body of %zu bytes, Content-Length says otherwise", blen), -1;
	if (blen == 0 || body[blen - 1] != '\n')
		return snprintf(j->why, sizeof(j->why), "body does not end in a newline"), -1;
	if (accept_hdr && strstr(accept_hdr, "openmetrics") && (blen < 6 || strcmp(body + blen - 6, "# EOF\n")))
		return snprintf(j->why, sizeof(j->why), "OpenMetrics body without # EOF"), -1;
	if (outdir) {
		char fn[512];
		snprintf(fn, sizeof(fn), "%s/%d.prom", outdir, j->id);
		FILE *f = fopen(fn, "w");
		if (!f || fwrite(body, 1, blen, f) != blen)
			return snprintf(j->why, sizeof(j->why), "cannot write body %d", j->id), -1;
		fclose(f);
	}
	return 0;
}

static void *scrape(void *arg)
{
	struct job *j = arg;
	char req[1024];
	int fd = dial();
	pthread_barrier_wait(&go); /* all connected (or queued in the backlog): now send together */
	double t0 = now();
	if (fd < 0) {
		snprintf(j->why, sizeof(j->why), "connect failed");
		return NULL;
	}
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s%s%s\r\n", path,
			 host, accept_hdr ? "Accept: " : "", accept_hdr ? accept_hdr : "", accept_hdr ? "\r\n" : "");
	char *resp = malloc(MAX_RESP + 1);
	size_t got = 0;
	if (resp && write(fd, req, (size_t)n) == n) {
		ssize_t r;
		while (got < MAX_RESP && (r = read(fd, resp + got, MAX_RESP - got)) > 0)
			got += (size_t)r;
		resp[got] = '\0';
		j->ok = check(j, resp, got) == 0;
	} else {
		snprintf(j->why, sizeof(j->why), "send failed");
	}
	j->seconds = now() - t0;
	free(resp);
	close(fd);
	return NULL;
}


/* One slow scraper: reads at most `rate` bytes a second for `seconds`. */
static void *scrape_slowly(void *arg)
{
	struct job *j = arg;
	char req[512], buf[65536];
	int fd = dial();
	pthread_barrier_wait(&go);
	if (fd < 0)
		return snprintf(j->why, sizeof(j->why), "connect failed"), NULL;
	int rcv = 4096; /* the kernel must not read ahead for us */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
	double t0 = now();
	size_t chunk = (size_t)(rate / 10 > 0 ? rate / 10 : 1);
	if (chunk > sizeof(buf))
		chunk = sizeof(buf);
	if (write(fd, req, (size_t)n) != n) {
		snprintf(j->why, sizeof(j->why), "send failed");
	} else {
		ssize_t r;
		bool first = true;
		while (now() - t0 < seconds && (r = read(fd, buf, chunk)) > 0) {
			if (first)
				j->ok = r >= 12 && !strncmp(buf, "HTTP/1.1 200", 12);
			first = false;
			usleep(100 * 1000);
		}
		if (!j->ok)
			snprintf(j->why, sizeof(j->why), "no 200 answer");
	}
	j->seconds = now() - t0;
	close(fd);
	return NULL;
}

static int run_slow(int nj)
{
	struct job *jobs = calloc((size_t)nj, sizeof(*jobs));
	pthread_t *th = calloc((size_t)nj, sizeof(*th));
	if (!jobs || !th)
		return 1;
	pthread_barrier_init(&go, NULL, (unsigned)nj);
	for (int i = 0; i < nj; i++)
		if (pthread_create(&th[i], NULL, scrape_slowly, &jobs[i]))
			return 1;
	int ok = 0;
	for (int i = 0; i < nj; i++) {
		pthread_join(th[i], NULL);
		ok += jobs[i].ok;
		if (!jobs[i].ok)
			fprintf(stderr, "slow scraper %d: %s\n", i, jobs[i].why);
	}
	printf("slow %d/%d\n", ok, nj);
	pthread_barrier_destroy(&go);
	free(jobs);
	free(th);
	return ok == nj ? 0 : 1;
}

static int run_slowloris(int nj)
{
	int *fds = calloc((size_t)nj, sizeof(*fds));
	long connects = 0, closed = 0;
	char src[32];
	if (!fds)
		return 1;
	for (int i = 0; i < nj; i++)
		fds[i] = -1;
	for (double t0 = now(); now() - t0 < seconds; usleep(200 * 1000)) {
		for (int i = 0; i < nj; i++) {
			char c;
			if (fds[i] < 0) {
				snprintf(src, sizeof(src), sources ? "127.0.1.%d" : "127.0.0.1", sources ? i % sources + 1 : 0);
				fds[i] = dial_from(src);
				connects++;
				if (fds[i] >= 0 && send(fds[i], "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL) != 16) {
					close(fds[i]);
					fds[i] = -1;
				}
			} else if (send(fds[i], "X", 1, MSG_NOSIGNAL) != 1 || recv(fds[i], &c, 1, MSG_DONTWAIT) == 0) {
				close(fds[i]);
				fds[i] = -1;
				closed++;
			}
		}
	}
	for (int i = 0; i < nj; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	printf("slowloris connects %ld closed-by-server %ld\n", connects, closed);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: scrapers HOST PORT PATH N [OUTDIR] [ACCEPT]\n"
			"       scrapers --rate BPS --seconds S HOST PORT PATH N\n"
			"       scrapers --slowloris S [--sources K] HOST PORT N\n");
	return 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "slowloris", required_argument, NULL, 'l' },
		{ "sources", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	bool loris = false;
	for (int o; (o = getopt_long(argc, argv, "+", opts, NULL)) != -1;) {
		switch (o) {
		case 'r': rate = atol(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'l': loris = true; seconds = atof(optarg); break;
		case 'k': sources = atoi(optarg); break;
		default: return usage();
		}
	}
	argv += optind - 1;
	argc -= optind - 1;
	if (argc < (loris ? 4 : 5))
		return usage();
	host = argv[1];
	port = atoi(argv[2]);
	if (loris)
		return atoi(argv[3]) > 0 ? run_slowloris(atoi(argv[3])) : usage();
	path = argv[3];
	int nj = atoi(argv[4]);
	outdir = argc > 5 && *argv[5] ? argv[5] : NULL;
	accept_hdr = argc > 6 ? argv[6] : NULL;
	if (nj <= 0)
		return 2;
	if (rate > 0)
		return run_slow(nj);
	struct job *jobs = calloc((size_t)nj, sizeof(*jobs));
	pthread_t *th = calloc((size_t)nj, sizeof(*th));
	double *lat = calloc((size_t)nj, sizeof(*lat));
	if (!jobs || !th || !lat)
		return 1;
	pthread_barrier_init(&go, NULL, (unsigned)nj);
	for (int i = 0; i < nj; i++) {
		jobs[i].id = i;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, 256 * 1024);
		if (pthread_create(&th[i], &at, scrape, &jobs[i]))
			return 1;
	}
	int complete = 0;
	for (int i = 0; i < nj; i++) {
		pthread_join(th[i], NULL);
		lat[i] = jobs[i].seconds;
		complete += jobs[i].ok;
		if (!jobs[i].ok)
			fprintf(stderr, "scraper %d: %s\n", i, jobs[i].why);
	}
	qsort(lat, (size_t)nj, sizeof(*lat), cmp_double);
	printf("complete %d/%d p50 %.4f p99 %.4f max %.4f\n", complete, nj, lat[nj / 2], lat[(nj * 99) / 100],
	       lat[nj - 1]);
	pthread_barrier_destroy(&go);
	free(jobs);
	free(th);
	free(lat);
	return complete == nj ? 0 : 1;
}
