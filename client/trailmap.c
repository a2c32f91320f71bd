/* trailmap.c: the investigator's command line. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: trailmap COMMAND [OPTIONS]\n"
            "\n"
            "Turns the CloudTrail events of AWS console sessions into the timeline of what\n"
            "the user did, each action with its raw events attached.\n"
            "\n"
            "commands:\n"
            "  map FILE...    map log files offline, no server needed\n"
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
    fprintf(stderr, "trailmap: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return TM_EXIT_USAGE;
}
