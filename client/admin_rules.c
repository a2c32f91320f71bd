/* admin_rules.c: `trailmap-admin validate|rules|reload|stats`. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "admin.h"
#include "fileio.h"
#include "rulesInt.h"
#include "trailmap.pb-c.h"

enum { O_REMOTE = A_FIRST_FREE, O_FORMAT, O_RULES, O_SERVICE };

static int check_format(const char *cmd, const char *format, const char *a, const char *b) {
    if (strcmp(format, a) && strcmp(format, b)) {
        fprintf(stderr, "trailmap-admin %s: unknown format \"%s\" (%s, %s)\n", cmd, format, a, b);
        return TM_EXIT_USAGE;
    }
    return 0;
}

/* -------------------------------------------------------------- validate */

static void validate_usage(FILE *f) {
    fprintf(f,
            "usage: trailmap-admin validate [--remote [CONNECTION]] DIR\n"
            "\n"
            "Checks the rules directory DIR completely, as trailmapd would before using\n"
            "it, and prints every error as file:line:column: message (on stderr), or\n"
            "\"DIR: ok\" with the ruleset's version and counts.  Nothing is applied.\n"
            "\n"
            "  --remote      send the files to trailmapd (ValidateRules) and let the\n"
            "                server's loader check them; without it no server is needed\n"
            "\n" ADMIN_CONN_HELP "\n"
            "Exit status: 0 valid, 1 any error, 2 usage, 3 the server cannot be reached.\n");
}

/* The files tm_rules_load reads: useragent.json, overrides.json, origin.json,
 * labels/NAME.json, signals/NAME.json (no hidden files). */
typedef struct rulefiles {
    Trailmap__RuleFile *v;
    Trailmap__RuleFile **p;
    size_t n, cap;
} rulefiles;

static void rulefiles_free(rulefiles *r) {
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].path);
        free(r->v[i].content.data);
    }
    free(r->v);
    free(r->p);
}


static int add_rulefile(rulefiles *r, const char *dir, const char *rel) {
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, rel) < 0) return -1;
    char *text;
    size_t len;
    tm_error err;
    if (tm_file_read(path, &text, &len, &err) != 0) {
        fprintf(stderr, "trailmap-admin validate: %s\n", err.msg);
        free(path);
        return -1;
    }
    unsigned char *buf = (unsigned char *)text;
    free(path);
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 64;
        Trailmap__RuleFile *nv = realloc(r->v, ncap * sizeof(*nv));
        if (!nv) {
            free(buf);
            return -1;
        }
        r->v = nv;
        r->cap = ncap;
    }
    Trailmap__RuleFile *f = &r->v[r->n];
    trailmap__rule_file__init(f);
    f->path = strdup(rel);
    f->content.data = buf;
    f->content.len = len;
    if (!f->path) {
        free(buf);
        return -1;
    }
    r->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int add_folder(rulefiles *r, const char *dir, const char *sub) {
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, sub) < 0) return -1;
    DIR *d = opendir(path);
    free(path);
    if (!d) return 0; /* the loader reports what is missing */
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) && rc == 0) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0 || de->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof(*nn));
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        if (asprintf(&names[n], "%s/%s", sub, de->d_name) < 0) rc = -1;
        else n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) rc = add_rulefile(r, dir, names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

static int exists(const char *dir, const char *rel) {
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, rel) < 0) return 0;
    struct stat st;
    int ok = stat(path, &st) == 0;
    free(path);
    return ok;
}

/* An error of ValidateRules with the files named as the offline check
 * names them: every path that was sent, followed by ':', gets DIR/ in front,
 * and the directory itself (".") becomes DIR. */
