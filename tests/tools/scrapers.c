/* Test tool: N scrapers connect at once, send together, and check every response is complete.
 *   scrapers HOST PORT PATH N [OUTDIR] [ACCEPT]
 * Prints "complete C/N p50 P p99 Q max M" (seconds) and exits 0 only when all N
 * responses were 200 with a body of exactly Content-Length bytes that ends in a
 * newline (and "# EOF\n" when ACCEPT asks for OpenMetrics). With OUTDIR, body i
 * is written to OUTDIR/i.prom for promtool. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
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
static pthread_barrier_t go;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: scrapers HOST PORT PATH N [OUTDIR] [ACCEPT]\n");
		return 2;
	}
	host = argv[1];
	port = atoi(argv[2]);
	path = argv[3];
	int nj = atoi(argv[4]);
	outdir = argc > 5 && *argv[5] ? argv[5] : NULL;
	accept_hdr = argc > 6 ? argv[6] : NULL;
	if (nj <= 0)
		return 2;
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
