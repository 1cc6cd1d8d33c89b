/* `cachewatch run`: the agent (flags, startup, poll loop, HTTP, signals, shutdown). */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "lib/clock.h"
#include "dataplane/collector.h"
#include "agent/agent.h"
#include "config/config.h"
#include "http/server.h"
#include "dataplane/loader.h"
#include "lib/log.h"
#include "http/exposition.h"
#include "purge/purge.h"
#include "http/webconfig.h"

#define MAX_LISTEN 16
#define MAX_WATCH 256
#define CONN_LIMIT 64
#define CONN_TIMEOUT_S 10
#define SHUTDOWN_GRACE_MS 5000
#define LARGE_ALLOC_BYTES (256 * 1024)

/* Set by signal handlers, read by the main loop. */
static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t reload_signal;

struct agent_flags {
	struct cw_config_flags cfg;            /* what cw_config_resolve needs */
	const char *watch[MAX_WATCH];
	const char *listen[MAX_LISTEN];
	size_t nlisten;
	const char *telemetry_path;
	const char *web_config_file;
	bool enable_lifecycle;                 /* POST /-/reload */
	enum cw_log_level log_level;
	enum cw_log_format log_format;
};

/* A reload being read and validated off the main loop. */
struct reload_job {
	pthread_t thread;
	bool running;            /* main loop only */
	bool done;               /* atomic: the thread has finished */
	uint64_t asked;          /* HTTP requests it answers */
	int rc;                  /* written by the thread before done */
	struct cw_config next;
	char err[512];
};

struct agent {
	struct agent_flags f;
	struct cw_config cfg;
	struct cw_webconfig *web;
	struct cw_http *http;
	struct cw_loader *loader;
	struct cw_collector *coll;
	struct cw_snapbox *box;  /* atomic: NULL until BPF is attached */
	struct cw_purger *purger; /* atomic: NULL until started; main loop ticks it */
	struct cw_access_keeper *keeper; /* the access state file; main loop only */
	int ready;               /* atomic: attached and polled once */
	bool running;            /* reached the main loop: a clean stop saves the access state */
	int wake_fd;             /* eventfd: HTTP threads wake the main loop */
	struct reload_job reload;
	char kernel[65];

	pthread_mutex_t lock;    /* guards everything below */
	pthread_cond_t cond;
	bool have_scrape;
	double scrape_seconds;   /* the previous scrape's render time */
	bool has_config;         /* a config file is in use */
	bool last_reload_ok;
	double last_reload_success_time;
	uint64_t reload_asked;   /* HTTP reload requests: asked vs done, with the result */
	uint64_t reload_done;
	bool stopping;           /* no more reloads: waiters give up */
	int reload_rc;
	char reload_err[512];
};

/* ---- time --------------------------------------------------------------- */


/* ---- flags -------------------------------------------------------------- */

enum {
	OPT_WATCH = 0x100,
	OPT_GROUP_DEPTH,
	OPT_BPF_ATTACH,
	OPT_POLL_INTERVAL,
	OPT_STALE_TTL,
	OPT_LISTEN,
	OPT_TELEMETRY_PATH,
	OPT_WEB_CONFIG,
	OPT_LOG_LEVEL,
	OPT_LOG_FORMAT,
	OPT_HELP,
	OPT_CONFIG_FILE,
	OPT_ENABLE_LIFECYCLE,
	OPT_WAIT_FOR_PATH,
};