static char *localize(const char *msg, const char *dir, const rulefiles *files) {
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) return NULL;
    const char *q = msg;
    if (q[0] == '.' && q[1] == ':') {
        fputs(dir, f);
        q++;
    }
    for (; *q; q++) {
        if (q == msg || q[-1] == ' ') {
            size_t best = 0;
            for (size_t i = 0; i < files->n; i++) {
                size_t pl = strlen(files->v[i].path);
                if (pl > best && strncmp(q, files->v[i].path, pl) == 0 && q[pl] == ':') best = pl;
            }
            if (best) {
                fprintf(f, "%s/%.*s", dir, (int)best, q);
                q += best - 1;
                continue;
            }
        }
        fputc(*q, f);
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static int validate_remote(const admin_conn *cn, const char *dir) {
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: cannot read the rules directory\n", dir);
        return TM_EXIT_NO;
    }
    rulefiles files = {0};
    int rc = 0;
    if ((exists(dir, "useragent.json") && add_rulefile(&files, dir, "useragent.json")) ||
        (exists(dir, "overrides.json") && add_rulefile(&files, dir, "overrides.json")) ||
        (exists(dir, "origin.json") && add_rulefile(&files, dir, "origin.json")) ||
        add_folder(&files, dir, "labels") || add_folder(&files, dir, "signals")) {
        rulefiles_free(&files);
        return TM_EXIT_NO;
    }
    if (files.n == 0) {
        fprintf(stderr, "%s: no rule files (useragent.json, overrides.json, labels/*.json, signals/*.json)\n", dir);
        rulefiles_free(&files);
        return TM_EXIT_NO;
    }
    files.p = calloc(files.n + 1, sizeof(*files.p));
    if (!files.p) {
        rulefiles_free(&files);
        fprintf(stderr, "trailmap-admin validate: out of memory\n");
        return TM_EXIT_NO;
    }
    for (size_t i = 0; i < files.n; i++) files.p[i] = &files.v[i];
    tm_rpc *rpc;
    if ((rc = admin_connect(cn, &rpc)) != 0) {
        rulefiles_free(&files);
        return rc;
    }
    Trailmap__ValidateRulesRequest req = TRAILMAP__VALIDATE_RULES_REQUEST__INIT;
    req.files = files.p;
    req.n_files = files.n;
    ProtobufCMessage *resp;
    tm_error err;
    if (tm_rpc_call(rpc, "ValidateRules", &req.base, &resp, &err) != 0) {
        rc = admin_report("validate", rpc, &err);
    } else {
        const Trailmap__ValidateRulesResponse *r = (const Trailmap__ValidateRulesResponse *)resp;
        /* the server names files as sent (relative); say them as the
         * offline check does, under DIR */
        for (size_t i = 0; i < r->n_errors; i++) {
            char *m = localize(r->errors[i], dir, &files);
            fprintf(stderr, "%s\n", m ? m : r->errors[i]);
            free(m);
        }
        if (r->valid && r->ruleset) {
            printf("%s: ok (checked by %s), version %s, %u labels, %u event rules, %u overrides\n", dir,
                   tm_rpc_url(rpc), r->ruleset->version, r->ruleset->labels, r->ruleset->event_rules,
                   r->ruleset->overrides);
        } else {
            fprintf(stderr, "%s: %zu error%s (checked by %s)\n", dir, r->n_errors, r->n_errors == 1 ? "" : "s",
                    tm_rpc_url(rpc));
            rc = TM_EXIT_NO;
        }
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    tm_rpc_close(rpc);
    rulefiles_free(&files);
    return admin_finish("validate", rc);
}

int admin_cmd_validate(int argc, char **argv) {
    static const struct option opts[] = {{"remote", no_argument, NULL, O_REMOTE}, ADMIN_CONN_OPTIONS,
                                         {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    admin_conn cn;
    admin_conn_init(&cn);
    int remote = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = admin_conn_opt(&cn, "validate", c, optarg);
        if (k < 0) return TM_EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case O_REMOTE: remote = 1; break;
        case 'h': validate_usage(stdout); return TM_EXIT_OK;
        default: validate_usage(stderr); return TM_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "trailmap-admin validate: %s\n", optind >= argc ? "no rules directory" : "one rules directory at a time");
        validate_usage(stderr);
        return TM_EXIT_USAGE;
    }
    char *dir = admin_dir_name(argv[optind]);
    if (!dir) return TM_EXIT_NO;
    int rc;
    if (remote) {
        rc = validate_remote(&cn, dir);
    } else {
        tm_errlist errs = {0};
        tm_ruleset *rs = NULL;
        int lrc = tm_rules_load(dir, &rs, &errs);
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "%s\n", errs.v[i]);
        if (lrc == 0) {
            printf("%s: ok, version %s, %zu labels, %zu event rules, %zu overrides\n", dir, rs->version, rs->nlabels,
                   rs->nevents, rs->noverrides);
            tm_rules_unref(rs);
        } else {
            fprintf(stderr, "%s: %zu error%s\n", dir, errs.n, errs.n == 1 ? "" : "s");
        }
        tm_errlist_free(&errs);
        rc = admin_finish("validate", lrc == 0 ? TM_EXIT_OK : TM_EXIT_NO);
    }
    free(dir);
    return rc;
}

