/* session.c: the session key of every event (see session.h).
 *
 * THE RULE
 *
 * The principal of an event is userIdentity.arn; without an arn (sign-in
 * records leave it out) the arn is written back for a Root identity
 * ("arn:aws:iam::<accountId>:root") and an IAM user ("...:user/<userName>",
 * the partition from awsRegion), else userIdentity.principalId,
 * else "<type>:<accountId>:<userName>".  A session is named by its
 * principal and by when its credentials were created:
 *
 *   "<principal>#<creationDate>"   (creationDate = userIdentity.sessionContext.
 *                                   attributes.creationDate, written back as
 *                                   YYYY-MM-DDTHH:MM:SS[.fff]Z)
 *
 * Events are placed as follows, first match wins:
 *
 *  1. A record with no userIdentity object (a minimized export, such as
 *     the compatibility corpus) goes to the session "default".
 *  2. An event of an AWS service goes to "service:<invokedBy>", or
 *     "service:<eventSource>" when invokedBy is absent.  It is one when
 *     userIdentity.type is "AWSService", or when userIdentity.invokedBy is
 *     set and the identity carries neither an access key nor a creationDate.
 *     A call the console's back end made inside a user's session (invokedBy
 *     "AWS Internal" beside the user's key and sessionContext) stays in
 *     that session, as it does in the reference, which gathers a session
 *     by its key; a call a named service made for the user: rule 9.
 *  3. An event signed with a long-term key (userIdentity.accessKeyId not
 *     starting with "ASIA", e.g. AKIA... from the CLI) goes to
 *     "<principal>#<accessKeyId>", unless a GetSigninToken (rule 6) named
 *     that key as a console key: then it goes to that console session.
 *  4. An event with a creationDate belongs to "<principal>#<creationDate>";
 *     its temporary key (ASIA...), if any, is from then on a name of the
 *     same session.
 *  5. An event with a temporary key but no creationDate joins the session
 *     that key names (rules 4 and 6); when no event says which session the
 *     key belongs to, it goes to "<principal>#<accessKeyId>".
 *  6. GetSigninToken: responseElements.credentials.accessKeyId is the key the
 *     console session started by this call will use; the sessions that key
 *     names are joined to the GetSigninToken event's own session: the one of
 *     its key or creationDate (rules 4-5), else the one it joins by rule 7,
 *     else a new session "<principal>#<eventTime>".
 *     Sessions joined by rules 4-6 take the name of their earliest-created
 *     member ("<principal>#<creationDate>", ties broken by byte order).
 *  7. An event with neither key nor creationDate from signin.amazonaws.com
 *     (ConsoleLogin, CheckMfa, ...) joins the session of the same principal
 *     whose creationDate is nearest to the event's time within
 *     [eventTime - 1 minute, eventTime + 5 minutes] (the closest wins; at
 *     equal distance the later one); else it goes to
 *     "<principal>#<eventTime>".
 *  8. Any other event with neither key nor creationDate joins the session
 *     of the same principal created most recently at or before its time
 *     (1 minute of clock skew allowed, at most 12 hours back: no console
 *     session lasts longer); else it goes to "<principal>".
 *  9. A call an AWS service makes for a principal (invokedBy names a
 *     service, "secretsmanager.amazonaws.com") with credentials of its own
 *     is placed as in rule 8, whatever key or creationDate it carries: it
 *     joins what the principal was doing, and a service's short-lived keys
 *     never make sessions of their own.
 *
 * An access key is always a principal's: "the session a key names" is the
 * one that principal's events with that key belong to.  Sanitized exports
 * write one placeholder key (and one placeholder in every GetSigninToken)
 * for everybody; a key shared so never joins two principals' sessions.
 *
 * All events of the batch are read before any is placed (facts first,
 * placement second) and every choice is made by comparing values, never by
 * position, so the result does not depend on the order of the input.
 * Sessions are never split by region.  When the caller names a session
 * (`forced`), every event not yet placed goes to it. */