static const struct option long_opts[] = {
	{ "watch", required_argument, NULL, OPT_WATCH },
	{ "group-depth", required_argument, NULL, OPT_GROUP_DEPTH },
	{ "wait-for-path", no_argument, NULL, OPT_WAIT_FOR_PATH },
	{ "bpf.attach", required_argument, NULL, OPT_BPF_ATTACH },
	{ "poll.interval", required_argument, NULL, OPT_POLL_INTERVAL },
	{ "metrics.stale-ttl", required_argument, NULL, OPT_STALE_TTL },
	{ "web.listen-address", required_argument, NULL, OPT_LISTEN },
	{ "web.telemetry-path", required_argument, NULL, OPT_TELEMETRY_PATH },
	{ "web.config.file", required_argument, NULL, OPT_WEB_CONFIG },
	{ "log.level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log.format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "config.file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "web.enable-lifecycle", no_argument, NULL, OPT_ENABLE_LIFECYCLE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cachewatch run [OPTIONS]\n\n"
		"Attach the BPF programs, poll them, and serve Prometheus metrics.\n\n"
		"  --config.file FILE          YAML configuration (see docs/config.md); reloaded on\n"
		"                              SIGHUP; the flags below override its values\n"
		"  --web.enable-lifecycle      accept POST /-/reload to reload the configuration\n"
		"  --watch [NAME=]DIR          watch DIR as cache NAME (default: DIR's base name); repeatable\n"
		"  --group-depth N             split --watch caches into per-subdirectory series, 0..%d (default 0)\n"
		"  --wait-for-path             a --watch DIR that does not exist yet is watched once it\n"
		"                              appears (the config's wait_for_path: true)\n"
		"  --bpf.attach MODE           " CW_BACKEND_LIST " (default auto)\n"
		"  --poll.interval DURATION    how often the BPF maps are read (default 1s)\n"
		"  --metrics.stale-ttl DURATION how long a deleted directory's series stay (default 2m)\n"
		"  --web.listen-address ADDR   HOST:PORT, [IPV6]:PORT or :PORT; repeatable (default :9745)\n"
		"  --web.telemetry-path PATH   where metrics are served (default /metrics)\n"
		"  --web.config.file FILE      TLS and basic auth (exporter-toolkit format)\n"
		"  --log.level LEVEL           debug, info, warn or error (default info)\n"
		"  --log.format FORMAT         logfmt or json (default logfmt)\n"
		"  --version                   print the version\n"
		"  -h, --help                  this help\n"
		"\nWithout --config.file or --watch, the usual cache directories found on this machine\n"
		"are watched ('cachewatch check-config --embedded-default' lists them).\n",
		CW_MAX_GROUP_DEPTH);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "cachewatch run: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nRun 'cachewatch run --help' for the options.\n");
	va_end(ap);
	return 2;
}

static int set_flag(struct agent_flags *f, int opt, const char *v)
{
	switch (opt) {
	case OPT_WATCH:
		if (f->cfg.nwatch == MAX_WATCH)
			return usage_error("--watch: at most %d directories", MAX_WATCH);
		f->watch[f->cfg.nwatch++] = v;
		return 0;
	case OPT_GROUP_DEPTH: f->cfg.group_depth = v; return 0;
	case OPT_WAIT_FOR_PATH: f->cfg.wait_for_path = true; return 0;
	case OPT_BPF_ATTACH: f->cfg.bpf_attach = v; return 0;
	case OPT_POLL_INTERVAL: f->cfg.poll_interval = v; return 0;
	case OPT_STALE_TTL: f->cfg.stale_ttl = v; return 0;
	case OPT_LISTEN:
		if (f->nlisten == MAX_LISTEN)
			return usage_error("--web.listen-address: at most %d addresses", MAX_LISTEN);
		/* Syntax is checked here so a typo is a usage error (2); a failure to
		 * bind a well-formed address is a runtime failure (1) later. */
		char host[256], port[8];
		if (cw_http_split_address(v, host, sizeof(host), port, sizeof(port)))
			return usage_error("--web.listen-address: what is '%s'? expected HOST:PORT, "
					   "[IPV6]:PORT or :PORT with a port from 0 to 65535", v);
		f->listen[f->nlisten++] = v;
		return 0;
	case OPT_TELEMETRY_PATH:
		if (v[0] != '/' || !strcmp(v, "/") || !strncmp(v, "/-/", 3))
			return usage_error("--web.telemetry-path: what is '%s'? expected an absolute path "
					   "other than / and /-/...", v);
		f->telemetry_path = v;
		return 0;
	case OPT_WEB_CONFIG: f->web_config_file = v; return 0;
	case OPT_CONFIG_FILE: f->cfg.config_file = v; return 0;
	case OPT_ENABLE_LIFECYCLE: f->enable_lifecycle = true; return 0;
	case OPT_LOG_LEVEL:
		if (cw_log_parse_level(v, &f->log_level))
			return usage_error("--log.level: what is '%s'? expected debug, info, warn or error", v);
		return 0;
	case OPT_LOG_FORMAT:
		if (cw_log_parse_format(v, &f->log_format))
			return usage_error("--log.format: what is '%s'? expected logfmt or json", v);
		return 0;
	}
	return 2;
}