/* ----------------------------------------------------------------- rules */

static void rules_usage(FILE *f) {
    fprintf(f,
            "usage: trailmap-admin rules [--rules DIR] [--service S] [--format table|json]\n"
            "                            [CONNECTION]\n"
            "\n"
            "Lists the labels (signal definitions) of the ruleset trailmapd runs\n"
            "(ListRules), or of the rules directory DIR offline with --rules.  Both give\n"
            "the same document for the same files.\n"
            "\n"
            "  --rules DIR     list DIR's labels, no server needed\n"
            "  --service S     only the labels of console service S (ignoring case)\n"
            "  --format F      table (default): label, service, name, then the count and\n"
            "                  the rules version; json: {\"version\", \"labels\": [{label,\n"
            "                  service, name, url, summary, anchor, required, optional,\n"
            "                  window, flags, additionalData, file, line}]}, where anchor\n"
            "                  and required are \"*\" or a list, window is [lookback,\n"
            "                  lookahead] in seconds, file is relative to the rules\n"
            "                  directory\n"
            "\n" ADMIN_CONN_HELP "\n" ADMIN_EXIT_HELP);
}

/* A list of names as `rules` prints it: "*" or an array. */
static json_t *names_json(char **v, size_t n, int star) {
    if (star || (n == 1 && !strcmp(v[0], "*"))) return json_string("*");
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *rule_json(const char *label, const char *service, const char *name, const char *url,
                         const char *summary, json_t *anchor, json_t *required, json_t *optional, double back,
                         double ahead, json_t *flags, int has_data, const char *file, int line) {
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:[f,f], s:o, s:b, s:s, s:i}", "label", label,
                     "service", service, "name", name, "url", url, "summary", summary, "anchor", anchor,
                     "required", required, "optional", optional, "window", back, ahead, "flags", flags,
                     "additionalData", has_data, "file", file, "line", line);
}

static json_t *rules_offline(const char *dir, const char *service, char **version) {
    tm_ruleset *rs = tm_cli_load_rules(dir);
    if (!rs) return NULL;
    json_t *list = json_array();
    size_t dl = strlen(rs->dir);
    for (size_t i = 0; list && i < rs->nlabels; i++) {
        const tm_label *l = &rs->labels[i];
        if (service && strcasecmp(service, l->service) != 0) continue;
        json_t *flags = json_array();
        if (l->flags & TM_FLAG_SUPPRESSED) json_array_append_new(flags, json_string("suppressed"));
        if (l->flags & TM_FLAG_NO_HISTORY) json_array_append_new(flags, json_string("no_history"));
        if (l->flags & TM_FLAG_ONE_PER_EVENT) json_array_append_new(flags, json_string("one_per_event"));
        if (l->flags & TM_FLAG_GENERIC) json_array_append_new(flags, json_string("generic"));
        /* relative to the rules directory, as the server names it */
        const char *file = strncmp(l->file, rs->dir, dl) == 0 && l->file[dl] == '/' ? l->file + dl + 1 : l->file;
        json_t *e = rule_json(l->name, l->service, l->title, l->url_text, l->summary_text,
                              names_json(l->anchor.v, l->anchor.n, l->anchor.star),
                              names_json(l->required.v, l->required.n, l->required.star),
                              names_json(l->optional.v, l->optional.n, l->optional.star), l->back, l->ahead, flags,
                              l->has_data, file, l->line);
        if (!e || json_array_append_new(list, e)) {
            json_decref(list);
            list = NULL;
        }
    }
    *version = strdup(rs->version);
    tm_rules_unref(rs);
    if (!list || !*version) {
        fprintf(stderr, "trailmap-admin rules: out of memory\n");
        json_decref(list);
        free(*version);
        *version = NULL;
        return NULL;
    }
    return list;
}

