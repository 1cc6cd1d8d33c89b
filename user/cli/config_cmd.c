/* `cachewatch check-config`: validates a configuration and prints the effective one. */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "config/config.h"

#define MAX_WATCH CW_MAX_ROOTS

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cachewatch check-config [OPTIONS] FILE\n"
		"       cachewatch check-config [OPTIONS] --config.file FILE\n"
		"       cachewatch check-config [OPTIONS] --watch [NAME=]DIR ...\n"
		"       cachewatch check-config --embedded-default\n"
		"\n"
		"Validates a configuration completely (paths, limits, roots) and prints the\n"
		"effective configuration, defaults filled in, as YAML. The same flags as\n"
		"'cachewatch run' may be added to see how they override the file.\n"
		"\n"
		"Options:\n"
		"  --config.file FILE        the YAML configuration file\n"
		"  --watch [NAME=]DIR        also watch DIR, report only (repeatable)\n"
		"  --group-depth N           group_depth of --watch caches (0-%d, default 0)\n"
		"  --wait-for-path           --watch caches wait for a missing DIR to appear\n"
		"  --bpf.attach BACKEND      " CW_BACKEND_LIST "\n"
		"  --poll.interval DURATION  e.g. 1s\n"
		"  --metrics.stale-ttl DURATION  e.g. 2m\n"
		"  --embedded-default        show what 'cachewatch run' watches without a\n"
		"                            config file or --watch on this machine\n"
		"  -h, --help                this text\n"
		"\n"
		"Exit status: 0 valid, 2 invalid configuration or bad usage.\n",
		CW_MAX_GROUP_DEPTH);
}

struct opts {
	struct cw_config_flags flags;
	const char *watch[MAX_WATCH];
	bool embedded;
	bool help;
};

/* Options that take a value, and where it goes. */
static const char **value_slot(struct opts *o, const char *name)
{
	if (!strcmp(name, "--config.file"))
		return &o->flags.config_file;
	if (!strcmp(name, "--group-depth"))
		return &o->flags.group_depth;
	if (!strcmp(name, "--bpf.attach"))
		return &o->flags.bpf_attach;
	if (!strcmp(name, "--poll.interval"))
		return &o->flags.poll_interval;
	if (!strcmp(name, "--metrics.stale-ttl"))
		return &o->flags.stale_ttl;
	if (!strcmp(name, "--watch"))
		return &o->watch[o->flags.nwatch];
	return NULL;
}

/* Returns 0, or -1 after printing why (the caller prints usage). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	const char *file = NULL;
	bool dashdash = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (dashdash || a[0] != '-' || !a[1]) {
			if (file) {
				fprintf(stderr, "cachewatch check-config: more than one FILE given\n");
				return -1;
			}
			file = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			o->help = true;
			return 0;
		}
		if (!strcmp(a, "--embedded-default")) {
			o->embedded = true;
			continue;
		}
		if (!strcmp(a, "--wait-for-path")) {
			o->flags.wait_for_path = true;
			continue;
		}
		char name[64];
		const char *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		snprintf(name, sizeof(name), "%.*s", (int)nlen, a);
		if (!strcmp(name, "--watch") && o->flags.nwatch >= MAX_WATCH) {
			fprintf(stderr, "cachewatch check-config: more than %d --watch\n", MAX_WATCH);
			return -1;
		}
		const char **slot = nlen < sizeof(name) ? value_slot(o, name) : NULL;
		if (!slot) {
			fprintf(stderr, "cachewatch check-config: unknown option '%s'\n", a);
			return -1;
		}
		if (!eq && i + 1 >= argc) {
			fprintf(stderr, "cachewatch check-config: %s needs a value\n", name);
			return -1;
		}
		*slot = eq ? eq + 1 : argv[++i];
		if (!strcmp(name, "--watch"))
			o->flags.nwatch++;
	}
	if (file && o->flags.config_file) {
		fprintf(stderr, "cachewatch check-config: give FILE or --config.file, not both\n");
		return -1;
	}
	if (file)
		o->flags.config_file = file;
	o->flags.watch = o->watch;
	if (o->embedded && (o->flags.config_file || o->flags.nwatch)) {
		fprintf(stderr, "cachewatch check-config: --embedded-default is used without "
				"a file or --watch\n");
		return -1;
	}
	if (!o->embedded && !o->flags.config_file && !o->flags.nwatch) {
		fprintf(stderr, "cachewatch check-config: no configuration file given\n");
		return -1;
	}
	return 0;
}

int cmd_check_config(int argc, char **argv)
{
	struct opts o = { 0 };
	struct cw_config cfg;
	char err[1024];

	if (parse_args(argc, argv, &o)) {
		fputc('\n', stderr);
		usage(stderr);
		return 2;
	}
	if (o.help) {
		usage(stdout);
		return 0;
	}
	if (cw_config_resolve(&o.flags, &cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	int rc = cw_config_print(&cfg, stdout) ? 1 : 0;
	if (!rc && !cfg.ncaches)
		fprintf(stderr, "cachewatch check-config: valid, but no caches are configured\n");
	cw_config_free(&cfg);
	return rc;
}