/* Returns -1 to go on, or the exit code (0 for --help). */
static int parse_flags(struct agent_flags *f, int argc, char **argv)
{
	*f = (struct agent_flags){ .telemetry_path = "/metrics", .log_level = CW_LOG_INFO };
	f->cfg.watch = f->watch;
	optind = 1;
	opterr = 0;
	for (;;) {
		int idx = 0;
		int opt = getopt_long(argc, argv, ":h", long_opts, &idx);
		if (opt == -1)
			break;
		if (opt == 'h' || opt == OPT_HELP) {
			usage(stdout);
			return 0;
		}
		if (opt == ':')
			return usage_error("flag %s needs a value", argv[optind - 1]);
		if (opt == '?')
			return usage_error("unknown flag %s", argv[optind - 1]);
		int rc = set_flag(f, opt, optarg);
		if (rc)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s' (directories are given with --watch)", argv[optind]);
	if (f->nlisten == 0)
		f->listen[f->nlisten++] = ":9745";
	return -1;
}

/* ---- what the HTTP threads see ------------------------------------------ */

/* The purge engine's per-cache stats, copied; none until it exists (its series
 * are then absent, not zero). Returns the count; *out is malloc'ed or NULL. */
static size_t agent_purge_stats(struct agent *a, struct cw_purge_stats **out)
{
	struct cw_purger *p = __atomic_load_n(&a->purger, __ATOMIC_ACQUIRE);
	*out = p ? calloc(CW_MAX_ROOTS, sizeof(**out)) : NULL;
	return *out ? cw_purger_stats(p, *out, CW_MAX_ROOTS) : 0;
}

static void fill_input(struct agent *a, struct cw_metrics_input *in, struct cw_snapshot *snap)
{
	*in = (struct cw_metrics_input){
		.snap = snap,
		.build = { .version = CW_VERSION, .revision = CW_REVISION, .kernel = a->kernel },
	};
	pthread_mutex_lock(&a->lock);
	in->has_scrape_duration = a->have_scrape;
	in->scrape_duration_seconds = a->scrape_seconds;
	in->has_config = a->has_config;
	in->last_reload_ok = a->last_reload_ok;
	in->last_reload_success_time = a->last_reload_success_time;
	pthread_mutex_unlock(&a->lock);
}

static struct cw_snapshot *current_snapshot(struct agent *a)
{
	struct cw_snapbox *box = __atomic_load_n(&a->box, __ATOMIC_ACQUIRE);
	return box ? cw_snapbox_get(box) : NULL;
}

static uint64_t http_version(void *ctx)
{
	struct cw_snapshot *snap = current_snapshot(ctx);
	uint64_t v = snap ? snap->version : 0;
	cw_snapshot_put(snap);
	return v;
}

static int http_metrics(void *ctx, enum cw_expo_format fmt, struct cw_buf *out, uint64_t *version)
{
	struct agent *a = ctx;
	double t0 = cw_clock_seconds(CLOCK_MONOTONIC);
	struct cw_snapshot *snap = current_snapshot(a);
	*version = snap ? snap->version : 0;
	struct cw_purge_stats *purge = NULL;
	struct cw_procstats proc;
	struct cw_metrics_input in;
	fill_input(a, &in, snap);
	in.npurge = agent_purge_stats(a, &purge);
	in.purge = purge;
	in.proc = cw_procstats_read(&proc) == 0 ? &proc : NULL;
	int rc = cw_metrics_render(&in, fmt, out);
	free(purge);
	cw_snapshot_put(snap);
	double took = cw_clock_seconds(CLOCK_MONOTONIC) - t0;
	pthread_mutex_lock(&a->lock);
	a->have_scrape = true;
	a->scrape_seconds = took;
	pthread_mutex_unlock(&a->lock);
	return rc;
}

static int http_landing(void *ctx, struct cw_buf *out)
{
	struct agent *a = ctx;
	struct cw_snapshot *snap = current_snapshot(a);
	struct cw_metrics_input in;
	fill_input(a, &in, snap);
	int rc = cw_landing_render(&in, a->f.telemetry_path, out);
	cw_snapshot_put(snap);
	return rc;
}

static bool http_ready(void *ctx)
{
	struct agent *a = ctx;
	return __atomic_load_n(&a->ready, __ATOMIC_ACQUIRE);
}

static void wake_main(struct agent *a)
{
	uint64_t one = 1;
	if (write(a->wake_fd, &one, sizeof(one)) < 0)
		cw_debug("cannot wake the main loop", "error", strerror(errno));
}

/* POST /-/reload: the main loop does the reload (it owns the collector); this
 * thread waits for that reload's result. */
static int http_reload(void *ctx, char *err, size_t errlen)
{
	struct agent *a = ctx;
	pthread_mutex_lock(&a->lock);
	uint64_t mine = ++a->reload_asked;
	wake_main(a);
	while (a->reload_done < mine && !a->stopping)
		pthread_cond_wait(&a->cond, &a->lock);
	int rc = a->reload_done >= mine ? a->reload_rc : -1;
	snprintf(err, errlen, "%s", a->reload_done >= mine ? a->reload_err : "shutting down");
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* ---- startup ------------------------------------------------------------ */

/* One info line per start or reload (names only), so the journal does not get
 * the whole configuration every time; paths and depths are at debug level. */
static void log_caches(const struct cw_config *cfg)
{
	char names[512] = "", count[16];
	size_t len = 0;

	for (size_t i = 0; i < cfg->ncaches; i++) {
		int w = snprintf(names + len, sizeof(names) - len, "%s%s", i ? "," : "",
				 cfg->caches[i].name);
		if (w < 0 || (size_t)w >= sizeof(names) - len) {
			memcpy(names + sizeof(names) - 4, "...", 4); /* truncated list */
			break;
		}
		len += (size_t)w;
	}
	snprintf(count, sizeof(count), "%zu", cfg->ncaches);
	if (cfg->ncaches)
		cw_info("watching caches", "count", count, "caches", names, "source",
			cfg->embedded ? "embedded default (no --config.file or --watch)" : "configuration");
	for (size_t i = 0; i < cfg->ncaches; i++) {
		char depth[16];
		snprintf(depth, sizeof(depth), "%u", cfg->caches[i].group_depth);
		cw_debug("watching cache", "cache", cfg->caches[i].name, "path", cfg->caches[i].path,
			 "group_depth", depth);
	}
	if (cfg->ncaches == 0)
		cw_warn("no caches to watch; add --watch DIR");
}

/* Flag values are checked by cw_config_resolve; its messages about flags start
 * with the flag's name and are usage errors (2), the rest runtime errors (1). */
static int load_config(struct agent *a)
{
	char err[512];
	if (cw_config_resolve(&a->f.cfg, &a->cfg, err, sizeof(err)) == 0) {
		a->has_config = a->f.cfg.config_file != NULL;
		a->last_reload_ok = true;
		a->last_reload_success_time = cw_clock_seconds(CLOCK_REALTIME);
		return 0;
	}
	fprintf(stderr, "cachewatch run: %s\n", err);
	return strncmp(err, "--", 2) ? 1 : 2;
}

static int start_http(struct agent *a)
{
	char err[512];
	if (a->f.web_config_file && cw_webconfig_load(a->f.web_config_file, &a->web, err, sizeof(err))) {
		cw_error("cannot use the web config", "file", a->f.web_config_file, "error", err);
		return 1;
	}
	struct cw_http_opts o = {
		.listen = a->f.listen,
		.nlisten = a->f.nlisten,
		.telemetry_path = a->f.telemetry_path,
		.web = a->web,
		.conn_limit = CONN_LIMIT,
		.timeout_s = CONN_TIMEOUT_S,
		.h = { .ctx = a, .version = http_version, .metrics = http_metrics, .landing = http_landing, .ready = http_ready,
		       .reload = a->f.enable_lifecycle ? http_reload : NULL },
	};
	if (cw_http_start(&o, &a->http, err, sizeof(err))) {
		cw_error("cannot start the HTTP server", "error", err);
		return 1;
	}
	for (size_t i = 0; i < a->f.nlisten; i++)
		cw_info("listening", "address", cw_http_bound_address(a->http, i), "tls",
			cw_webconfig_cert_pem(a->web) ? "true" : "false", "basic_auth",
			cw_webconfig_has_auth(a->web) ? "true" : "false");
	return 0;
}

static int attach_bpf(struct agent *a)
{
	char err[512] = "";
	struct cw_loader_opts lo = { .backend = a->cfg.attach, .max_walk = a->cfg.max_walk,
				     .access_records = a->cfg.access_records };
	if (cw_loader_open(&lo, &a->loader, err, sizeof(err))) {
		cw_error("cannot attach the BPF programs", "error", err);
		return 1;
	}
	if (cw_collector_new(a->loader, a->cfg.stale_ttl_ms, &a->coll)) {
		cw_error("cannot start the collector");
		return 1;
	}
	if (cw_collector_apply(a->coll, a->cfg.caches, a->cfg.ncaches, err, sizeof(err))) {
		cw_error("cannot watch the configured caches", "error", err);
		return 1;
	}
	__atomic_store_n(&a->box, cw_collector_box(a->coll), __ATOMIC_RELEASE);
	return 0;
}

/* The purge engine runs its scans in worker threads; the main loop only ticks
 * it after each poll, with the snapshot that poll published. */
static int start_purger(struct agent *a)
{
	struct cw_purger *p = cw_purger_new();
	cw_purger_set_access(p, cw_access_keeper_source(a->keeper));
	if (!p || cw_purger_set_caches(p, a->cfg.caches, a->cfg.ncaches)) {
		cw_purger_free(p);
		cw_error("cannot start the purge engine");
		return 1;
	}
	__atomic_store_n(&a->purger, p, __ATOMIC_RELEASE);
	return 0;
}

/* Access records kept across restarts: loaded and seeded into the data plane
 * before the first purge; a bad state file is logged and ignored, never fatal. */
static int load_access_state(struct agent *a)
{
	a->keeper = cw_access_keeper_start(a->loader, &a->cfg);
	if (!a->keeper)
		cw_warn("access state not kept: out of memory");
	return 0;
}

/* Which records are of files gone comes from the purger's last scans, built
 * only when a save is due. */
static void access_tick(struct agent *a, double now)
{
	struct cw_access_seen seen = { 0 };
	if (cw_access_keeper_due(a->keeper, now, &a->cfg) && cw_purger_seen(a->purger, &seen))
		cw_debug("access state: no memory to find the records of files gone");
	cw_access_keeper_tick(a->keeper, now, &a->cfg, &seen);
}

static void purge_tick(struct agent *a, double now)
{
	struct cw_snapshot *snap = cw_snapbox_get(a->box);
	cw_purger_tick(a->purger, now, snap);
	cw_snapshot_put(snap);
}

/* ---- main loop ---------------------------------------------------------- */

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_signal = 1;
	else
		stop_signal = sig;
}

/* Signals stay blocked in every thread (threads inherit the mask) and are only
 * let in while the main loop sleeps in ppoll, so no flag is ever missed, and
 * during the start-up stages that create no thread (see run_stage). */
static int setup_signals(sigset_t *wait_mask)
{
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &block, wait_mask))
		return -1;
	sigdelset(wait_mask, SIGINT);
	sigdelset(wait_mask, SIGTERM);
	sigdelset(wait_mask, SIGHUP);
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	struct sigaction ign = { .sa_handler = SIG_IGN };
	return sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) || sigaction(SIGHUP, &sa, NULL) ||
	       sigaction(SIGPIPE, &ign, NULL);
}