static int rules_remote(const admin_conn *cn, const char *service, json_t **out, char **version) {
    tm_rpc *rpc;
    int rc = admin_connect(cn, &rpc);
    if (rc) return rc;
    Trailmap__ListRulesRequest req = TRAILMAP__LIST_RULES_REQUEST__INIT;
    req.service = (char *)(service ? service : "");
    ProtobufCMessage *resp;
    tm_error err;
    if (tm_rpc_call(rpc, "ListRules", &req.base, &resp, &err) != 0) {
        rc = admin_report("rules", rpc, &err);
        tm_rpc_close(rpc);
        return rc;
    }
    const Trailmap__ListRulesResponse *r = (const Trailmap__ListRulesResponse *)resp;
    json_t *list = json_array();
    for (size_t i = 0; list && i < r->n_rules; i++) {
        const Trailmap__RuleInfo *p = r->rules[i];
        json_t *flags = json_array();
        for (size_t k = 0; flags && k < p->n_flags; k++) json_array_append_new(flags, json_string(p->flags[k]));
        json_t *e = rule_json(p->label, p->service, p->name, p->url, p->summary, names_json(p->anchor, p->n_anchor, 0),
                              names_json(p->required, p->n_required, 0), names_json(p->optional, p->n_optional, 0),
                              p->lookback_s, p->lookahead_s, flags, p->additional_data, p->file, (int)p->line);
        if (!e || json_array_append_new(list, e)) {
            json_decref(list);
            list = NULL;
        }
    }
    *version = strdup(r->ruleset && r->ruleset->version ? r->ruleset->version : "");
    protobuf_c_message_free_unpacked(resp, NULL);
    tm_rpc_close(rpc);
    if (!list || !*version) {
        fprintf(stderr, "trailmap-admin rules: out of memory\n");
        json_decref(list);
        free(*version);
        return TM_EXIT_NO;
    }
    *out = list;
    return 0;
}

int admin_cmd_rules(int argc, char **argv) {
    static const struct option opts[] = {{"rules", required_argument, NULL, O_RULES},
                                         {"service", required_argument, NULL, O_SERVICE},
                                         {"format", required_argument, NULL, O_FORMAT},
                                         ADMIN_CONN_OPTIONS,
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    admin_conn cn;
    admin_conn_init(&cn);
    const char *dir = NULL, *service = NULL, *format = "table";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = admin_conn_opt(&cn, "rules", c, optarg);
        if (k < 0) return TM_EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case O_RULES: dir = optarg; break;
        case O_SERVICE: service = optarg; break;
        case O_FORMAT: format = optarg; break;
        case 'h': rules_usage(stdout); return TM_EXIT_OK;
        default: rules_usage(stderr); return TM_EXIT_USAGE;
        }
    }
    if (check_format("rules", format, "table", "json")) return TM_EXIT_USAGE;
    if (optind < argc) {
        fprintf(stderr, "trailmap-admin rules: unexpected \"%s\" (a directory is given with --rules DIR)\n", argv[optind]);
        return TM_EXIT_USAGE;
    }
    json_t *list = NULL;
    char *version = NULL;
    if (dir) {
        char *d = admin_dir_name(dir);
        list = d ? rules_offline(d, service, &version) : NULL;
        free(d);
        if (!list) return TM_EXIT_NO;
    } else {
        int rc = rules_remote(&cn, service, &list, &version);
        if (rc) return rc;
    }
    if (!strcmp(format, "json")) {
        json_t *doc = json_pack("{s:s, s:o}", "version", version, "labels", list);
        if (doc) json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(doc);
    } else {
        size_t i;
        json_t *e;
        printf("%-70s %-15s %s\n", "LABEL", "SERVICE", "NAME");
        json_array_foreach(list, i, e)
            printf("%-70s %-15s %s\n", json_string_value(json_object_get(e, "label")),
                   json_string_value(json_object_get(e, "service")), json_string_value(json_object_get(e, "name")));
        printf("%zu labels, rules version %s\n", json_array_size(list), version);
        json_decref(list);
    }
    free(version);
    return admin_finish("rules", TM_EXIT_OK);
}

/* ---------------------------------------------------------------- reload */

