/* cli_map.c: `trailmap map`, offline mapping of log files. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "printable.h"
#include "input.h"
#include "session.h"

/* The bound on one file's decoded text (--max-decoded-bytes of `map`): a
 * gzip bomb ends in an error, not in swap. */
static size_t map_max_decoded = TM_INPUT_MAX_DECODED;

tm_ruleset *tm_cli_load_rules(const char *dir) {
    tm_errlist errs = {0};
    tm_ruleset *rs = NULL;
    if (tm_rules_load(dir, &rs, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "%s\n", errs.v[i]);
        fprintf(stderr, "trailmap: %zu error%s in rules %s\n", errs.n, errs.n == 1 ? "" : "s", dir);
        rs = NULL;
    }
    tm_errlist_free(&errs);
    return rs;
}

void tm_cli_sessions_free(tm_cli_sessions *s) {
    for (size_t i = 0; s->out && i < s->n; i++) tm_view_clear(&s->out[i]);
    for (size_t i = 0; i < s->n; i++) {
        tm_mapping_free(s->maps ? s->maps[i] : NULL);
        if (s->groups) free(s->groups[i].v);
        if (s->keys) free(s->keys[i]);
    }
    free(s->maps);
    free(s->groups);
    free(s->keys);
    free(s->out);
    tm_eventvec_free(&s->all);
    memset(s, 0, sizeof(*s));
}

static int group_of(tm_cli_sessions *s, const char *key) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0) return (int)i;
    size_t n = s->n + 1;
    char **nk = realloc(s->keys, n * sizeof(*nk));
    if (!nk) return -1;
    s->keys = nk;
    tm_eventvec *ng = realloc(s->groups, n * sizeof(*ng));
    if (!ng) return -1;
    s->groups = ng;
    memset(&s->groups[s->n], 0, sizeof(*ng));
    if (!(s->keys[s->n] = strdup(key))) return -1;
    return (int)s->n++;
}

/* Bad records named one by one per file; the rest are counted. */
#define MAP_SHOWN_PROBLEMS 5

int tm_cli_map_files(tm_ruleset *rs, char **files, size_t nfiles, const char *forced, const char *only,
                     tm_cli_sessions *s) {
    memset(s, 0, sizeof(*s));
    tm_error err;
    for (size_t i = 0; i < nfiles; i++) {
        tm_input_report rep = {0};
        rep.max_problems = MAP_SHOWN_PROBLEMS;
        size_t before = s->all.n;
        if (tm_input_read_file_max(files[i], map_max_decoded, &s->all, &rep, &err) != 0) {
            fprintf(stderr, "trailmap: %s\n", err.msg);
            tm_input_report_free(&rep);
            return TM_EXIT_NO;
        }
        size_t problems = rep.n + rep.omitted;
        if (s->all.n == before && problems) {
            /* nothing in it could be read: one line, not one per line */
            fprintf(stderr, "trailmap: %s: no CloudTrail record could be read (%zu problem%s; the first: %s)\n",
                    rep.v[0].file, problems, problems == 1 ? "" : "s", rep.v[0].reason);
            tm_input_report_free(&rep);
            return TM_EXIT_NO;
        }
        for (size_t k = 0; k < rep.n; k++)
            fprintf(stderr, "trailmap: %s: %s (skipped)\n", rep.v[k].file, rep.v[k].reason);
        if (rep.omitted)
            fprintf(stderr, "trailmap: %s: %zu more bad record%s skipped\n", files[i], rep.omitted,
                    rep.omitted == 1 ? "" : "s");
        tm_input_report_free(&rep);
    }
    tm_dedupe_report dr;
    s->duplicates = tm_eventvec_sort_dedupe_report(&s->all, &dr);
    if (dr.clashes) {
        /* sanitized exports reuse one id; both records are evidence */
        fprintf(stderr, "trailmap: %zu event%s share%s an eventID with a different event, kept as distinct events:",
                dr.clashes, dr.clashes == 1 ? "" : "s", dr.clashes == 1 ? "s" : "");
        for (size_t i = 0; i < dr.nids; i++) {
            char *safe = tm_printable(dr.ids[i]);
            fprintf(stderr, "%s \"%s\"", i ? "," : "", safe ? safe : "?");
            free(safe);
        }
        fprintf(stderr, "%s\n", dr.clashes > dr.nids ? ", ..." : "");
    }
    if (tm_session_assign(&s->all, forced, &err) != 0) {
        fprintf(stderr, "trailmap: %s\n", err.msg);
        return TM_EXIT_NO;
    }
    for (size_t i = 0; i < s->all.n; i++) {
        tm_event *e = s->all.v[i];
        const char *key = e->session ? e->session : "default";
        if (only && strcmp(only, key) != 0) continue;
        int g = group_of(s, key);
        if (g < 0 || tm_eventvec_push(&s->groups[g], e)) {
            fprintf(stderr, "trailmap: out of memory\n");
            return TM_EXIT_NO;
        }
    }
    if (only && s->n == 0) {
        fprintf(stderr, "trailmap: no session \"%s\" in the input\n", only);
        return TM_EXIT_NO;
    }
    s->maps = calloc(s->n + 1, sizeof(*s->maps));
    s->out = calloc(s->n + 1, sizeof(*s->out));
    if (!s->maps || !s->out) {
        fprintf(stderr, "trailmap: out of memory\n");
        return TM_EXIT_NO;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (tm_map(rs, s->groups[i].v, s->groups[i].n, &s->maps[i], &err) != 0) {
            fprintf(stderr, "trailmap: mapping session %s: %s\n", s->keys[i], err.msg);
            return TM_EXIT_NO;
        }
        if (tm_view_from_mapping(s->maps[i], s->keys[i], &s->out[i])) {
            fprintf(stderr, "trailmap: out of memory\n");
            return TM_EXIT_NO;
        }
    }
    return 0;
}

