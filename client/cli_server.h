/* cli_server.h: the trailmap commands that talk to a trailmapd server. */
#ifndef TM_CLI_SERVER_H
#define TM_CLI_SERVER_H

/* Each takes the command's own argv (argv[0] is the command's name) and
 * returns the exit status: 0 done, 1 the server said no, 2 usage,
 * 3 the server cannot be reached. */
int tm_cmd_submit(int argc, char **argv);
int tm_cmd_sessions(int argc, char **argv);
int tm_cmd_signals(int argc, char **argv);
int tm_cmd_events(int argc, char **argv);

#endif
