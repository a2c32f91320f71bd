/* origin.c: console or API, from rules/origin.json (see origin.h). */
#include "origin.h"

#include <stdlib.h>
#include <string.h>

#include "pred.h"
#include "rulesInt.h"

typedef struct tm_preds {
    tm_pred **v;
    size_t n;
} tm_preds;

typedef struct client {
    char *name;
    tm_pred *when;
} client;

struct tm_origin {
    tm_preds console, api;
    tm_pred *api_requires; /* NULL: every record may be an API call */
    client *clients;
    size_t nclients;
};

static void preds_free(tm_preds *p) {
    for (size_t i = 0; i < p->n; i++) tm_pred_free(p->v[i]);
    free(p->v);
}

void tm_origin_free(tm_origin *o) {
    if (!o) return;
    preds_free(&o->console);
    preds_free(&o->api);
    tm_pred_free(o->api_requires);
    for (size_t i = 0; i < o->nclients; i++) {
        free(o->clients[i].name);
        tm_pred_free(o->clients[i].when);
    }
    free(o->clients);
    free(o);
}

/* A list of tests, any of which decides.  Each is compiled on its own so
 * that a test of a field the record lacks counts as "no" and the next is
 * tried (inside one "any" the rule language stops at such a test). */
static int compile_list(const tm_jdoc *doc, json_t *root, const char *key, tm_preds *out, tm_errlist *errs) {
    json_t *list = json_object_get(root, key);
    if (!list) return 0;
    if (!json_is_array(list)) {
        tm_errlist_add(errs, doc, list, 0, "\"%s\" is a list of tests", key);
        return TM_EINVAL;
    }
    out->v = calloc(json_array_size(list) + 1, sizeof(*out->v));
    if (!out->v) return tm_errlist_nomem(errs), TM_ENOMEM;
    int rc = 0;
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t) {
        tm_pred *p = tm_pred_compile(doc, t, errs);
        if (!p) {
            rc = errs->oom ? TM_ENOMEM : TM_EINVAL;
            continue;
        }
        out->v[out->n++] = p;
    }
    return rc;
}

static int compile_clients(const tm_jdoc *doc, json_t *root, tm_origin *o, tm_errlist *errs) {
    static const char *const members[] = {"client", "when", NULL};
    json_t *list = json_object_get(root, "clients");
    if (!list) return 0;
    if (!json_is_array(list)) {
        tm_errlist_add(errs, doc, list, 0, "\"clients\" is a list of {\"client\": NAME, \"when\": TEST}");
        return TM_EINVAL;
    }
    o->clients = calloc(json_array_size(list) + 1, sizeof(*o->clients));
    if (!o->clients) return tm_errlist_nomem(errs), TM_ENOMEM;
    int rc = 0;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        json_t *name = json_object_get(c, "client"), *when = json_object_get(c, "when");
        if (!json_is_object(c) || !json_is_string(name) || !when) {
            tm_errlist_add(errs, doc, c, 0, "a client is {\"client\": NAME, \"when\": TEST}");
            rc = TM_EINVAL;
            continue;
        }
        if (tm_errlist_only_members(doc, c, members, errs)) rc = TM_EINVAL;
        client *cl = &o->clients[o->nclients];
        cl->when = tm_pred_compile(doc, when, errs);
        cl->name = strdup(json_string_value(name));
        o->nclients++;
        if (!cl->name) return tm_errlist_nomem(errs), TM_ENOMEM;
        if (!cl->when) rc = errs->oom ? TM_ENOMEM : TM_EINVAL;
    }
    return rc;
}

int tm_origin_compile(tm_ruleset *rs, const tm_jdoc *doc, tm_errlist *errs) {
    static const char *const members[] = {"note", "console", "api", "api_requires", "clients", NULL};
    json_t *root = tm_jdoc_root(doc);
    if (!json_is_object(root)) {
        tm_errlist_add(errs, doc, root, 0, "origin.json is an object");
        return TM_EINVAL;
    }
    int rc = tm_errlist_only_members(doc, root, members, errs) ? TM_EINVAL : 0;
    tm_origin *o = calloc(1, sizeof(*o));
    if (!o) return tm_errlist_nomem(errs), TM_ENOMEM;
    rs->origin = o;
    int r;
    if ((r = compile_list(doc, root, "console", &o->console, errs))) rc = r;
    if (rc != TM_ENOMEM && (r = compile_list(doc, root, "api", &o->api, errs))) rc = r;
    json_t *req = json_object_get(root, "api_requires");
    if (rc != TM_ENOMEM && req && !(o->api_requires = tm_pred_compile(doc, req, errs)))
        rc = errs->oom ? TM_ENOMEM : TM_EINVAL;
    if (rc != TM_ENOMEM && (r = compile_clients(doc, root, o, errs))) rc = r;
    return rc;
}

static int holds(const tm_pred *p, const tm_event *e) {
    tm_predctx pc = {e, e->json, NULL};
    return tm_pred_eval(p, &pc) == TM_TRUE;
}

static int any_holds(const tm_preds *p, const tm_event *e) {
    for (size_t i = 0; i < p->n; i++)
        if (holds(p->v[i], e)) return 1;
    return 0;
}

int tm_origin_of(const tm_ruleset *rs, const tm_event *e) {
    const tm_origin *o = rs->origin;
    if (!o) return TM_ORIGIN_UNKNOWN;
    if (any_holds(&o->console, e)) return TM_ORIGIN_CONSOLE;
    if ((!o->api_requires || holds(o->api_requires, e)) && any_holds(&o->api, e)) return TM_ORIGIN_API;
    return TM_ORIGIN_UNKNOWN;
}

char *tm_origin_client(const tm_ruleset *rs, const tm_event *e) {
    const tm_origin *o = rs->origin;
    for (size_t i = 0; o && i < o->nclients; i++)
        if (holds(o->clients[i].when, e)) return strdup(o->clients[i].name);
    const char *ua = e->ua;
    if (!ua) return strdup("an unnamed client");
    while (*ua == '[' || *ua == ' ') ua++;
    size_t n = strcspn(ua, "/ ,;()[]");
    if (n == 0) return strdup("an unnamed client");
    if (n > 64) n = 64; /* a user agent is the caller's to choose: keep names short */
    return strndup(ua, n);
}

const char *tm_origin_name(int origin) {
    return origin == TM_ORIGIN_CONSOLE ? "console" : origin == TM_ORIGIN_API ? "api" : "unknown";
}