#include "session.h"
#include "strmap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGIN_BEFORE_MS (60 * 1000LL)
#define LOGIN_AFTER_MS (5 * 60 * 1000LL)
#define INFLIGHT_SKEW_MS (60 * 1000LL)
#define INFLIGHT_MAX_MS (12 * 3600 * 1000LL)
#define NONE SIZE_MAX

_Static_assert(INFLIGHT_MAX_MS <= TM_SESSION_REACH_BEFORE_MS && LOGIN_BEFORE_MS <= TM_SESSION_REACH_BEFORE_MS &&
                   INFLIGHT_SKEW_MS <= TM_SESSION_REACH_AFTER_MS && LOGIN_AFTER_MS <= TM_SESSION_REACH_AFTER_MS,
               "session.h's reach must cover the windows of rules 7 and 8");

/* ------------------------------------------------------------- helpers */

static char *cat3(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

static const char *str_at(const json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

/* ------------------------------------------------------- union-find nodes */

/* A node is a session ("<principal>#<creationDate>") or a temporary key. */
typedef struct {
    size_t parent;
    int is_session;
    int has_ms;
    int64_t cdate_ms;
    char *name;  /* what the session is called if this node names it */
    char *principal; /* sessions: for rules 7-8 */
} node;

typedef struct {
    node *v;
    size_t n, cap;
    tm_strmap index; /* "s:<name>" or "k:<accessKeyId>" → node */
} nodes;

static size_t find(nodes *ns, size_t i) {
    while (ns->v[i].parent != i) {
        ns->v[i].parent = ns->v[ns->v[i].parent].parent;
        i = ns->v[i].parent;
    }
    return i;
}

static void unite(nodes *ns, size_t a, size_t b) {
    a = find(ns, a);
    b = find(ns, b);
    if (a == b) return;
    if (a < b) ns->v[b].parent = a; /* any rule works: names are chosen later by value */
    else ns->v[a].parent = b;
}

/* The node named by map key `key`, created when absent.  `name` is the
 * session name this node gives; for key nodes an existing name is replaced
 * by a smaller one, so the choice does not depend on order. */
static int node_get(nodes *ns, const char *key, int is_session, const char *name,
                    const char *principal, int has_ms, int64_t ms, size_t *out) {
    size_t i = tm_strmap_get(&ns->index, key);
    if (i != NONE) {
        node *nd = &ns->v[i];
        if (name && (!nd->name || strcmp(name, nd->name) < 0)) {
            char *c = strdup(name);
            if (!c) return TM_ENOMEM;
            free(nd->name);
            nd->name = c;
        }
        *out = i;
        return 0;
    }
    if (ns->n == ns->cap) {
        size_t ncap = ns->cap ? ns->cap * 2 : 64;
        node *nv = ncap > SIZE_MAX / sizeof(*nv) ? NULL : realloc(ns->v, ncap * sizeof(*nv));
        if (!nv) return TM_ENOMEM;
        ns->v = nv;
        ns->cap = ncap;
    }
    node *nd = &ns->v[ns->n];
    memset(nd, 0, sizeof(*nd));
    nd->parent = ns->n;
    nd->is_session = is_session;
    nd->has_ms = has_ms;
    nd->cdate_ms = ms;
    nd->name = name ? strdup(name) : NULL;
    nd->principal = principal ? strdup(principal) : NULL;
    if ((name && !nd->name) || (principal && !nd->principal)) {
        free(nd->name);
        free(nd->principal);
        return TM_ENOMEM;
    }
    if (tm_strmap_set(&ns->index, key, ns->n) != 0) {
        free(nd->name);
        free(nd->principal);
        return TM_ENOMEM;
    }
    *out = ns->n++;
    return 0;
}

static void nodes_free(nodes *ns) {
    for (size_t i = 0; i < ns->n; i++) {
        free(ns->v[i].name);
        free(ns->v[i].principal);
    }
    free(ns->v);
    tm_strmap_free(&ns->index);
}

/* -------------------------------------------------------- per-event facts */

enum { K_FIXED, K_NODE, K_LONGTERM, K_LOGIN, K_INFLIGHT };

typedef struct {
    int kind;
    tm_session_facts sf; /* principal, fixed (K_FIXED: the session; K_LONGTERM: its own), keys */
    size_t node;         /* K_NODE, K_LOGIN */
} facts;

/* The ARN partition of a region: "aws-cn" for cn-*, "aws-us-gov" for
 * us-gov-*, else "aws". */
static const char *partition_of(const char *region) {
    if (region && strncmp(region, "cn-", 3) == 0) return "aws-cn";
    if (region && strncmp(region, "us-gov-", 7) == 0) return "aws-us-gov";
    return "aws";
}

static char *principal_of(const json_t *ui, const char *region) {
    const char *arn = str_at(ui, "arn"), *type = str_at(ui, "type");
    const char *acct = str_at(ui, "accountId"), *pid = str_at(ui, "principalId");
    const char *user = str_at(ui, "userName");
    char pfx[64];
    if (arn) return strdup(arn);
    /* sign-in records of root and IAM users may leave the arn out; the one
     * the user's other records carry is written back, so they meet */
    snprintf(pfx, sizeof(pfx), "arn:%s:iam::", partition_of(region));
    if (type && strcmp(type, "Root") == 0 && acct) {
        char *a = cat3(pfx, acct, ":root");
        return a;
    }
    if (type && strcmp(type, "IAMUser") == 0 && acct && user && !strchr(user, '/')) {
        char *a = cat3(pfx, acct, ":user/");
        char *r = a ? cat3(a, user, "") : NULL;
        free(a);
        return r;
    }
    if (pid) return strdup(pid);
    char *a = cat3(type ? type : "unknown", ":", acct ? acct : "");
    if (!a) return NULL;
    char *b = cat3(a, ":", user ? user : "");
    free(a);
    return b;
}

/* The key a GetSigninToken event hands out, or NULL. */
static const char *signin_token_key(const tm_event *e) {
    if (strcmp(e->name, "GetSigninToken") != 0) return NULL;
    json_t *cred = json_object_get(json_object_get(e->json, "responseElements"), "credentials");
    return str_at(cred, "accessKeyId");
}

/* invokedBy names an AWS service ("secretsmanager.amazonaws.com"), not the
 * console's back end ("AWS Internal"). */
static int on_behalf(const char *invoked) {
    size_t n = strlen(invoked), k = strlen(".amazonaws.com");
    return n > k && strcmp(invoked + n - k, ".amazonaws.com") == 0;
}

void tm_session_facts_clear(tm_session_facts *f) {
    if (!f) return;
    free(f->principal);
    free(f->fixed);
    free(f->creation);
    memset(f, 0, sizeof(*f));
}

int tm_session_facts_of(const tm_event *e, tm_session_facts *f, tm_error *err) {
    json_t *ui = json_object_get(e->json, "userIdentity");
    memset(f, 0, sizeof(*f));
    if (!json_is_object(ui)) {
        f->kind = TM_SESSION_FIXED;
        f->fixed = strdup("default");
        goto check;
    }
    const char *type = str_at(ui, "type"), *invoked = str_at(ui, "invokedBy");
    const char *akid = str_at(ui, "accessKeyId");
    const char *cdate = str_at(json_object_get(json_object_get(ui, "sessionContext"), "attributes"),
                               "creationDate");
    if ((type && strcmp(type, "AWSService") == 0) || (invoked && !akid && !cdate)) {
        f->kind = TM_SESSION_FIXED;
        f->fixed = cat3("service:", invoked ? invoked : e->source, "");
        goto check;
    }
    f->principal = principal_of(ui, e->region);
    if (!f->principal) goto nomem;
    if (invoked && on_behalf(invoked)) {
        /* a service calling for the user with credentials of its own (KMS
         * for Secrets Manager): the call is part of what the user was doing
         * then, not a session of that key (rule 9) */
        f->kind = TM_SESSION_LOOSE;
        return 0;
    }
    if (akid && strncmp(akid, "ASIA", 4) != 0) {
        f->kind = TM_SESSION_LONGTERM;
        f->access_key = akid;
        f->fixed = cat3(f->principal, "#", akid);
        goto check;
    }
    if (cdate || akid) {
        f->kind = TM_SESSION_NODE;
        f->access_key = akid;
        f->token_key = signin_token_key(e);
        if (cdate) {
            char norm[32];
            f->has_creation_ms = tm_time_parse(cdate, &f->creation_ms) == 0;
            if (f->has_creation_ms) tm_time_format(f->creation_ms, norm);
            else f->creation_ms = 0;
            f->creation = strdup(f->has_creation_ms ? norm : cdate);
            if (!f->creation) goto nomem;
        }
        return 0;
    }
    f->kind = TM_SESSION_LOOSE;
    if (strcmp(e->source, "signin.amazonaws.com") == 0) f->token_key = signin_token_key(e);
    return 0;
check:
    if (f->fixed) return 0;
nomem:
    tm_session_facts_clear(f);
    return tm_error_set(err, TM_ENOMEM, "out of memory");
}

/* The map key of access key k as principal p uses it.  Keys are told apart
 * by principal: sanitized exports write one placeholder key for everyone,
 * and a key must never join two principals' sessions. */
static char *key_of(const char *p, const char *k) {
    char *a = cat3("k:", p ? p : "", "\x1f");
    char *r = a ? cat3(a, k, "") : NULL;
    free(a);
    return r;
}

/* Pass 1 for one event: what it says about sessions. */
static int read_facts(nodes *ns, const tm_event *e, facts *f) {
    int rc = tm_session_facts_of(e, &f->sf, NULL);
    f->node = NONE;
    if (rc != 0) return rc;
    const tm_session_facts *sf = &f->sf;
    switch (sf->kind) {
    case TM_SESSION_FIXED: f->kind = K_FIXED; return 0;
    case TM_SESSION_LONGTERM: f->kind = K_LONGTERM; return 0;
    case TM_SESSION_LOOSE:
        f->kind = strcmp(e->source, "signin.amazonaws.com") == 0 ? K_LOGIN : K_INFLIGHT;
        return 0;
    case TM_SESSION_NODE: break;
    }
    f->kind = K_NODE;
    if (sf->creation) {
        char *name = cat3(sf->principal, "#", sf->creation);
        char *key = name ? cat3("s:", name, "") : NULL;
        rc = key ? node_get(ns, key, 1, name, sf->principal, sf->has_creation_ms, sf->creation_ms, &f->node)
                 : TM_ENOMEM;
        free(key);
        free(name);
        if (rc != 0 || !sf->access_key) return rc;
        size_t kn;
        key = key_of(sf->principal, sf->access_key);
        rc = key ? node_get(ns, key, 0, NULL, NULL, 0, 0, &kn) : TM_ENOMEM;
        free(key);
        if (rc == 0) unite(ns, f->node, kn);
        return rc;
    }
    char *name = cat3(sf->principal, "#", sf->access_key);
    char *key = key_of(sf->principal, sf->access_key);
    rc = name && key ? node_get(ns, key, 0, name, NULL, 0, 0, &f->node) : TM_ENOMEM;
    free(name);
    free(key);
    return rc;
}

/* Joins the node of key sk, as principal p uses it, to node anchor. */
static int join_key(nodes *ns, size_t anchor, const char *p, const char *sk) {
    char *key = key_of(p, sk);
    size_t kn;
    int rc = key ? node_get(ns, key, 0, NULL, NULL, 0, 0, &kn) : TM_ENOMEM;
    free(key);
    if (rc == 0) unite(ns, anchor, kn);
    return rc;
}

/* --------------------------------------------------------------- naming */

/* Is session node a a better name for its group than b? Earliest-created
 * first, then byte order; a session always beats a bare key. */
static int better(const node *a, const node *b) {
    if (!a->name) return 0;
    if (!b || !b->name) return 1;
    if (a->is_session != b->is_session) return a->is_session;
    if (a->is_session) {
        if (a->has_ms != b->has_ms) return a->has_ms;
        if (a->has_ms && a->cdate_ms != b->cdate_ms) return a->cdate_ms < b->cdate_ms;
    }
    return strcmp(a->name, b->name) < 0;
}

typedef struct {
    const char *principal;
    int64_t ms;
    size_t node;
} created;

static int created_cmp(const void *x, const void *y) {
    const created *a = x, *b = y;
    int c = strcmp(a->principal, b->principal);
    if (c) return c;
    if (a->ms != b->ms) return a->ms < b->ms ? -1 : 1;
    return a->node < b->node ? -1 : a->node > b->node;
}

/* The sessions of principal p: [*lo, *hi) in the sorted array. */
static void principal_range(const created *cr, size_t n, const char *p, size_t *lo, size_t *hi) {
    size_t a = 0, b = n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (strcmp(cr[m].principal, p) < 0) a = m + 1;
        else b = m;
    }
    *lo = a;
    b = n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (strcmp(cr[m].principal, p) <= 0) a = m + 1;
        else b = m;
    }
    *hi = a;
}