/* Applies a configuration read by the reload thread; a bad one (rc != 0) keeps
 * the running configuration. Main loop only (it owns the collector). */
static int apply_reload(struct agent *a, int rc, struct cw_config *next, char *err, size_t errlen)
{
	rc = rc ?: cw_collector_apply(a->coll, next->caches, next->ncaches, err, errlen);
	pthread_mutex_lock(&a->lock);
	a->last_reload_ok = rc == 0;
	if (rc == 0)
		a->last_reload_success_time = cw_clock_seconds(CLOCK_REALTIME);
	pthread_mutex_unlock(&a->lock);
	if (rc) {
		cw_config_free(next);
		cw_error("reload failed; keeping the running configuration", "error", err);
		return -1;
	}
	/* The BPF object and the collector are set up once: these three keep their
	 * running values (poll_interval and the caches do change live). */
	if (next->attach != a->cfg.attach || next->max_walk != a->cfg.max_walk ||
	    next->access_records != a->cfg.access_records || next->stale_ttl_ms != a->cfg.stale_ttl_ms)
		cw_warn("bpf.attach, bpf.max_walk, bpf.access_records and stale_ttl changes take effect at the next restart");
	next->attach = a->cfg.attach;
	next->max_walk = a->cfg.max_walk;
	next->access_records = a->cfg.access_records;
	next->stale_ttl_ms = a->cfg.stale_ttl_ms;
	cw_config_free(&a->cfg);
	a->cfg = *next;
	if (cw_purger_set_caches(a->purger, a->cfg.caches, a->cfg.ncaches))
		cw_error("the purge engine keeps its previous caches: out of memory");
	cw_info("configuration reloaded");
	log_caches(&a->cfg);
	return 0;
}

