/* `cachewatch run`: the agent that wires the data plane, the purge engine and the HTTP server. */
#ifndef CW_AGENT_H
#define CW_AGENT_H

/* Parses the run flags and runs until SIGTERM/SIGINT: 0 ok, 1 runtime failure, 2 usage error. */
int cmd_run(int argc, char **argv);

#endif
