/* Entry points of the CLI subcommands, dispatched from main.c (`run` is the agent's: agent/agent.h). */
#ifndef CW_COMMANDS_H
#define CW_COMMANDS_H

/* Each returns the process exit code: 0 ok, 1 runtime failure, 2 usage error. */
int cmd_top(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_purge(int argc, char **argv);

#endif
