/* cachewatch command line: dispatches subcommands through one table. */
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
	fprintf(f, "  %-14s %s\n", "version", "print the version");
	fprintf(f, "\nRun 'cachewatch COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "version") || !strcmp(name, "--version")) {
		printf("cachewatch %s (revision %s)\n", CW_VERSION, CW_REVISION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(name, cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "cachewatch: unknown command '%s'\n\n", name);
	usage(stderr);
	return 2;
}