/* Rule 7: the session of principal p created nearest to t within
 * [t - LOGIN_BEFORE_MS, t + LOGIN_AFTER_MS], or NONE. */
static size_t login_match(const created *cr, size_t ncr, const char *p, int64_t t) {
    size_t lo, hi, nd = NONE;
    int64_t bestd = INT64_MAX;
    principal_range(cr, ncr, p, &lo, &hi);
    for (size_t k = lo; k < hi; k++) {
        int64_t d = cr[k].ms - t;
        if (d < -LOGIN_BEFORE_MS || d > LOGIN_AFTER_MS) continue;
        int64_t ad = d < 0 ? -d : d;
        /* sorted by time: at equal distance the later one replaces */
        if (ad <= bestd) {
            bestd = ad;
            nd = cr[k].node;
        }
    }
    return nd;
}

int tm_session_assign(tm_eventvec *vec, const char *forced, tm_error *err) {
    if (forced) {
        for (size_t i = 0; i < vec->n; i++) {
            if (vec->v[i]->session) continue;
            vec->v[i]->session = strdup(forced);
            if (!vec->v[i]->session) return tm_error_set(err, TM_ENOMEM, "out of memory");
        }
        return 0;
    }
    if (vec->n == 0) return 0;

    int rc = 0;
    nodes ns;
    memset(&ns, 0, sizeof(ns));
    size_t *best = NULL;
    created *cr = NULL;
    size_t ncr = 0;
    facts *fs = calloc(vec->n, sizeof(*fs));
    if (!fs) return tm_error_set(err, TM_ENOMEM, "out of memory");

    /* pass 1: facts */
    for (size_t i = 0; i < vec->n && rc == 0; i++) rc = read_facts(&ns, vec->v[i], &fs[i]);
    if (rc != 0) goto done;

    /* the sessions of each principal, by creation time */
    cr = malloc((ns.n ? ns.n : 1) * sizeof(*cr));
    if (!cr) {
        rc = TM_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < ns.n; i++)
        if (ns.v[i].is_session && ns.v[i].has_ms)
            cr[ncr++] = (created){ns.v[i].principal, ns.v[i].cdate_ms, i};
    qsort(cr, ncr, sizeof(*cr), created_cmp);

    /* sign-in events find their session by time (rule 7); GetSigninToken
     * joins the key it hands out to its own session (rule 6) */
    for (size_t i = 0; i < vec->n && rc == 0; i++) {
        facts *f = &fs[i];
        if (f->kind == K_LOGIN) f->node = login_match(cr, ncr, f->sf.principal, vec->v[i]->time_ms);
        const char *sk = f->sf.token_key; /* set for K_NODE and K_LOGIN only */
        if (!sk) continue;
        if (f->node == NONE) {
            /* a sign-in with no session of its own yet: it starts one */
            char ts[32];
            tm_time_format(vec->v[i]->time_ms, ts);
            char *name = cat3(f->sf.principal, "#", ts);
            char *key = name ? cat3("s:", name, "") : NULL;
            rc = key ? node_get(&ns, key, 1, name, f->sf.principal, 1, vec->v[i]->time_ms, &f->node)
                     : TM_ENOMEM;
            free(key);
            free(name);
            if (rc != 0) break;
        }
        rc = join_key(&ns, f->node, f->sf.principal, sk);
    }
    if (rc != 0) goto done;

    /* the name of each group of joined nodes */
    best = malloc((ns.n ? ns.n : 1) * sizeof(*best));
    if (!best) {
        rc = TM_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < ns.n; i++) best[i] = NONE;
    for (size_t i = 0; i < ns.n; i++) {
        size_t r = find(&ns, i);
        if (better(&ns.v[i], best[r] == NONE ? NULL : &ns.v[best[r]])) best[r] = i;
    }

    /* pass 2: placement */
    for (size_t i = 0; i < vec->n; i++) {
        tm_event *e = vec->v[i];
        facts *f = &fs[i];
        if (e->session) continue;
        const char *name = NULL;
        char *own = NULL;
        size_t nd = NONE;
        if (f->kind == K_FIXED) {
            name = f->sf.fixed;
        } else if (f->kind == K_NODE) {
            nd = f->node;
        } else if (f->kind == K_LONGTERM) {
            char *key = key_of(f->sf.principal, f->sf.access_key);
            if (!key) {
                rc = TM_ENOMEM;
                goto done;
            }
            nd = tm_strmap_get(&ns.index, key);
            free(key);
            if (nd != NONE) {
                size_t b = best[find(&ns, nd)];
                if (b == NONE || !ns.v[b].is_session) nd = NONE;
            }
            if (nd == NONE) name = f->sf.fixed;
        } else {
            size_t lo, hi;
            principal_range(cr, ncr, f->sf.principal, &lo, &hi);
            int64_t t = e->time_ms;
            if (f->kind == K_LOGIN) {
                nd = f->node;
                if (nd == NONE) {
                    char ts[32];
                    tm_time_format(t, ts);
                    own = cat3(f->sf.principal, "#", ts);
                    if (!own) {
                        rc = TM_ENOMEM;
                        goto done;
                    }
                    name = own;
                }
            } else {
                for (size_t k = lo; k < hi; k++) {
                    int64_t d = cr[k].ms - t;
                    if (d > INFLIGHT_SKEW_MS) break;
                    if (d >= -INFLIGHT_MAX_MS) nd = cr[k].node; /* the latest one wins */
                }
                if (nd == NONE) name = f->sf.principal;
            }
        }
        if (nd != NONE) {
            size_t b = best[find(&ns, nd)];
            /* every group holds a named node; the fallback is for safety */
            name = b != NONE ? ns.v[b].name : (f->sf.principal ? f->sf.principal : "default");
        }
        e->session = own ? own : strdup(name);
        if (!e->session) {
            rc = TM_ENOMEM;
            goto done;
        }
    }

done:
    for (size_t i = 0; i < vec->n; i++) tm_session_facts_clear(&fs[i].sf);
    free(fs);
    free(best);
    free(cr);
    nodes_free(&ns);
    if (rc == TM_ENOMEM) return tm_error_set(err, TM_ENOMEM, "out of memory while assigning sessions");
    return rc;
}
