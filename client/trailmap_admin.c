/* trailmap_admin.c: the rule author's and operator's command line.  The
 * commands live in admin_*.c (see admin.h). */
#include <stdio.h>
#include <string.h>

#include "admin.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: trailmap-admin COMMAND [OPTIONS]\n"
            "\n"
            "Writes, checks and deploys trailmap's rules, and looks after a running\n"
            "trailmapd.\n"
            "\n"
            "offline (no server):\n"
            "  validate DIR              check a rules directory; every error as\n"
            "                            file:line:column: message (--remote: let the\n"
            "                            server's loader check the files)\n"
            "  test [DIR]                map a corpus of fixture sessions with DIR and report\n"
            "                            what differs from their expected signals\n"
            "  test [DIR] --record FILE --out FIXTURE\n"
            "                            freeze what DIR does with a session as a new fixture\n"
            "  rules --rules DIR         list a rules directory's labels\n"
            "  coverage FILE             the events of a log file no rule maps, by name\n"
            "\n"
            "with trailmapd:\n"
            "  reload                    make the server load its rules directory again\n"
            "  rules                     the labels of the ruleset the server runs\n"
            "  stats                     the server's counters\n"
            "  coverage SESSION          the events of a stored session no rule maps\n"
            "\n"
            "The server commands take --server URL (default $TRAILMAP_SERVER, else\n"
            "tcp://127.0.0.1:7470), --token TOKEN ($TRAILMAP_TOKEN; the rules calls need\n"
            "an admin token), --ca FILE (tls+tcp) and --timeout SEC.\n"
            "\n"
            "Exit status: 0 done, 1 the server or the ruleset said no, or a test found\n"
            "differences, 2 usage, 3 the server cannot be reached.\n"
            "\n"
            "`trailmap-admin COMMAND --help` describes a command.\n");
}

int main(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"validate", admin_cmd_validate}, {"test", admin_cmd_test},   {"reload", admin_cmd_reload},
                {"rules", admin_cmd_rules},       {"stats", admin_cmd_stats}, {"coverage", admin_cmd_coverage}};
    if (argc < 2) {
        usage(stderr);
        return TM_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return TM_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "trailmap-admin: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return TM_EXIT_USAGE;
}