/* Reading and validating a file can take long (a large file, slow file
 * systems); it runs in its own thread so polling goes on meanwhile. The flags
 * it reads never change after start-up. */
static void *reload_thread(void *arg)
{
	struct agent *a = arg;
	struct reload_job *j = &a->reload;
	j->rc = cw_config_resolve(&a->f.cfg, &j->next, j->err, sizeof(j->err));
	__atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
	wake_main(a);
	return NULL;
}

/* Tells the HTTP reload requests up to `asked` how it went. */
static void answer_reloads(struct agent *a, int rc, const char *err, uint64_t asked)
{
	pthread_mutex_lock(&a->lock);
	a->reload_rc = rc;
	snprintf(a->reload_err, sizeof(a->reload_err), "%s", err);
	a->reload_done = asked;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void handle_reloads(struct agent *a)
{
	struct reload_job *j = &a->reload;
	if (j->running && __atomic_load_n(&j->done, __ATOMIC_ACQUIRE)) {
		pthread_join(j->thread, NULL);
		j->running = false;
		answer_reloads(a, apply_reload(a, j->rc, &j->next, j->err, sizeof(j->err)), j->err, j->asked);
	}
	if (j->running)
		return; /* requests meanwhile are served by the next round */
	pthread_mutex_lock(&a->lock);
	uint64_t asked = a->reload_asked;
	bool want = reload_signal || asked > a->reload_done;
	pthread_mutex_unlock(&a->lock);
	if (!want)
		return;
	reload_signal = 0;
	*j = (struct reload_job){ .asked = asked };
	/* The thread inherits the main loop's mask: signals stay blocked in it. */
	int e = pthread_create(&j->thread, NULL, reload_thread, a);
	if (e == 0) {
		j->running = true;
		return;
	}
	cw_config_defaults(&j->next);
	snprintf(j->err, sizeof(j->err), "cannot start the reload thread: %s", strerror(e));
	answer_reloads(a, apply_reload(a, -1, &j->next, j->err, sizeof(j->err)), j->err, asked);
}

static void poll_once(struct agent *a, bool *failing)
{
	int rc = cw_collector_poll(a->coll);
	if (rc && !*failing)
		cw_warn("polling the BPF maps failed; serving the last snapshot", "error", strerror(rc < 0 ? -rc : rc));
	else if (!rc && *failing)
		cw_info("polling the BPF maps works again");
	*failing = rc != 0;
	if (!rc && !__atomic_exchange_n(&a->ready, 1, __ATOMIC_ACQ_REL))
		cw_info("ready", "backend", cw_backend_name(cw_loader_backend(a->loader)));
}

/* Sleeps until the next poll is due, a signal arrives or an HTTP thread wakes us. */
static void wait_until(struct agent *a, double due, const sigset_t *mask)
{
	double left = due - cw_clock_seconds(CLOCK_MONOTONIC);
	if (left <= 0)
		return;
	struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
	struct pollfd pfd = { .fd = a->wake_fd, .events = POLLIN };
	if (ppoll(&pfd, 1, &ts, mask) > 0) {
		uint64_t n;
		if (read(a->wake_fd, &n, sizeof(n)) < 0)
			cw_debug("wake read failed", "error", strerror(errno));
	}
}

/* Seconds between polls. Purges triggered by bytes written must start within a
 * second, and they read the bytes from the poll, so with any purging cache the
 * maps are read at least once a second whatever poll_interval says. */
static double loop_step(const struct agent *a)
{
	double step = (double)a->cfg.poll_interval_ms / 1000.0;

	for (size_t i = 0; i < a->cfg.ncaches && step > 1.0; i++)
		if (a->cfg.caches[i].purge.enabled)
			step = 1.0;
	return step;
}

static void main_loop(struct agent *a, const sigset_t *mask)
{
	bool failing = false;
	double due = cw_clock_seconds(CLOCK_MONOTONIC);
	while (!stop_signal) {
		handle_reloads(a);
		double now = cw_clock_seconds(CLOCK_MONOTONIC);
		if (now >= due) {
			poll_once(a, &failing);
			purge_tick(a, now);
			access_tick(a, now);
			double step = loop_step(a);
			due += step;
			if (due <= now) /* a slow poll: skip missed ticks instead of bursting */
				due = now + step;
		}
		wait_until(a, due, mask);
	}
}

/* ---- lifecycle ---------------------------------------------------------- */

static void agent_shutdown(struct agent *a)
{
	/* Release reload waiters first: their connections must finish for the stop. */
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->reload.running) { /* reading a file is bounded: wait for it */
		pthread_join(a->reload.thread, NULL);
		cw_config_free(&a->reload.next);
	}
	if (a->http) {
		cw_info("stopping: finishing requests in flight");
		cw_http_stop(a->http, SHUTDOWN_GRACE_MS);
	}
	/* after HTTP: no scrape reads its stats any more; workers stop promptly */
	struct cw_purger *purger = __atomic_exchange_n(&a->purger, NULL, __ATOMIC_ACQ_REL);
	struct cw_access_seen seen = { 0 };
	if (a->running && cw_purger_seen(purger, &seen))
		cw_debug("access state: no memory to find the records of files gone");
	cw_purger_free(purger);
	/* the records go to the state file while the data plane still holds them */
	cw_access_keeper_stop(a->keeper, &a->cfg, a->running, &seen);
	cw_collector_free(a->coll);
	cw_loader_close(a->loader);
	cw_webconfig_free(a->web);
	cw_config_free(&a->cfg);
	if (a->wake_fd >= 0)
		close(a->wake_fd);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
}

