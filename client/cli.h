/* cli.h: pieces shared by the trailmap and trailmap-admin commands. */
#ifndef TM_CLI_H
#define TM_CLI_H

#include <stddef.h>

#include "event.h"
#include "mapper.h"
#include "output.h"
#include "rules.h"

/* Exit statuses, as documented in --help. */
enum { TM_EXIT_OK = 0, TM_EXIT_NO = 1, TM_EXIT_USAGE = 2, TM_EXIT_UNREACHABLE = 3 };

/* Loads a rules directory, printing every error to stderr. NULL on error. */
tm_ruleset *tm_cli_load_rules(const char *dir);

/* Sessions of a set of events, each mapped. */
typedef struct tm_cli_sessions {
    tm_eventvec all;         /* owns the events */
    tm_sessview *out;        /* one view per session */
    tm_eventvec *groups;     /* borrowed event pointers per session */
    tm_mapping **maps;
    char **keys;
    size_t n;
    size_t duplicates;
} tm_cli_sessions;

/* Reads files ("-" = stdin), reports bad records on stderr, splits by
 * session (forced: one session for all), keeps only `only` when given, and
 * maps each session.  Returns 0, or an exit status. */
int tm_cli_map_files(tm_ruleset *rs, char **files, size_t nfiles, const char *forced, const char *only,
                     tm_cli_sessions *out);
void tm_cli_sessions_free(tm_cli_sessions *s);

int tm_cmd_map(int argc, char **argv);

#endif
