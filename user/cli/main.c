/* cachewatch command line: dispatches subcommands through one table. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "agent/agent.h"
#include "cli/commands.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cmd cmds[] = {
	{ "run", cmd_run, "run the agent: attach BPF, serve metrics, purge caches" },
	{ "top", cmd_top, "show live write and unlink activity per cache directory" },
	{ "check-config", cmd_check_config, "validate a config file and print the effective configuration" },
	{ "purge", cmd_purge, "purge caches once, now, and print what was deleted" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: cachewatch COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-14s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "  %-14s %s\n", "help", "this text, or 'help COMMAND' for a command's options");
	fprintf(f, "  %-14s %s\n", "version", "print the version (also --version on any command)");
	fprintf(f, "\nRun 'cachewatch help COMMAND' or 'cachewatch COMMAND --help' for a command's options.\n");
}

static void version(void)
{
	printf("cachewatch %s (revision %s)\n", CW_VERSION, CW_REVISION);
}

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(name, cmds[i].name))
			return &cmds[i];
	return NULL;
}

static int unknown(const char *name)
{
	fprintf(stderr, "cachewatch: unknown command '%s'\n\n", name);
	usage(stderr);
	return 2;
}

/* `help COMMAND` is `COMMAND --help`. */
static int help(int argc, char **argv)
{
	if (argc < 3 || !strcmp(argv[2], "-h") || !strcmp(argv[2], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[2], "version")) {
		printf("Usage: cachewatch version\n       cachewatch COMMAND --version\n");
		return 0;
	}
	const struct cmd *c = find_cmd(argv[2]);
	if (!c)
		return unknown(argv[2]);
	char *args[] = { argv[2], (char *)"--help", NULL };
	return c->fn(2, args);
}

/* --version before "--" answers on every command, like --help does. */
static bool wants_version(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--version"))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help"))
		return help(1, argv);
	if (!strcmp(name, "help"))
		return help(argc, argv);
	if (!strcmp(name, "version") || wants_version(argc, argv)) {
		version();
		return 0;
	}
	const struct cmd *c = find_cmd(name);
	return c ? c->fn(argc - 1, argv + 1) : unknown(name);
}
