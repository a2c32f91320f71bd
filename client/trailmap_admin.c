/* trailmap_admin.c: the rule author's command line (validate, list). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: trailmap-admin COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  validate DIR                       check a rules directory; every error as\n"
            "                                     file:line:column: message (exit 1 on any)\n"
            "  rules [--rules DIR] [--service S] [--format table|json]\n"
            "                                     list the labels of a rules directory\n");
}

static int cmd_validate(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fprintf(argc < 2 ? stderr : stdout, "usage: trailmap-admin validate DIR\n");
        return argc < 2 ? TM_EXIT_USAGE : TM_EXIT_OK;
    }
    tm_errlist errs = {0};
    tm_ruleset *rs = NULL;
    int rc = tm_rules_load(argv[1], &rs, &errs);
    for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "%s\n", errs.v[i]);
    if (rc == 0) {
        printf("%s: ok, version %s, %zu labels, %zu event rules, %zu overrides\n", argv[1], rs->version, rs->nlabels,
               rs->nevents, rs->noverrides);
        tm_rules_unref(rs);
    } else {
        fprintf(stderr, "%s: %zu error%s\n", argv[1], errs.n, errs.n == 1 ? "" : "s");
    }
    tm_errlist_free(&errs);
    return rc == 0 ? TM_EXIT_OK : TM_EXIT_NO;
}

static json_t *strs_json(const tm_strs *s) {
    if (s->star) return json_string("*");
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n; i++) json_array_append_new(a, json_string(s->v[i]));
    return a;
}

static int cmd_rules(int argc, char **argv) {
    static const struct option opts[] = {{"rules", required_argument, NULL, 'r'}, {"service", required_argument, NULL, 's'},
                                         {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *service = NULL, *format = "table";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:s:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': dir = optarg; break;
        case 's': service = optarg; break;
        case 'f': format = optarg; break;
        case 'h': printf("usage: trailmap-admin rules [--rules DIR] [--service S] [--format table|json]\n"); return 0;
        default: return TM_EXIT_USAGE;
        }
    }
    if (strcmp(format, "table") && strcmp(format, "json")) {
        fprintf(stderr, "trailmap-admin rules: unknown format \"%s\" (table, json)\n", format);
        return TM_EXIT_USAGE;
    }
    tm_ruleset *rs = tm_cli_load_rules(dir ? dir : tm_rules_default_dir());
    if (!rs) return TM_EXIT_NO;
    json_t *list = json_array();
    for (size_t i = 0; i < rs->nlabels; i++) {
        const tm_label *l = &rs->labels[i];
        if (service && strcasecmp(service, l->service) != 0) continue;
        json_t *flags = json_array();
        if (l->flags & TM_FLAG_SUPPRESSED) json_array_append_new(flags, json_string("suppressed"));
        if (l->flags & TM_FLAG_NO_HISTORY) json_array_append_new(flags, json_string("no_history"));
        if (l->flags & TM_FLAG_ONE_PER_EVENT) json_array_append_new(flags, json_string("one_per_event"));
        if (l->flags & TM_FLAG_GENERIC) json_array_append_new(flags, json_string("generic"));
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:[f,f], s:o, s:b, s:s, s:i}",
                                              "label", l->name, "service", l->service, "name", l->title,
                                              "url", l->url_text, "summary", l->summary_text,
                                              "anchor", strs_json(&l->anchor), "required", strs_json(&l->required),
                                              "optional", strs_json(&l->optional), "window", l->back, l->ahead,
                                              "flags", flags, "additionalData", l->has_data, "file", l->file, "line", l->line));
    }
    if (!strcmp(format, "json")) {
        json_t *doc = json_pack("{s:s, s:o}", "version", rs->version, "labels", list);
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(doc);
    } else {
        size_t i;
        json_t *e;
        printf("%-70s %-15s %s\n", "LABEL", "SERVICE", "NAME");
        json_array_foreach(list, i, e)
            printf("%-70s %-15s %s\n", json_string_value(json_object_get(e, "label")),
                   json_string_value(json_object_get(e, "service")), json_string_value(json_object_get(e, "name")));
        printf("%zu labels, rules version %s\n", json_array_size(list), rs->version);
        json_decref(list);
    }
    tm_rules_unref(rs);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return TM_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "validate")) return cmd_validate(argc - 1, argv + 1);
    if (!strcmp(argv[1], "rules")) return cmd_rules(argc - 1, argv + 1);
    fprintf(stderr, "trailmap-admin: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return TM_EXIT_USAGE;
}
