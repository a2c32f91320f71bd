/* bench_map.c: maps every session of a corpus N times and prints events/s,
 * beside the rate of bare jansson parsing of the same bytes (the limit of
 * this design), and the peak memory. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_map CORPUS_DIR RULES_DIR [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 3 ? atoi(argv[3]) : 5;
    tm_ruleset *rs = tm_cli_load_rules(argv[2]);
    if (!rs) return 1;
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    char **files = NULL;
    size_t nfiles = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *p;
        if (asprintf(&p, "%s/%s/InputEvents.json", argv[1], de->d_name) < 0) return 1;
        char **nf = realloc(files, (nfiles + 1) * sizeof(*nf));
        if (!nf) return 1;
        files = nf;
        files[nfiles++] = p;
    }
    closedir(d);
    size_t events = 0;
    double t0 = now();
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < nfiles; i++) {
            tm_cli_sessions s;
            if (tm_cli_map_files(rs, &files[i], 1, NULL, NULL, &s) == 0)
                for (size_t k = 0; k < s.n; k++) events += s.maps[k]->nevents;
            tm_cli_sessions_free(&s);
        }
    }
    double map_s = now() - t0;
    size_t parsed = 0;
    t0 = now();
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < nfiles; i++) {
            json_error_t je;
            json_t *doc = json_load_file(files[i], 0, &je);
            parsed += json_array_size(doc);
            json_decref(doc);
        }
    }
    double parse_s = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("sessions: %zu files x %d rounds\n", nfiles, rounds);
    printf("map:      %zu events in %.3f s = %.0f events/s (read, normalize, label, map, render)\n", events, map_s,
           events / map_s);
    printf("baseline: %zu events in %.3f s = %.0f events/s (bare jansson parse of the same files)\n", parsed, parse_s,
           parsed / parse_s);
    printf("ratio:    mapping runs at %.1f%% of bare parsing speed\n", 100.0 * (events / map_s) / (parsed / parse_s));
    printf("peak RSS: %.1f MiB\n", ru.ru_maxrss / 1024.0);
    for (size_t i = 0; i < nfiles; i++) free(files[i]);
    free(files);
    tm_rules_unref(rs);
    return 0;
}
