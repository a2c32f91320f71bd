/* trailmap.c: the investigator's command line. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_server.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: trailmap COMMAND [OPTIONS]\n"
            "\n"
            "Turns the CloudTrail events of AWS console sessions into the timeline of what\n"
            "the user did, each action with its raw events attached.\n"
            "\n"
            "commands:\n"
            "  map FILE...       map log files offline, no server needed\n"
            "  submit FILE...    send events to trailmapd\n"
            "  sessions          list the sessions trailmapd holds\n"
            "  signals SESSION   a session's signals, as `map` prints them\n"
            "  events SESSION    a session's raw events (all, a signal's, the unmapped)\n"
            "\n"
            "The server commands take --server URL (default $TRAILMAP_SERVER, else\n"
            "tcp://127.0.0.1:7470), --token TOKEN ($TRAILMAP_TOKEN), --ca FILE (tls+tcp)\n"
            "and --timeout SEC.\n"
            "\n"
            "Exit status: 0 done, 1 the server said no or the input is unreadable,\n"
            "2 usage, 3 the server cannot be reached.\n"
            "\n"
            "`trailmap COMMAND --help` describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return TM_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return TM_EXIT_OK;
    }
    if (!strcmp(argv[1], "map")) return tm_cmd_map(argc - 1, argv + 1);
    if (!strcmp(argv[1], "submit")) return tm_cmd_submit(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sessions")) return tm_cmd_sessions(argc - 1, argv + 1);
    if (!strcmp(argv[1], "signals")) return tm_cmd_signals(argc - 1, argv + 1);
    if (!strcmp(argv[1], "events")) return tm_cmd_events(argc - 1, argv + 1);
    fprintf(stderr, "trailmap: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return TM_EXIT_USAGE;
}