static int agent_init(struct agent *a)
{
	struct utsname u;
	/* Rendered expositions (megabytes at thousands of series) are made and freed
	 * on HTTP threads; with glibc's sliding threshold they end up in per-thread
	 * arenas that keep the memory after free. A fixed threshold keeps every
	 * large buffer in its own mapping, returned to the system when freed. */
	mallopt(M_MMAP_THRESHOLD, LARGE_ALLOC_BYTES);
	a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	cw_config_defaults(&a->cfg);
	snprintf(a->kernel, sizeof(a->kernel), "%s", uname(&u) == 0 ? u.release : "unknown");
	return a->wake_fd < 0 ? -1 : 0;
}

#define STOPPED_IN_STARTUP (-100)

/* One start-up stage. Stages that create no thread run with the stop signals
 * let in (open_mask): the handler only sets a flag, so a slow stage (attaching
 * BPF takes seconds) is not cut short, but start-up ends as soon as it returns
 * instead of running the agent; stages that create threads run with the signals
 * blocked, which the threads inherit, and a signal meanwhile waits for the next
 * check. No stage blocks forever: files are opened non-blocking, regular only. */
static int run_stage(struct agent *a, int (*stage)(struct agent *), const sigset_t *open_mask)
{
	sigset_t blocked;
	if (open_mask)
		pthread_sigmask(SIG_SETMASK, open_mask, &blocked);
	int rc = stage(a);
	if (open_mask)
		pthread_sigmask(SIG_SETMASK, &blocked, NULL);
	return rc ?: stop_signal ? STOPPED_IN_STARTUP : 0;
}