static void reload_usage(FILE *f) {
    fprintf(f,
            "usage: trailmap-admin reload [--format text|json] [CONNECTION]\n"
            "\n"
            "Asks trailmapd to load its rules directory again (ReloadRules).  The new\n"
            "ruleset is checked completely first: with any error the server keeps the\n"
            "rules it runs and every error is printed (file:line:column: message, on\n"
            "stderr).  A good ruleset is used from the next query on; queries in flight\n"
            "finish with the old one.\n"
            "\n"
            "Prints the version now in use, whether it changed (and from which), and\n"
            "the counts of labels, event rules and overrides.\n"
            "\n"
            "  --format F    text (default) or json: {\"version\", \"previousVersion\",\n"
            "                \"changed\", \"labels\", \"eventRules\", \"overrides\", \"loaded\"}\n"
            "\n" ADMIN_CONN_HELP "\n"
            "Exit status: 0 reloaded (or unchanged), 1 refused (the errors are printed)\n"
            "or not allowed, 2 usage, 3 the server cannot be reached.\n");
}

int admin_cmd_reload(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, NULL, O_FORMAT}, ADMIN_CONN_OPTIONS,
                                         {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    admin_conn cn;
    admin_conn_init(&cn);
    const char *format = "text";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = admin_conn_opt(&cn, "reload", c, optarg);
        if (k < 0) return TM_EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case O_FORMAT: format = optarg; break;
        case 'h': reload_usage(stdout); return TM_EXIT_OK;
        default: reload_usage(stderr); return TM_EXIT_USAGE;
        }
    }
    if (check_format("reload", format, "text", "json")) return TM_EXIT_USAGE;
    if (optind < argc) {
        fprintf(stderr, "trailmap-admin reload: unexpected \"%s\"\n", argv[optind]);
        return TM_EXIT_USAGE;
    }
    tm_rpc *rpc;
    int rc = admin_connect(&cn, &rpc);
    if (rc) return rc;
    Trailmap__ReloadRulesRequest req = TRAILMAP__RELOAD_RULES_REQUEST__INIT;
    ProtobufCMessage *resp;
    tm_error err;
    if (tm_rpc_call(rpc, "ReloadRules", &req.base, &resp, &err) != 0) {
        if (err.code == TM_RPC_ESTATUS && tm_rpc_status(rpc) == TRAILMAP__STATUS__INVALID_ARGUMENT) {
            /* "N errors; still using rules V" then one error per line:
             * the errors first, as validate prints them, then the verdict */
            const char *msg = tm_rpc_message(rpc);
            const char *nl = strchr(msg, '\n');
            if (nl) fprintf(stderr, "%s\n", nl + 1);
            fprintf(stderr, "trailmap-admin reload: refused: %.*s\n", nl ? (int)(nl - msg) : (int)strlen(msg), msg);
            rc = TM_EXIT_NO;
        } else {
            rc = admin_report("reload", rpc, &err);
        }
        tm_rpc_close(rpc);
        return rc;
    }
    const Trailmap__ReloadRulesResponse *r = (const Trailmap__ReloadRulesResponse *)resp;
    Trailmap__RulesetInfo empty = TRAILMAP__RULESET_INFO__INIT;
    const Trailmap__RulesetInfo *info = r->ruleset ? r->ruleset : &empty;
    char loaded[32];
    admin_time_text(info->loaded_ms, loaded);
    if (!strcmp(format, "json")) {
        json_t *doc = json_pack("{s:s, s:s, s:b, s:i, s:i, s:i, s:s}", "version", info->version,
                                "previousVersion", r->previous_version, "changed", r->changed, "labels",
                                (int)info->labels, "eventRules", (int)info->event_rules, "overrides",
                                (int)info->overrides, "loaded", loaded);
        if (doc) json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(doc);
    } else {
        if (r->changed)
            printf("reloaded: rules version %s (was %s), %u labels, %u event rules, %u overrides\n", info->version,
                   r->previous_version, info->labels, info->event_rules, info->overrides);
        else
            printf("unchanged: rules version %s, %u labels, %u event rules, %u overrides\n", info->version,
                   info->labels, info->event_rules, info->overrides);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    tm_rpc_close(rpc);
    return admin_finish("reload", TM_EXIT_OK);
}

/* ----------------------------------------------------------------- stats */

static void stats_usage(FILE *f) {
    fprintf(f,
            "usage: trailmap-admin stats [--format table|json] [CONNECTION]\n"
            "\n"
            "trailmapd's counters (GetStats): sessions and events stored, the rules\n"
            "version in use and when it was loaded, reloads done and refused, requests\n"
            "by method, uptime.\n"
            "\n"
            "  --format F    table (default) or json: {\"sessions\", \"events\",\n"
            "                \"rulesVersion\", \"labels\", \"rulesLoaded\", \"reloads\",\n"
            "                \"reloadsRefused\", \"requests\": {METHOD: N}, \"uptimeSeconds\"}\n"
            "\n" ADMIN_CONN_HELP "\n" ADMIN_EXIT_HELP);
}