static void map_usage(FILE *f) {
    fprintf(f,
            "usage: trailmap map [--format table|cartographer|json|jsonl] [--session KEY]\n"
            "                    [--rules DIR] [--all] [--additions] [--no-color]\n"
            "                    [--max-decoded-bytes N]\n"
            "                    FILE...\n"
            "\n"
            "Maps CloudTrail events to the console actions that caused them, offline.\n"
            "FILE is a CloudTrail log file ({\"Records\":[...]}), aws cloudtrail lookup-events\n"
            "output, a JSON array of records, one record, or JSON lines; gzip'd or not;\n"
            "\"-\" reads standard input.  Also read: lookup-events elements without their\n"
            "{\"Events\":...} (jq '.Events[]'), arrays of whole documents (jq -s), and\n"
            "Logstash exports (@timestamp for eventTime).  Events of several console\n"
            "sessions are split by session and each is mapped on its own.\n"
            "\n"
            "A record that cannot be read is skipped and named (the first 5 per file,\n"
            "then a count); the rest of its file is mapped.  A file in which no record\n"
            "can be read is an error.  Copies of one event (same eventID, time, source,\n"
            "name and principal) count once; different events sharing an eventID (as\n"
            "sanitized exports write them) are all kept.  Text from events is escaped\n"
            "in the table (control characters, escape sequences, bidi overrides).\n"
            "\n"
            "  --format F    table (default on a terminal), cartographer (default otherwise:\n"
            "                the reference tool's JSON), json (trailmap's document), jsonl\n"
            "                (every event's raw JSON with a \"trailmap\" member)\n"
            "  --session KEY map only this session\n"
            "  --rules DIR   rules directory (default: $TRAILMAP_RULES or the built-in one)\n"
            "  --all         table: also show suppressed background signals\n"
            "  --additions   cartographer: also write trailmap's own signals (sign-ins,\n"
            "                API calls, console changes no rule recognises), which the\n"
            "                reference never makes; table, json and jsonl always have them\n"
            "  --no-color    table: no colours\n"
            "  --max-decoded-bytes N\n"
            "                a file may decompress to at most N bytes (default 1073741824);\n"
            "                a larger one is an error\n"
            "\n"
            "Exit status: 0 done, 1 bad input or rules, 2 usage.\n");
}

int tm_cmd_map(int argc, char **argv) {
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"session", required_argument, NULL, 's'},
        {"rules", required_argument, NULL, 'r'},  {"no-color", no_argument, NULL, 'n'},
        {"all", no_argument, NULL, 'a'},          {"help", no_argument, NULL, 'h'},
        {"additions", no_argument, NULL, 'A'},
        {"max-decoded-bytes", required_argument, NULL, 'D'}, {NULL, 0, NULL, 0}};
    const char *format = NULL, *session = NULL, *rules = NULL;
    int color = isatty(STDOUT_FILENO), all = 0, additions = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:s:r:nah", opts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 's': session = optarg; break;
        case 'r': rules = optarg; break;
        case 'n': color = 0; break;
        case 'a': all = 1; break;
        case 'A': additions = 1; break;
        case 'D': {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (*end || !*optarg || *optarg == '-' || v == 0) {
                fprintf(stderr, "trailmap map: --max-decoded-bytes takes a positive number of bytes\n");
                return TM_EXIT_USAGE;
            }
            map_max_decoded = (size_t)v;
            break;
        }
        case 'h': map_usage(stdout); return TM_EXIT_OK;
        default: map_usage(stderr); return TM_EXIT_USAGE;
        }
    }
    if (!format) format = isatty(STDOUT_FILENO) ? "table" : "cartographer";
    if (strcmp(format, "table") && strcmp(format, "cartographer") && strcmp(format, "json") && strcmp(format, "jsonl")) {
        fprintf(stderr, "trailmap map: unknown format \"%s\" (table, cartographer, json, jsonl)\n", format);
        return TM_EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "trailmap map: no input file (use - for standard input)\n");
        map_usage(stderr);
        return TM_EXIT_USAGE;
    }
    tm_ruleset *rs = tm_cli_load_rules(rules ? rules : tm_rules_default_dir());
    if (!rs) return TM_EXIT_NO;
    tm_cli_sessions s;
    int rc = tm_cli_map_files(rs, argv + optind, (size_t)(argc - optind), NULL, session, &s);
    if (rc == 0) {
        int w;
        if (!strcmp(format, "cartographer"))
            w = additions ? tm_output_cartographer_all(stdout, s.out, s.n) : tm_output_cartographer(stdout, s.out, s.n);
        else if (!strcmp(format, "json")) w = tm_output_json(stdout, s.out, s.n);
        else if (!strcmp(format, "jsonl")) w = tm_output_jsonl(stdout, (const tm_mapping *const *)s.maps, s.keys, s.n);
        else {
            tm_table_opts o = {color, all};
            w = tm_output_table(stdout, s.out, s.n, &o);
        }
        if (w || fflush(stdout)) {
            fprintf(stderr, "trailmap map: writing the output failed\n");
            rc = TM_EXIT_NO;
        }
        if (s.duplicates)
            fprintf(stderr, "trailmap: %zu duplicate record%s (same eventID, time, source, name and principal) counted once\n",
                    s.duplicates, s.duplicates == 1 ? "" : "s");
    }
    tm_cli_sessions_free(&s);
    tm_rules_unref(rs);
    return rc;
}