int cmd_run(int argc, char **argv)
{
	struct agent a = { .wake_fd = -1 };
	sigset_t wait_mask;
	int ret = parse_flags(&a.f, argc, argv);
	if (ret >= 0)
		return ret;
	cw_log_setup(a.f.log_level, a.f.log_format);
	if (agent_init(&a) || setup_signals(&wait_mask)) {
		cw_error("cannot set up the agent", "error", strerror(errno));
		ret = 1;
		goto cleanup;
	}
	/* Order matters: everything that can be wrong with the configuration, the web
	 * config and the listen addresses fails before any BPF program is attached. */
	ret = run_stage(&a, load_config, &wait_mask);
	ret = ret ?: run_stage(&a, start_http, NULL);
	if (!ret)
		log_caches(&a.cfg);
	ret = ret ?: run_stage(&a, attach_bpf, &wait_mask);
	ret = ret ?: run_stage(&a, load_access_state, &wait_mask);
	ret = ret ?: run_stage(&a, start_purger, NULL);
	if (ret == STOPPED_IN_STARTUP) {
		cw_info("received signal during start-up, shutting down", "signal", strsignal(stop_signal));
		ret = 0;
		goto cleanup;
	}
	if (ret)
		goto cleanup;
	cw_info("cachewatch started", "version", CW_VERSION, "revision", CW_REVISION, "kernel", a.kernel);
	a.running = true;
	main_loop(&a, &wait_mask);
	cw_info("received signal, shutting down", "signal", strsignal(stop_signal));
cleanup:
	agent_shutdown(&a);
	if (!ret)
		cw_info("stopped");
	return ret;
}