static void duration_text(int64_t ms, char *buf, size_t n) {
    int64_t s = ms / 1000;
    if (s >= 86400)
        snprintf(buf, n, "%lldd %02lldh %02lldm", (long long)(s / 86400), (long long)(s % 86400 / 3600),
                 (long long)(s % 3600 / 60));
    else if (s >= 3600)
        snprintf(buf, n, "%lldh %02lldm %02llds", (long long)(s / 3600), (long long)(s % 3600 / 60), (long long)(s % 60));
    else if (s >= 60)
        snprintf(buf, n, "%lldm %02llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, n, "%.1fs", (double)ms / 1000.0);
}

int admin_cmd_stats(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, NULL, O_FORMAT}, ADMIN_CONN_OPTIONS,
                                         {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    admin_conn cn;
    admin_conn_init(&cn);
    const char *format = "table";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = admin_conn_opt(&cn, "stats", c, optarg);
        if (k < 0) return TM_EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case O_FORMAT: format = optarg; break;
        case 'h': stats_usage(stdout); return TM_EXIT_OK;
        default: stats_usage(stderr); return TM_EXIT_USAGE;
        }
    }
    if (check_format("stats", format, "table", "json")) return TM_EXIT_USAGE;
    if (optind < argc) {
        fprintf(stderr, "trailmap-admin stats: unexpected \"%s\"\n", argv[optind]);
        return TM_EXIT_USAGE;
    }
    tm_rpc *rpc;
    int rc = admin_connect(&cn, &rpc);
    if (rc) return rc;
    Trailmap__GetStatsRequest req = TRAILMAP__GET_STATS_REQUEST__INIT;
    ProtobufCMessage *resp;
    tm_error err;
    if (tm_rpc_call(rpc, "GetStats", &req.base, &resp, &err) != 0) {
        rc = admin_report("stats", rpc, &err);
        tm_rpc_close(rpc);
        return rc;
    }
    const Trailmap__GetStatsResponse *r = (const Trailmap__GetStatsResponse *)resp;
    char loaded[32];
    admin_time_text(r->rules_loaded_ms, loaded);
    if (!strcmp(format, "json")) {
        json_t *req_counts = json_object();
        for (size_t i = 0; req_counts && i < r->n_requests; i++)
            json_object_set_new(req_counts, r->requests[i]->method, json_integer((json_int_t)r->requests[i]->count));
        json_t *doc = json_pack("{s:I, s:I, s:s, s:I, s:s, s:I, s:I, s:I, s:o, s:f}", "sessions",
                                (json_int_t)r->sessions, "events", (json_int_t)r->events, "rulesVersion",
                                r->rules_version, "labels", (json_int_t)r->labels, "rulesLoaded", loaded,
                                "rulesLoadedMs", (json_int_t)r->rules_loaded_ms, "reloads", (json_int_t)r->reloads,
                                "reloadsRefused", (json_int_t)r->reloads_refused, "requests",
                                req_counts ? req_counts : json_object(), "uptimeSeconds", (double)r->uptime_ms / 1000.0);
        if (doc) json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(doc);
    } else {
        char up[64];
        duration_text(r->uptime_ms, up, sizeof(up));
        printf("%-16s %s\n", "server", tm_rpc_url(rpc));
        printf("%-16s %llu\n", "sessions", (unsigned long long)r->sessions);
        printf("%-16s %llu\n", "events", (unsigned long long)r->events);
        printf("%-16s %s (%llu labels), loaded %s\n", "rules version", r->rules_version,
               (unsigned long long)r->labels, loaded);
        printf("%-16s %llu done, %llu refused\n", "reloads", (unsigned long long)r->reloads,
               (unsigned long long)r->reloads_refused);
        printf("%-16s %s\n", "uptime", up);
        printf("requests\n");
        for (size_t i = 0; i < r->n_requests; i++)
            printf("  %-14s %llu\n", r->requests[i]->method, (unsigned long long)r->requests[i]->count);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    tm_rpc_close(rpc);
    return admin_finish("stats", TM_EXIT_OK);
}
