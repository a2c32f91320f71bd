/* test_store.c: the durable store: duplicates, forced sessions, reopening,
 * sessions independent of batching and order, versions, listing, snapshots,
 * set_mapped, schema versions and concurrent readers beside writers. */
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"
#include "session.h"
#include "store.h"
#include "test.h"

#define ACCT "111122223333"
#define UA_CONSOLE "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
#define UA_CLI "aws-cli/2.15.0 Python/3.11.6 Linux/6.2.0 exe/x86_64.ubuntu.22 prompt/off command/iam.list-users"

/* ------------------------------------------------------------ temp dirs */

static char *temp_dir(void) {
    char *d = strdup("/tmp/test_store.XXXXXX");
    if (!d || !mkdtemp(d)) {
        fprintf(stderr, "cannot create a temporary directory\n");
        exit(2);
    }
    return d;
}

/* Removes d (and d/data) with the store's files. */
static void remove_dir(char *d) {
    static const char *const files[] = {"trailmap.db", "trailmap.db-wal", "trailmap.db-shm", "trailmap.db-journal"};
    static const char *const subs[] = {"/data", ""};
    char p[4096];
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            snprintf(p, sizeof(p), "%s%s/%s", d, subs[k], files[i]);
            unlink(p);
        }
        snprintf(p, sizeof(p), "%s%s", d, subs[k]);
        rmdir(p);
    }
    free(d);
}

static tm_store *open_store(const char *dir) {
    tm_store *s = NULL;
    tm_error err = {0};
    int rc = tm_store_open(dir, &s, &err);
    if (rc != 0) {
        fprintf(stderr, "tm_store_open(%s): %s\n", dir, err.msg);
        exit(2);
    }
    return s;
}

/* ------------------------------------------------------------- records */

static json_t *session_context(const char *cdate) {
    if (!cdate) return NULL;
    return json_pack("{s:{}, s:{}, s:{s:s, s:s}}", "sessionIssuer", "webIdFederationData", "attributes",
                     "creationDate", cdate, "mfaAuthenticated", "true");
}

static json_t *iam_user(const char *user, const char *akid, const char *cdate) {
    char arn[256];
    snprintf(arn, sizeof(arn), "arn:aws:iam::" ACCT ":user/%s", user);
    json_t *ui = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "IAMUser", "principalId", "AIDAJ45Q7YFFAREXAMPLE",
                           "arn", arn, "accountId", ACCT, "userName", user);
    if (akid) json_object_set_new(ui, "accessKeyId", json_string(akid));
    json_t *sc = session_context(cdate);
    if (sc) json_object_set_new(ui, "sessionContext", sc);
    return ui;
}

static json_t *assumed_role(const char *role, const char *who, const char *akid, const char *cdate) {
    char arn[256];
    snprintf(arn, sizeof(arn), "arn:aws:sts::" ACCT ":assumed-role/%s/%s", role, who);
    json_t *ui = json_pack("{s:s, s:s, s:s}", "type", "AssumedRole", "arn", arn, "accountId", ACCT);
    if (akid) json_object_set_new(ui, "accessKeyId", json_string(akid));
    json_t *sc = session_context(cdate);
    if (sc) json_object_set_new(ui, "sessionContext", sc);
    return ui;
}

static json_t *root_user(const char *akid, const char *cdate) {
    json_t *ui = json_pack("{s:s, s:s, s:s, s:s}", "type", "Root", "principalId", ACCT, "arn",
                           "arn:aws:iam::" ACCT ":root", "accountId", ACCT);
    if (akid) json_object_set_new(ui, "accessKeyId", json_string(akid));
    json_t *sc = session_context(cdate);
    if (sc) json_object_set_new(ui, "sessionContext", sc);
    return ui;
}

/* A full record; ui and resp are stolen (either may be NULL). */
static char *record(const char *time, const char *id, const char *src, const char *name, json_t *ui, json_t *resp,
                    const char *ua, const char *ip) {
    json_t *r = json_object();
    json_object_set_new(r, "eventVersion", json_string("1.08"));
    if (ui) json_object_set_new(r, "userIdentity", ui);
    json_object_set_new(r, "eventTime", json_string(time));
    json_object_set_new(r, "eventSource", json_string(src));
    json_object_set_new(r, "eventName", json_string(name));
    json_object_set_new(r, "awsRegion", json_string("us-east-1"));
    if (ip) json_object_set_new(r, "sourceIPAddress", json_string(ip));
    if (ua) json_object_set_new(r, "userAgent", json_string(ua));
    json_object_set_new(r, "requestParameters", json_null());
    json_object_set_new(r, "responseElements", resp ? resp : json_null());
    if (id) json_object_set_new(r, "eventID", json_string(id));
    json_object_set_new(r, "eventType", json_string("AwsApiCall"));
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    if (!s) exit(2);
    return s;
}

static char *F[96];
static size_t NF;

static void add(char *text) {
    if (NF == sizeof(F) / sizeof(F[0])) exit(2);
    F[NF++] = text;
}

#define IP1 "198.51.100.7"
#define IP2 "203.0.113.9"
#define LOGIN_OK json_pack("{s:s}", "ConsoleLogin", "Success")

/* Sessions with every way events join: creation dates, keys, ConsoleLogin
 * by time, GetSigninToken naming keys (temporary and long-term), events in
 * progress placed by time, services, records with no userIdentity. */
static void build_fixtures(void) {
    /* alice, IAM user, two console sessions the same day and a CLI key */
    add(record("2023-12-04T10:00:00Z", "a01", "signin.amazonaws.com", "ConsoleLogin", iam_user("alice", NULL, NULL),
               LOGIN_OK, UA_CONSOLE, IP1));
    add(record("2023-12-04T09:59:58Z", "a02", "signin.amazonaws.com", "CheckMfa", iam_user("alice", NULL, NULL),
               NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T10:00:05Z", "a03", "ec2.amazonaws.com", "DescribeRegions",
               iam_user("alice", "ASIAALICE1", "2023-12-04T10:00:01Z"), NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T10:01:00Z", "a04", "s3.amazonaws.com", "ListBuckets",
               iam_user("alice", "ASIAALICE2", "2023-12-04T10:00:01Z"), NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T10:02:00Z", "a05", "sts.amazonaws.com", "GetCallerIdentity",
               iam_user("alice", "ASIAALICE1", NULL), NULL, UA_CONSOLE, IP2));
    add(record("2023-12-04T10:30:00Z", "a06", "health.amazonaws.com", "DescribeEventAggregates",
               iam_user("alice", NULL, NULL), NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T11:00:00Z", "a07", "ec2.amazonaws.com", "DescribeVpcs", iam_user("alice", "ASIAALICE4", NULL),
               NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T11:00:10Z", "a08", "ec2.amazonaws.com", "DescribeSubnets",
               iam_user("alice", "ASIAALICE4", "2023-12-04T10:00:01Z"), NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T15:00:00Z", "a11", "signin.amazonaws.com", "ConsoleLogin", iam_user("alice", NULL, NULL),
               LOGIN_OK, UA_CONSOLE, IP2));
    add(record("2023-12-04T15:00:03Z", "a12", "ec2.amazonaws.com", "DescribeInstances",
               iam_user("alice", "ASIAALICE3", "2023-12-04T15:00:00Z"), NULL, UA_CONSOLE, IP2));
    add(record("2023-12-04T16:00:00.250Z", "a13", "ec2.amazonaws.com", "DescribeVolumes",
               iam_user("alice", "ASIAALICE3", "2023-12-04T15:00:00.000Z"), NULL, UA_CONSOLE, IP2));
    /* in progress: the latest session created before it (the second one, or the first when it is missing) */
    add(record("2023-12-04T15:30:00Z", "a14", "health.amazonaws.com", "DescribeEvents", iam_user("alice", NULL, NULL),
               NULL, UA_CONSOLE, IP2));
    add(record("2023-12-05T02:00:00Z", "a15", "health.amazonaws.com", "DescribeEvents", iam_user("alice", NULL, NULL),
               NULL, UA_CONSOLE, IP2));
    add(record("2023-12-04T10:00:30Z", "a21", "iam.amazonaws.com", "ListUsers",
               iam_user("alice", "AKIAALICECLI", NULL), NULL, UA_CLI, IP1));
    add(record("2023-12-04T15:00:01Z", "a22", "iam.amazonaws.com", "ListRoles",
               iam_user("alice", "AKIAALICECLI", NULL), NULL, UA_CLI, IP1));

    /* bob, SSO */
    const char *sso = "AWSReservedSSO_AdministratorAccess_0a1b2c3d4e5f6789";
    add(record("2023-12-04T10:00:10Z", "b01", "signin.amazonaws.com", "ConsoleLogin",
               assumed_role(sso, "bob@example.com", NULL, "2023-12-04T10:00:09Z"), LOGIN_OK, UA_CONSOLE, IP2));
    add(record("2023-12-04T10:00:20Z", "b02", "lambda.amazonaws.com", "ListFunctions20150331",
               assumed_role(sso, "bob@example.com", "ASIABOB1", "2023-12-04T10:00:09Z"), NULL, UA_CONSOLE, IP2));
    add(record("2023-12-04T10:05:00Z", "b03", "ec2.amazonaws.com", "DescribeInstances",
               assumed_role(sso, "bob@example.com", "ASIABOB1", NULL), NULL, UA_CONSOLE, IP2));

    /* root */
    add(record("2023-12-04T10:00:02Z", "r01", "signin.amazonaws.com", "ConsoleLogin", root_user(NULL, NULL), LOGIN_OK,
               UA_CONSOLE, IP1));
    add(record("2023-12-04T10:00:06Z", "r02", "iam.amazonaws.com", "GetAccountSummary",
               root_user("ASIAROOT1", "2023-12-04T10:00:03Z"), NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T10:03:00Z", "r03", "billing.amazonaws.com", "GetBillingData",
               root_user("ASIAROOT1", "2023-12-04T10:00:03Z"), NULL, UA_CONSOLE, IP1));

    /* carol federates: GetSigninToken names the console key; the console
     * session is created a little after the CLI session that asked for it */
    add(record("2023-12-04T11:00:00Z", "f01", "signin.amazonaws.com", "GetSigninToken",
               assumed_role("Admin", "carol", "ASIACAROLCLI", "2023-12-04T10:59:00Z"),
               json_pack("{s:{s:s}}", "credentials", "accessKeyId", "ASIACAROLCONSOLE"), UA_CLI, IP1));
    add(record("2023-12-04T11:00:02Z", "f02", "signin.amazonaws.com", "ConsoleLogin",
               assumed_role("Admin", "carol", NULL, NULL), LOGIN_OK, UA_CONSOLE, IP1));
    add(record("2023-12-04T11:00:05Z", "f03", "ec2.amazonaws.com", "DescribeInstances",
               assumed_role("Admin", "carol", "ASIACAROLCONSOLE", "2023-12-04T11:00:01Z"), NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T11:00:09Z", "f04", "ec2.amazonaws.com", "DescribeVolumes",
               assumed_role("Admin", "carol", "ASIACAROLCONSOLE", NULL), NULL, UA_CONSOLE, IP1));
    /* another console key of the same console session: only the creation date ties it */
    add(record("2023-12-04T11:05:00Z", "f06", "s3.amazonaws.com", "ListBuckets",
               assumed_role("Admin", "carol", "ASIACAROLCONSOLE2", "2023-12-04T11:00:01Z"), NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T11:20:00Z", "f05", "health.amazonaws.com", "DescribeEvents",
               assumed_role("Admin", "carol", NULL, NULL), NULL, UA_CONSOLE, IP1));

    /* erin: ConsoleLogin and GetSigninToken carry no key */
    add(record("2023-12-04T12:00:00Z", "e01", "signin.amazonaws.com", "ConsoleLogin", iam_user("erin", NULL, NULL),
               LOGIN_OK, UA_CONSOLE, IP2));
    add(record("2023-12-04T12:00:00Z", "e02", "signin.amazonaws.com", "GetSigninToken", iam_user("erin", NULL, NULL),
               json_pack("{s:s, s:{s:s}}", "GetSigninToken", "Success", "credentials", "accessKeyId", "ASIAERIN1"),
               "Jersey/${project.version} (HttpUrlConnection 11.0.21)", IP2));
    add(record("2023-12-04T12:00:04Z", "e03", "ec2.amazonaws.com", "DescribeVpcs", iam_user("erin", "ASIAERIN1", NULL),
               NULL, UA_CONSOLE, IP2));
    add(record("2023-12-04T12:10:00Z", "e04", "ec2.amazonaws.com", "DescribeSubnets",
               iam_user("erin", "ASIAERIN1", NULL), NULL, UA_CONSOLE, IP2));

    /* frank: GetSigninToken names a key that looks long-term */
    add(record("2023-12-04T14:00:00Z", "g01", "signin.amazonaws.com", "ConsoleLogin", iam_user("frank", NULL, NULL),
               LOGIN_OK, UA_CONSOLE, IP1));
    add(record("2023-12-04T14:00:00Z", "g02", "signin.amazonaws.com", "GetSigninToken", iam_user("frank", NULL, NULL),
               json_pack("{s:s, s:{s:s}}", "GetSigninToken", "Success", "credentials", "accessKeyId",
                         "AKIAREDACTED418LMD4D"),
               "Jersey/${project.version} (HttpUrlConnection 11.0.21)", IP1));
    add(record("2023-12-04T14:00:03Z", "g03", "ec2.amazonaws.com", "DescribeVpcs",
               iam_user("frank", "AKIAREDACTED418LMD4D", NULL), NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T14:00:05Z", "g04", "ec2.amazonaws.com", "DescribeSubnets",
               iam_user("frank", "ASIAFRANK2", "2023-12-04T14:00:01Z"), NULL, UA_CONSOLE, IP1));

    /* henry: a GetSigninToken (no key of its own) joins the key it hands out
     * to the session created nearest to it; a later-created one arriving
     * late takes it over, and the group it leaves is named anew, which
     * renames a ConsoleLogin joined to it by time */
    add(record("2023-12-03T18:00:05Z", "h00", "ec2.amazonaws.com", "DescribeVpcs",
               iam_user("henry", "ASIAHENRYK", "2023-12-03T18:00:00Z"), NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T09:00:05Z", "hA", "ec2.amazonaws.com", "DescribeVpcs",
               iam_user("henry", "ASIAHENRYA", "2023-12-04T09:00:00Z"), NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T09:01:00Z", "hG", "signin.amazonaws.com", "GetSigninToken", iam_user("henry", NULL, NULL),
               json_pack("{s:{s:s}}", "credentials", "accessKeyId", "ASIAHENRYK"), UA_CLI, IP1));
    add(record("2023-12-04T08:56:00Z", "hL", "signin.amazonaws.com", "ConsoleLogin", iam_user("henry", NULL, NULL),
               LOGIN_OK, UA_CONSOLE, IP1));
    add(record("2023-12-04T09:01:55Z", "hB", "ec2.amazonaws.com", "DescribeVpcs",
               iam_user("henry", "ASIAHENRYB", "2023-12-04T09:01:50Z"), NULL, UA_CONSOLE, IP1));

    /* ivan federates like carol, without any loose event: a second console
     * key is tied to the group by its creation date alone */
    add(record("2023-12-04T10:00:00Z", "i00", "signin.amazonaws.com", "GetSigninToken",
               assumed_role("Admin", "ivan", "ASIAIVANCLI", "2023-12-04T09:59:00Z"),
               json_pack("{s:{s:s}}", "credentials", "accessKeyId", "ASIAIVANCONSOLE"), UA_CLI, IP1));
    add(record("2023-12-04T10:00:05Z", "i01", "ec2.amazonaws.com", "DescribeInstances",
               assumed_role("Admin", "ivan", "ASIAIVANCONSOLE", "2023-12-04T10:00:01Z"), NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T10:03:00Z", "i02", "s3.amazonaws.com", "ListBuckets",
               assumed_role("Admin", "ivan", "ASIAIVANCONSOLE2", "2023-12-04T10:00:01Z"), NULL, UA_CONSOLE, IP1));

    /* services, minimized records, a principal with no session, an orphan key */
    add(record("2023-12-04T10:00:07Z", "s01", "kms.amazonaws.com", "GenerateDataKey",
               json_pack("{s:s, s:s}", "type", "AWSService", "invokedBy", "cloudtrail.amazonaws.com"), NULL,
               "cloudtrail.amazonaws.com", NULL));
    add(record("2023-12-04T10:00:09Z", "s03", "sts.amazonaws.com", "AssumeRole", json_pack("{s:s}", "type", "AWSService"),
               NULL, "AWS Internal", NULL));
    add(record("2023-12-04T10:00:10Z", "m01", "ec2.amazonaws.com", "DescribeVpcs", NULL, NULL, NULL, NULL));
    add(record("2023-12-04T12:00:10Z", "m02", "s3.amazonaws.com", "ListBuckets", NULL, NULL, NULL, NULL));
    add(record("2023-12-04T12:00:11Z", NULL, "s3.amazonaws.com", "GetBucketAcl", NULL, NULL, NULL, NULL));
    add(record("2023-12-04T12:00:12Z", NULL, "s3.amazonaws.com", "GetBucketPolicy", NULL, NULL, NULL, NULL));
    add(record("2023-12-04T13:00:00Z", "n01", "health.amazonaws.com", "DescribeEvents", iam_user("dave", NULL, NULL),
               NULL, UA_CONSOLE, IP1));
    add(record("2023-12-04T13:00:00Z", "k01", "ec2.amazonaws.com", "DescribeImages",
               iam_user("alice", "ASIAORPHAN", NULL), NULL, UA_CONSOLE, IP1));

    /* a CheckMfa without an arn joins alice's login by her user name */
    add(record("2023-12-04T10:00:01Z", "a09", "signin.amazonaws.com", "CheckMfa",
               json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "IAMUser", "principalId", "AIDAEXAMPLEALICE", "accountId",
                         ACCT, "accessKeyId", "", "userName", "alice"),
               NULL, UA_CONSOLE, IP1));

    /* Secrets Manager calls KMS for alice with a key and creation of its own */
    json_t *kms = iam_user("alice", "ASIAKMSFORALICE1", "2023-12-04T10:00:29Z");
    json_object_set_new(kms, "invokedBy", json_string("secretsmanager.amazonaws.com"));
    add(record("2023-12-04T10:00:30Z", "s05", "kms.amazonaws.com", "Decrypt", kms, NULL, "secretsmanager.amazonaws.com",
               NULL));

    /* a sanitized export: three people share one placeholder key, which
     * each one's GetSigninToken names too (never one session) */
    static const char *const who[] = {"xena", "yuri", "zoe"};
    for (int k = 0; k < 3; k++) {
        char cdate[32], t1[32], t2[32], id1[8], id2[8];
        snprintf(cdate, sizeof(cdate), "2023-12-05T1%d:00:00Z", k);
        snprintf(t1, sizeof(t1), "2023-12-05T1%d:00:05Z", k);
        snprintf(t2, sizeof(t2), "2023-12-05T1%d:01:00Z", k);
        snprintf(id1, sizeof(id1), "x%d1", k);
        snprintf(id2, sizeof(id2), "x%d2", k);
        add(record(t1, id1, "signin.amazonaws.com", "GetSigninToken",
                   assumed_role("Admin", who[k], "ASIAPLACEHOLDER", cdate),
                   json_pack("{s:{s:s}}", "credentials", "accessKeyId", "ASIAPLACEHOLDER"), UA_CLI, IP1));
        add(record(t2, id2, "iam.amazonaws.com", "ListUsers", assumed_role("Admin", who[k], "ASIAPLACEHOLDER", cdate),
                   NULL, UA_CONSOLE, IP1));
    }
}

static void free_fixtures(void) {
    for (size_t i = 0; i < NF; i++) free(F[i]);
}

static tm_event *ev(const char *text) {
    tm_event *e = NULL;
    tm_error err = {0};
    if (tm_event_from_text(text, strlen(text), &e, &err) != 0) {
        fprintf(stderr, "bad fixture: %s\n", err.msg);
        exit(2);
    }
    return e;
}

/* Adds texts[idx[0..n)] as one batch. */
static int add_texts(tm_store *s, char **texts, const size_t *idx, size_t n, const char *forced, tm_store_result *res) {
    tm_eventvec v = {0};
    for (size_t i = 0; i < n; i++) tm_eventvec_push(&v, ev(texts[idx[i]]));
    tm_error err = {0};
    int rc = tm_store_add(s, &v, forced, res, &err);
    if (rc) fprintf(stderr, "tm_store_add: %s\n", err.msg);
    tm_eventvec_free(&v);
    return rc;
}

static unsigned rnd_state = 2024;
static size_t rnd(size_t n) {
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (size_t)((rnd_state >> 8) % n);
}

static void shuffle(size_t *p, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd(i), t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
}

/* ------------------------------------------------ whole-store snapshots */

typedef struct {
    tm_session_row *rows;
    size_t n;
    char **ids;   /* per session: its events' ids (raw for empty ids), in loaded order, joined by '\n' */
} snapshot;

static char *join_ids(const tm_eventvec *v) {
    size_t len = 1;
    for (size_t i = 0; i < v->n; i++) len += (v->v[i]->id[0] ? strlen(v->v[i]->id) : v->v[i]->raw_len) + 1;
    char *s = malloc(len), *p = s;
    for (size_t i = 0; i < v->n; i++) {
        const char *x = v->v[i]->id[0] ? v->v[i]->id : v->v[i]->raw;
        size_t n = v->v[i]->id[0] ? strlen(x) : v->v[i]->raw_len;
        memcpy(p, x, n);
        p += n;
        *p++ = '\n';
    }
    *p = '\0';
    return s;
}

static void take_snapshot(tm_store *s, snapshot *sn) {
    int more = 0;
    tm_error err = {0};
    memset(sn, 0, sizeof(*sn));
    CHECK_INT(tm_store_list_sessions(s, NULL, 0, 0, 0, 100000, &sn->rows, &sn->n, &more, &err), 0);
    CHECK_INT(more, 0);
    sn->ids = calloc(sn->n + 1, sizeof(char *));
    for (size_t i = 0; i < sn->n; i++) {
        tm_eventvec v = {0};
        uint64_t version = 0;
        CHECK_INT(tm_store_load_events(s, sn->rows[i].key, &v, &version, &err), 0);
        CHECK_INT(version, sn->rows[i].version);
        CHECK_INT(v.n, sn->rows[i].events);
        sn->ids[i] = join_ids(&v);
        tm_eventvec_free(&v);
    }
}

static void free_snapshot(snapshot *sn) {
    for (size_t i = 0; i < sn->n; i++) free(sn->ids[i]);
    free(sn->ids);
    tm_session_rows_free(sn->rows, sn->n);
}

/* Same sessions with the same events and summaries (versions aside). */
static int same_snapshot(const snapshot *a, const snapshot *b) {
    if (a->n != b->n) {
        fprintf(stderr, "  %zu sessions vs %zu\n", a->n, b->n);
        return 0;
    }
    for (size_t i = 0; i < a->n; i++) {
        const tm_session_row *x = &a->rows[i], *y = &b->rows[i];
        int same = strcmp(x->key, y->key) == 0 && strcmp(x->principal_arn, y->principal_arn) == 0 &&
                   strcmp(x->user_name, y->user_name) == 0 && strcmp(x->user_agent, y->user_agent) == 0 &&
                   x->first_ms == y->first_ms && x->last_ms == y->last_ms && x->events == y->events &&
                   x->nsource_ips == y->nsource_ips && strcmp(a->ids[i], b->ids[i]) == 0;
        for (size_t k = 0; same && k < x->nsource_ips; k++)
            same = strcmp(x->source_ips[k], y->source_ips[k]) == 0;
        if (!same) {
            fprintf(stderr, "  session %zu differs: %s (%" PRIu64 " events) vs %s (%" PRIu64 " events)\n", i, x->key,
                    x->events, y->key, y->events);
            return 0;
        }
    }
    return 1;
}

/* The summaries agree with the events, the counts with the sessions, and
 * every event is where tm_session_assign over everything stored puts it. */
static int check_store(tm_store *s, int derived) {
    snapshot sn;
    take_snapshot(s, &sn);
    int bad = 0;
    uint64_t total = 0;
    tm_eventvec all = {0};
    char **want = NULL;
    size_t nwant = 0;
    for (size_t i = 0; i < sn.n; i++) {
        const tm_session_row *r = &sn.rows[i];
        tm_eventvec v = {0};
        uint64_t version;
        tm_error err = {0};
        if (tm_store_load_events(s, r->key, &v, &version, &err) != 0 || v.n == 0) {
            bad++;
            continue;
        }
        total += v.n;
        if (v.v[0]->time_ms != r->first_ms || v.v[v.n - 1]->time_ms != r->last_ms) bad++;
        if (i > 0 && sn.rows[i - 1].last_ms < r->last_ms) bad++; /* newest last event first */
        /* distinct source IPs, sorted */
        size_t nips = 0;
        for (size_t k = 0; k < v.n; k++) {
            json_t *ip = json_object_get(v.v[k]->json, "sourceIPAddress");
            if (!json_is_string(ip)) continue;
            int found = 0;
            for (size_t j = 0; j < r->nsource_ips; j++)
                if (strcmp(r->source_ips[j], json_string_value(ip)) == 0) found = 1;
            if (!found) bad++;
        }
        for (size_t j = 0; j + 1 < r->nsource_ips; j++)
            if (strcmp(r->source_ips[j], r->source_ips[j + 1]) >= 0) bad++;
        for (size_t j = 0; j < r->nsource_ips; j++) {
            int found = 0;
            for (size_t k = 0; k < v.n && !found; k++) {
                json_t *ip = json_object_get(v.v[k]->json, "sourceIPAddress");
                found = json_is_string(ip) && strcmp(json_string_value(ip), r->source_ips[j]) == 0;
            }
            if (found) nips++;
        }
        if (nips != r->nsource_ips) bad++;
        /* the most frequent user agent */
        if (r->user_agent[0]) {
            size_t best = 0;
            for (size_t k = 0; k < v.n; k++) {
                size_t c = 0;
                for (size_t j = 0; j < v.n; j++)
                    if (v.v[k]->ua && v.v[j]->ua && strcmp(v.v[k]->ua, v.v[j]->ua) == 0) c++;
                if (c > best) best = c;
            }
            size_t mine = 0;
            for (size_t j = 0; j < v.n; j++)
                if (v.v[j]->ua && strcmp(v.v[j]->ua, r->user_agent) == 0) mine++;
            if (mine != best) bad++;
        }
        for (size_t k = 0; k < v.n; k++) {
            CHECK_STR(v.v[k]->session, r->key);
            want = realloc(want, (nwant + 1) * sizeof(*want));
            want[nwant++] = strdup(r->key);
            tm_event *copy = ev(v.v[k]->raw);
            tm_eventvec_push(&all, copy);
        }
        tm_eventvec_free(&v);
    }
    uint64_t nsess = 0, nev = 0;
    tm_error err = {0};
    CHECK_INT(tm_store_counts(s, &nsess, &nev, &err), 0);
    if (nsess != sn.n || nev != total) bad++;
    if (derived) {
        CHECK_INT(tm_session_assign(&all, NULL, &err), 0);
        int wrong = 0;
        for (size_t k = 0; k < all.n; k++)
            if (strcmp(all.v[k]->session, want[k]) != 0) {
                if (wrong++ < 5)
                    fprintf(stderr, "  event %s stored in %s, belongs to %s\n", all.v[k]->id, want[k],
                            all.v[k]->session);
            }
        bad += wrong;
    }
    for (size_t k = 0; k < nwant; k++) free(want[k]);
    free(want);
    tm_eventvec_free(&all);
    free_snapshot(&sn);
    return bad;
}

/* ----------------------------------------------------------------- tests */

static void test_add_duplicates_forced(void) {
    char *dir = temp_dir();
    char sub[4096];
    snprintf(sub, sizeof(sub), "%s/data", dir); /* created by the store */
    tm_store *s = open_store(sub);
    struct stat st;
    CHECK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700);
    tm_store_result res;
    tm_error err = {0};

    size_t idx[] = {0, 2, 3, 2}; /* a03 twice in one batch */
    CHECK_INT(add_texts(s, F, idx, 4, "case-42", &res), 0);
    CHECK_INT(res.accepted, 3);
    CHECK_INT(res.duplicates, 1);
    CHECK_INT(res.nsessions, 1);
    if (res.nsessions == 1) CHECK_STR(res.sessions[0], "case-42");
    tm_store_result_free(&res);

    /* again: all duplicates, nothing changes */
    tm_session_row row;
    CHECK_INT(tm_store_get_session(s, "case-42", &row, &err), 0);
    uint64_t v1 = row.version;
    CHECK_INT(row.events, 3);
    CHECK_STR(row.principal_arn, "arn:aws:iam::" ACCT ":user/alice");
    CHECK_STR(row.user_name, "alice");
    CHECK_STR(row.user_agent, UA_CONSOLE);
    CHECK_STR(row.ua_family, "");
    CHECK_INT(row.nsource_ips, 1);
    tm_session_row_clear(&row);
    CHECK_INT(add_texts(s, F, idx, 3, "case-42", &res), 0);
    CHECK_INT(res.accepted, 0);
    CHECK_INT(res.duplicates, 3);
    CHECK_INT(res.nsessions, 0);
    tm_store_result_free(&res);
    /* an event stored already stays where it is, whatever the batch says */
    CHECK_INT(add_texts(s, F, idx, 1, NULL, &res), 0);
    CHECK_INT(res.duplicates, 1);
    tm_store_result_free(&res);
    CHECK_INT(tm_store_get_session(s, "case-42", &row, &err), 0);
    CHECK_INT(row.version, v1);
    CHECK_INT(row.events, 3);
    tm_session_row_clear(&row);

    /* records without eventID: identical text stored once, different texts both */
    size_t noid[] = {47, 48, 47}; /* GetBucketAcl, GetBucketPolicy, GetBucketAcl */
    CHECK(strstr(F[47], "GetBucketAcl") && strstr(F[48], "GetBucketPolicy"));
    CHECK_INT(add_texts(s, F, noid, 3, NULL, &res), 0);
    CHECK_INT(res.accepted, 2);
    CHECK_INT(res.duplicates, 1);
    tm_store_result_free(&res);
    CHECK_INT(add_texts(s, F, noid, 1, NULL, &res), 0);
    CHECK_INT(res.accepted, 0);
    CHECK_INT(res.duplicates, 1);
    tm_store_result_free(&res);
    tm_eventvec v = {0};
    uint64_t version;
    CHECK_INT(tm_store_load_events(s, "default", &v, &version, &err), 0);
    CHECK_INT(v.n, 2);
    if (v.n == 2) CHECK_STR(v.v[0]->id, "");
    tm_eventvec_free(&v);

    /* the caller's events keep their own session field */
    tm_eventvec mine = {0};
    tm_eventvec_push(&mine, ev(F[1]));
    mine.v[0]->session = strdup("preset");
    CHECK_INT(tm_store_add(s, &mine, NULL, &res, &err), 0);
    CHECK_INT(res.accepted, 1);
    CHECK_STR(mine.v[0]->session, "preset");
    tm_store_result_free(&res);
    tm_eventvec_free(&mine);

    /* an empty batch, an empty forced key */
    tm_eventvec none = {0};
    CHECK_INT(tm_store_add(s, &none, NULL, &res, &err), 0);
    CHECK_INT(res.accepted + res.duplicates + res.nsessions, 0);
    tm_eventvec_push(&none, ev(F[4]));
    CHECK_INT(tm_store_add(s, &none, "", &res, &err), TM_EINVAL);
    tm_eventvec_free(&none);

    CHECK_INT(tm_store_get_session(s, "no-such-session", &row, &err), TM_ENOTFOUND);
    CHECK_INT(tm_store_load_events(s, "no-such-session", &v, &version, &err), TM_ENOTFOUND);
    CHECK_INT(v.n, 0);

    /* reopen: everything is still there, byte for byte */
    snapshot before, after;
    take_snapshot(s, &before);
    uint64_t ns1, ne1, ns2, ne2;
    CHECK_INT(tm_store_counts(s, &ns1, &ne1, &err), 0);
    CHECK_INT(ne1, 6);
    tm_store_close(s);
    s = open_store(sub);
    take_snapshot(s, &after);
    CHECK(same_snapshot(&before, &after));
    for (size_t i = 0; i < before.n && i < after.n; i++) CHECK_INT(after.rows[i].version, before.rows[i].version);
    CHECK_INT(tm_store_counts(s, &ns2, &ne2, &err), 0);
    CHECK_INT(ns2, ns1);
    CHECK_INT(ne2, ne1);
    CHECK_INT(tm_store_load_events(s, "case-42", &v, &version, &err), 0);
    CHECK_INT(v.n, 3);
    for (size_t i = 0; i < v.n; i++) {
        int found = 0;
        for (size_t k = 0; k < 4; k++)
            found |= v.v[i]->raw_len == strlen(F[k]) && memcmp(v.v[i]->raw, F[k], v.v[i]->raw_len) == 0;
        CHECK(found);
    }
    tm_eventvec_free(&v);
    free_snapshot(&before);
    free_snapshot(&after);
    CHECK_INT(check_store(s, 0), 0);
    tm_store_close(s);
    remove_dir(dir);
}

/* The fixtures in many batchings and orders give the sessions
 * tm_session_assign gives them all at once, and identical stores. */
static void test_batching_fixtures(void) {
    char *dir = temp_dir();
    tm_store *s = open_store(dir);
    size_t idx[96];
    for (size_t i = 0; i < NF; i++) idx[i] = i;
    tm_store_result res;
    CHECK_INT(add_texts(s, F, idx, NF, NULL, &res), 0);
    CHECK_INT(res.accepted, NF);
    tm_store_result_free(&res);
    CHECK_INT(check_store(s, 1), 0);
    snapshot ref;
    take_snapshot(s, &ref);
    tm_store_close(s);
    remove_dir(dir);

    size_t moved_total = 0;
    for (int round = 0; round < 40; round++) {
        dir = temp_dir();
        s = open_store(dir);
        shuffle(idx, NF);
        size_t maxb = 1 + (size_t)round % 6, done = 0, accepted = 0;
        while (done < NF) {
            size_t n = 1 + rnd(maxb);
            if (n > NF - done) n = NF - done;
            CHECK_INT(add_texts(s, F, idx + done, n, NULL, &res), 0);
            accepted += res.accepted;
            /* sessions other than those of the batch's own events moved */
            moved_total += res.nsessions > n ? res.nsessions - n : 0;
            tm_store_result_free(&res);
            /* sometimes resubmit something old */
            if (done > 0 && rnd(3) == 0) {
                size_t old = idx[rnd(done)];
                CHECK_INT(add_texts(s, F, &old, 1, NULL, &res), 0);
                CHECK_INT(res.duplicates, 1);
                CHECK_INT(res.nsessions, 0);
                tm_store_result_free(&res);
            }
            done += n;
        }
        CHECK_INT(accepted, NF);
        if (round % 8 == 0) CHECK_INT(check_store(s, 1), 0);
        snapshot sn;
        take_snapshot(s, &sn);
        int same = same_snapshot(&ref, &sn);
        if (!same) fprintf(stderr, "  round %d (batches up to %zu) differs\n", round, maxb);
        CHECK(same);
        free_snapshot(&sn);
        tm_store_close(s);
        remove_dir(dir);
    }
    CHECK(moved_total > 0); /* events did move between sessions on the way */
    free_snapshot(&ref);
}

/* The three users' mixed file, split into shuffled batches. */
static void test_batching_three_users(void) {
    const char *src = getenv("TM_SOURCE_DIR");
    char p[4096];
    snprintf(p, sizeof(p), "%s/tests/data/three_users.json.gz", src ? src : "..");
    if (access(p, R_OK) != 0) {
        fprintf(stderr, "  (skipped: %s not found; set TM_SOURCE_DIR)\n", p);
        return;
    }
    tm_eventvec all = {0};
    tm_input_report rep = {0};
    tm_error err = {0};
    CHECK_INT(tm_input_read_file(p, &all, &rep, &err), 0);
    tm_input_report_free(&rep);
    char **texts = calloc(all.n, sizeof(char *));
    size_t *idx = calloc(all.n, sizeof(size_t));
    for (size_t i = 0; i < all.n; i++) {
        texts[i] = strndup(all.v[i]->raw, all.v[i]->raw_len);
        idx[i] = i;
    }
    size_t n = all.n;
    tm_eventvec_free(&all);

    char *dir = temp_dir();
    tm_store *s = open_store(dir);
    tm_store_result res;
    CHECK_INT(add_texts(s, texts, idx, n, NULL, &res), 0);
    CHECK_INT(res.accepted, n);
    CHECK_INT(res.nsessions, 3);
    tm_store_result_free(&res);
    CHECK_INT(check_store(s, 1), 0);
    snapshot ref;
    take_snapshot(s, &ref);
    CHECK_INT(ref.n, 3);
    tm_store_close(s);
    remove_dir(dir);

    for (int round = 0; round < 6; round++) {
        dir = temp_dir();
        s = open_store(dir);
        shuffle(idx, n);
        size_t done = 0, maxb = round == 0 ? 1 : (size_t)round * 12;
        while (done < n) {
            size_t k = 1 + rnd(maxb);
            if (k > n - done) k = n - done;
            CHECK_INT(add_texts(s, texts, idx + done, k, NULL, &res), 0);
            tm_store_result_free(&res);
            done += k;
        }
        snapshot sn;
        take_snapshot(s, &sn);
        CHECK(same_snapshot(&ref, &sn));
        free_snapshot(&sn);
        if (round == 1) CHECK_INT(check_store(s, 1), 0);
        tm_store_close(s);
        remove_dir(dir);
    }
    free_snapshot(&ref);
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(idx);
}

static size_t find_fixture(const char *id) {
    char pat[64];
    snprintf(pat, sizeof(pat), "\"eventID\":\"%s\"", id);
    for (size_t i = 0; i < NF; i++)
        if (strstr(F[i], pat)) return i;
    fprintf(stderr, "no fixture %s\n", id);
    exit(2);
}

static uint64_t version_of(tm_store *s, const char *key) {
    tm_session_row row;
    tm_error err = {0};
    if (tm_store_get_session(s, key, &row, &err) != 0) return 0;
    uint64_t v = row.version;
    tm_session_row_clear(&row);
    return v;
}

/* Versions grow when a session's events change, and only then; a session
 * whose events move away is reported and disappears. */
static void test_versions_and_moves(void) {
    char *dir = temp_dir();
    tm_store *s = open_store(dir);
    tm_store_result res;
    const char *C = "arn:aws:sts::" ACCT ":assumed-role/Admin/carol";
    char c_console[256], c_cli[256];
    snprintf(c_console, sizeof(c_console), "%s#2023-12-04T11:00:01Z", C);
    snprintf(c_cli, sizeof(c_cli), "%s#2023-12-04T10:59:00Z", C);

    size_t f03 = find_fixture("f03"), f04 = find_fixture("f04"), f01 = find_fixture("f01");
    size_t b1[] = {f03, f04};
    CHECK_INT(add_texts(s, F, b1, 2, NULL, &res), 0);
    CHECK_INT(res.nsessions, 1);
    if (res.nsessions == 1) CHECK_STR(res.sessions[0], c_console);
    tm_store_result_free(&res);
    uint64_t v1 = version_of(s, c_console);
    CHECK(v1 > 0);

    /* an unrelated batch leaves it alone */
    size_t other = find_fixture("m01");
    CHECK_INT(add_texts(s, F, &other, 1, NULL, &res), 0);
    tm_store_result_free(&res);
    CHECK_INT(version_of(s, c_console), v1);

    /* the GetSigninToken of the CLI session arrives: the console session
     * takes the name of the earlier-created one */
    CHECK_INT(add_texts(s, F, &f01, 1, NULL, &res), 0);
    CHECK_INT(res.accepted, 1);
    CHECK_INT(res.nsessions, 2);
    if (res.nsessions == 2) {
        CHECK_STR(res.sessions[0], c_cli);
        CHECK_STR(res.sessions[1], c_console);
    }
    tm_store_result_free(&res);
    tm_session_row row;
    tm_error err = {0};
    CHECK_INT(tm_store_get_session(s, c_console, &row, &err), TM_ENOTFOUND);
    CHECK_INT(tm_store_get_session(s, c_cli, &row, &err), 0);
    CHECK_INT(row.events, 3);
    CHECK(row.version > v1);
    uint64_t v2 = row.version;
    tm_session_row_clear(&row);

    /* more events of it: a new version */
    size_t f05 = find_fixture("f05");
    CHECK_INT(add_texts(s, F, &f05, 1, NULL, &res), 0);
    tm_store_result_free(&res);
    CHECK(version_of(s, c_cli) > v2);

    /* a late-arriving ConsoleLogin moves into its session */
    size_t f02 = find_fixture("f02");
    uint64_t v3 = version_of(s, c_cli);
    CHECK_INT(add_texts(s, F, &f02, 1, NULL, &res), 0);
    CHECK_INT(res.nsessions, 1);
    tm_store_result_free(&res);
    CHECK(version_of(s, c_cli) > v3);
    CHECK_INT(check_store(s, 1), 0);

    /* alice's event in progress follows the latest session created before it */
    const char *A = "arn:aws:iam::" ACCT ":user/alice";
    char a1[256], a2[256];
    snprintf(a1, sizeof(a1), "%s#2023-12-04T10:00:01Z", A);
    snprintf(a2, sizeof(a2), "%s#2023-12-04T15:00:00Z", A);
    size_t a03 = find_fixture("a03"), a14 = find_fixture("a14"), a12 = find_fixture("a12");
    size_t b2[] = {a03, a14};
    CHECK_INT(add_texts(s, F, b2, 2, NULL, &res), 0);
    tm_store_result_free(&res);
    CHECK_INT(tm_store_get_session(s, a1, &row, &err), 0);
    CHECK_INT(row.events, 2);
    tm_session_row_clear(&row);
    CHECK_INT(add_texts(s, F, &a12, 1, NULL, &res), 0);
    CHECK_INT(res.nsessions, 2); /* a14 moved from the first session to the second */
    tm_store_result_free(&res);
    CHECK_INT(tm_store_get_session(s, a1, &row, &err), 0);
    CHECK_INT(row.events, 1);
    tm_session_row_clear(&row);
    CHECK_INT(tm_store_get_session(s, a2, &row, &err), 0);
    CHECK_INT(row.events, 2);
    CHECK_INT(row.nsource_ips, 1);
    if (row.nsource_ips == 1) CHECK_STR(row.source_ips[0], IP2);
    tm_session_row_clear(&row);
    CHECK_INT(check_store(s, 1), 0);

    /* ivan's second console key joins the group through the creation date */
    const char *I = "arn:aws:sts::" ACCT ":assumed-role/Admin/ivan";
    char i0[256], i1[256];
    snprintf(i0, sizeof(i0), "%s#2023-12-04T09:59:00Z", I);
    snprintf(i1, sizeof(i1), "%s#2023-12-04T10:00:01Z", I);
    size_t ib1[] = {find_fixture("i00"), find_fixture("i01")}, i02 = find_fixture("i02");
    CHECK_INT(add_texts(s, F, ib1, 2, NULL, &res), 0);
    tm_store_result_free(&res);
    CHECK_INT(add_texts(s, F, &i02, 1, NULL, &res), 0);
    CHECK_INT(res.nsessions, 1);
    if (res.nsessions == 1) CHECK_STR(res.sessions[0], i0);
    tm_store_result_free(&res);
    CHECK_INT(tm_store_get_session(s, i1, &row, &err), TM_ENOTFOUND);

    /* henry's ConsoleLogin is renamed when the group it joined loses a key */
    const char *H = "arn:aws:iam::" ACCT ":user/henry";
    char h0[256], hA[256];
    snprintf(h0, sizeof(h0), "%s#2023-12-03T18:00:00Z", H);
    snprintf(hA, sizeof(hA), "%s#2023-12-04T09:00:00Z", H);
    size_t hb1[] = {find_fixture("h00"), find_fixture("hA"), find_fixture("hG"), find_fixture("hL")};
    CHECK_INT(add_texts(s, F, hb1, 4, NULL, &res), 0);
    CHECK_INT(res.nsessions, 1);
    if (res.nsessions == 1) CHECK_STR(res.sessions[0], h0);
    tm_store_result_free(&res);
    size_t hB = find_fixture("hB");
    CHECK_INT(add_texts(s, F, &hB, 1, NULL, &res), 0);
    CHECK_INT(res.nsessions, 2);
    tm_store_result_free(&res);
    CHECK_INT(tm_store_get_session(s, hA, &row, &err), 0);
    CHECK_INT(row.events, 2); /* hA and hL */
    tm_session_row_clear(&row);
    CHECK_INT(tm_store_get_session(s, h0, &row, &err), 0);
    CHECK_INT(row.events, 3); /* h00, hG, hB */
    tm_session_row_clear(&row);
    CHECK_INT(check_store(s, 1), 0);

    tm_store_close(s);
    remove_dir(dir);
}

/* Listing: principal filter, time range (events inside it), order, paging. */
static void test_list(void) {
    char *dir = temp_dir();
    tm_store *s = open_store(dir);
    tm_store_result res;
    size_t idx[96];
    for (size_t i = 0; i < NF; i++) idx[i] = i;
    CHECK_INT(add_texts(s, F, idx, NF, NULL, &res), 0);
    tm_store_result_free(&res);

    tm_session_row *rows;
    size_t n;
    int more;
    tm_error err = {0};
    /* all of them, newest last event first */
    CHECK_INT(tm_store_list_sessions(s, NULL, 0, 0, 0, 1000, &rows, &n, &more, &err), 0);
    size_t total = n;
    CHECK(total >= 12);
    CHECK_INT(more, 0);
    for (size_t i = 1; i < n; i++) CHECK(rows[i - 1].last_ms >= rows[i].last_ms);
    tm_session_rows_free(rows, n);

    /* pages of 3 cover the same list */
    size_t seen = 0, pages = 0;
    for (size_t off = 0;; off += 3) {
        CHECK_INT(tm_store_list_sessions(s, NULL, 0, 0, off, 3, &rows, &n, &more, &err), 0);
        seen += n;
        pages++;
        tm_session_rows_free(rows, n);
        CHECK_INT(more, off + n < total);
        if (!more) break;
    }
    CHECK_INT(seen, total);
    CHECK_INT(pages, (total + 2) / 3);
    CHECK_INT(tm_store_list_sessions(s, NULL, 0, 0, total, 3, &rows, &n, &more, &err), 0);
    CHECK_INT(n, 0);
    CHECK_INT(more, 0);
    tm_session_rows_free(rows, n);
    CHECK_INT(tm_store_list_sessions(s, NULL, 0, 0, 0, 0, &rows, &n, &more, &err), 0);
    CHECK_INT(n, 0);
    CHECK_INT(more, 1);
    tm_session_rows_free(rows, n);

    /* principal: a substring of the arn or of the user name */
    CHECK_INT(tm_store_list_sessions(s, "user/alice", 0, 0, 0, 100, &rows, &n, &more, &err), 0);
    int alice_ok = n >= 3;
    for (size_t i = 0; i < n; i++) alice_ok &= strstr(rows[i].principal_arn, "user/alice") != NULL;
    CHECK(alice_ok);
    tm_session_rows_free(rows, n);
    CHECK_INT(tm_store_list_sessions(s, "bob@exa", 0, 0, 0, 100, &rows, &n, &more, &err), 0);
    CHECK_INT(n, 1);
    if (n == 1) CHECK_STR(rows[0].user_name, "bob@example.com");
    tm_session_rows_free(rows, n);
    CHECK_INT(tm_store_list_sessions(s, "nobody-at-all", 0, 0, 0, 100, &rows, &n, &more, &err), 0);
    CHECK_INT(n, 0);
    tm_session_rows_free(rows, n);

    /* time: sessions with an event in [from, to]; alice's first session
     * runs 09:59:58 to 11:00:10 with a gap between 10:30 and 11:00 */
    int64_t t1030, t1045, t1100, t1200;
    tm_time_parse("2023-12-04T10:30:00Z", &t1030);
    tm_time_parse("2023-12-04T10:45:00Z", &t1045);
    tm_time_parse("2023-12-04T11:00:00Z", &t1100);
    tm_time_parse("2023-12-04T12:00:00Z", &t1200);
    const char *A1 = "arn:aws:iam::" ACCT ":user/alice#2023-12-04T10:00:01Z";
    int has = 0;
    CHECK_INT(tm_store_list_sessions(s, "alice", t1030 + 1, t1045, 0, 100, &rows, &n, &more, &err), 0);
    for (size_t i = 0; i < n; i++) has |= strcmp(rows[i].key, A1) == 0;
    CHECK(!has);
    tm_session_rows_free(rows, n);
    CHECK_INT(tm_store_list_sessions(s, "alice", t1030, t1045, 0, 100, &rows, &n, &more, &err), 0);
    has = 0;
    for (size_t i = 0; i < n; i++) has |= strcmp(rows[i].key, A1) == 0;
    CHECK(has);
    tm_session_rows_free(rows, n);
    /* one bound only */
    CHECK_INT(tm_store_list_sessions(s, NULL, t1200, 0, 0, 100, &rows, &n, &more, &err), 0);
    int late_ok = n > 0;
    for (size_t i = 0; i < n; i++) late_ok &= rows[i].last_ms >= t1200;
    CHECK(late_ok);
    tm_session_rows_free(rows, n);
    CHECK_INT(tm_store_list_sessions(s, NULL, 0, t1100, 0, 100, &rows, &n, &more, &err), 0);
    int early_ok = n > 0;
    for (size_t i = 0; i < n; i++) early_ok &= rows[i].first_ms <= t1100;
    CHECK(early_ok);
    tm_session_rows_free(rows, n);

    tm_store_close(s);
    remove_dir(dir);
}

/* Loaded events are sorted by (time, eventID); set_mapped only for the current version. */
static void test_load_and_mapped(void) {
    char *dir = temp_dir();
    tm_store *s = open_store(dir);
    const char *texts[] = {
        "{\"eventTime\":\"2023-12-04T10:00:02Z\",\"eventID\":\"b\",\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"X\"}",
        "{\"eventTime\":\"2023-12-04T10:00:02Z\",\"eventID\":\"a\",\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"Y\"}",
        "{\"eventTime\":\"2023-12-04T10:00:01.500Z\",\"eventID\":\"z\",\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"Z\"}",
        "{\"eventTime\":\"2023-12-04T09:00:00Z\", \"eventID\":\"q\", \"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"W\"}",
    };
    size_t idx[] = {0, 1, 2, 3};
    tm_store_result res;
    CHECK_INT(add_texts(s, (char **)texts, idx, 2, "case-7", &res), 0);
    tm_store_result_free(&res);
    CHECK_INT(add_texts(s, (char **)texts, idx + 2, 2, "case-7", &res), 0);
    tm_store_result_free(&res);
    tm_eventvec v = {0};
    uint64_t version = 0;
    tm_error err = {0};
    CHECK_INT(tm_store_load_events(s, "case-7", &v, &version, &err), 0);
    CHECK_INT(v.n, 4);
    if (v.n == 4) {
        CHECK_STR(v.v[0]->id, "q");
        CHECK_STR(v.v[1]->id, "z");
        CHECK_STR(v.v[2]->id, "a");
        CHECK_STR(v.v[3]->id, "b");
        CHECK(v.v[0]->raw_len == strlen(texts[3]) && memcmp(v.v[0]->raw, texts[3], v.v[0]->raw_len) == 0);
        CHECK_STR(v.v[0]->session, "case-7");
    }
    tm_eventvec_free(&v);
    CHECK_INT(version, version_of(s, "case-7"));

    CHECK_INT(tm_store_set_mapped(s, "case-7", version, 3, 0.75, &err), 0);
    tm_session_row row;
    CHECK_INT(tm_store_get_session(s, "case-7", &row, &err), 0);
    CHECK_INT(row.signals, 3);
    CHECK(row.mapped_share == 0.75);
    CHECK_INT(row.mapped_version, version);
    tm_session_row_clear(&row);
    /* stale: a mapping of an older version is ignored */
    CHECK_INT(tm_store_set_mapped(s, "case-7", version - 1, 9, 0.1, &err), 0);
    CHECK_INT(tm_store_set_mapped(s, "no-such", 1, 9, 0.1, &err), 0);
    CHECK_INT(tm_store_get_session(s, "case-7", &row, &err), 0);
    CHECK_INT(row.signals, 3);
    CHECK_INT(row.mapped_version, version);
    tm_session_row_clear(&row);
    /* new events: the figures stay, tagged with the older version */
    const char *more = "{\"eventTime\":\"2023-12-04T11:00:00Z\",\"eventID\":\"m\",\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"M\"}";
    size_t zero = 0;
    CHECK_INT(add_texts(s, (char **)&more, &zero, 1, "case-7", &res), 0);
    tm_store_result_free(&res);
    CHECK_INT(tm_store_get_session(s, "case-7", &row, &err), 0);
    CHECK(row.version > version);
    CHECK_INT(row.mapped_version, version);
    CHECK_INT(row.events, 5);
    tm_session_row_clear(&row);
    tm_store_close(s);
    remove_dir(dir);
}

/* Opening: a file from a newer trailmapd, a file that is not ours, a bad directory. */
static void test_open_errors(void) {
    char *dir = temp_dir();
    tm_store *s = open_store(dir);
    tm_store_close(s);
    char path[4096];
    snprintf(path, sizeof(path), "%s/trailmap.db", dir);
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_close(db), SQLITE_OK);
    tm_error err = {0};
    s = NULL;
    CHECK(tm_store_open(dir, &s, &err) != 0);
    CHECK(s == NULL);
    CHECK(strstr(err.msg, "newer") != NULL && strstr(err.msg, path) != NULL);
    remove_dir(dir);

    dir = temp_dir();
    snprintf(path, sizeof(path), "%s/trailmap.db", dir);
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_close(db), SQLITE_OK);
    CHECK(tm_store_open(dir, &s, &err) != 0);
    CHECK(strstr(err.msg, "not a trailmap store") != NULL);
    remove_dir(dir);

    dir = temp_dir();
    snprintf(path, sizeof(path), "%s/trailmap.db", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("this is not a database, but it is long enough to have a header of sorts......", f);
        fclose(f);
    }
    CHECK(tm_store_open(dir, &s, &err) != 0);
    CHECK(strstr(err.msg, "store: cannot open ") != NULL && strstr(err.msg, path) != NULL);
    char notdir[4096];
    snprintf(notdir, sizeof(notdir), "%s/trailmap.db/x", dir);
    CHECK(tm_store_open(notdir, &s, &err) != 0);
    CHECK(strstr(err.msg, "store: cannot create") != NULL);
    remove_dir(dir);
}

/* ------------------------------------------------------------ concurrency */

typedef struct {
    tm_store *s;
    const char *session;
    int batches, per_batch, base;
    int failures;
} writer_arg;

static void *writer(void *p) {
    writer_arg *w = p;
    for (int b = 0; b < w->batches; b++) {
        tm_eventvec v = {0};
        for (int i = 0; i < w->per_batch; i++) {
            char text[256];
            int k = w->base + b * w->per_batch + i;
            snprintf(text, sizeof(text),
                     "{\"eventTime\":\"2023-12-04T10:%02d:%02dZ\",\"eventID\":\"w-%d\",\"eventSource\":\"ec2."
                     "amazonaws.com\",\"eventName\":\"DescribeVpcs\",\"sourceIPAddress\":\"10.0.0.%d\"}",
                     (k / 60) % 60, k % 60, k, k % 7);
            tm_eventvec_push(&v, ev(text));
        }
        tm_store_result res;
        tm_error err = {0};
        if (tm_store_add(w->s, &v, w->session, &res, &err) != 0 || res.accepted != (size_t)w->per_batch) {
            fprintf(stderr, "writer: %s\n", err.msg);
            w->failures++;
        }
        tm_store_result_free(&res);
        tm_eventvec_free(&v);
    }
    return NULL;
}

typedef struct {
    tm_store *s;
    volatile int *stop;
    int per_batch;
    int failures, reads;
} reader_arg;

static void *reader(void *p) {
    reader_arg *r = p;
    uint64_t last_version = 0, last_n = 0;
    while (!*r->stop || r->reads < 20) {
        tm_eventvec v = {0};
        uint64_t version = 0;
        tm_error err = {0};
        int rc = tm_store_load_events(r->s, "conc", &v, &version, &err);
        if (rc == 0) {
            /* whole batches only, never going back */
            if (v.n % (size_t)r->per_batch != 0 || v.n < last_n || version < last_version) r->failures++;
            for (size_t i = 1; i < v.n; i++)
                if (v.v[i - 1]->time_ms > v.v[i]->time_ms) r->failures++;
            last_n = v.n;
            last_version = version;
        } else if (rc != TM_ENOTFOUND) {
            fprintf(stderr, "reader: %s\n", err.msg);
            r->failures++;
        }
        tm_eventvec_free(&v);
        tm_session_row *rows;
        size_t n;
        int more;
        if (tm_store_list_sessions(r->s, NULL, 0, 0, 0, 10, &rows, &n, &more, &err) != 0) r->failures++;
        else tm_session_rows_free(rows, n);
        tm_session_row row;
        rc = tm_store_get_session(r->s, "conc", &row, &err);
        if (rc == 0) {
            if (row.events % (uint64_t)r->per_batch != 0) r->failures++;
            tm_session_row_clear(&row);
        } else if (rc != TM_ENOTFOUND) {
            r->failures++;
        }
        uint64_t ns, ne;
        if (tm_store_counts(r->s, &ns, &ne, &err) != 0) r->failures++;
        r->reads++;
    }
    return NULL;
}

static void test_concurrency(void) {
    char *dir = temp_dir();
    tm_store *s = open_store(dir);
    volatile int stop = 0;
    writer_arg w1 = {s, "conc", 40, 10, 0, 0}, w2 = {s, "conc2", 40, 10, 100000, 0};
    reader_arg r[4];
    pthread_t tw1, tw2, tr[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (reader_arg){s, &stop, 10, 0, 0};
        CHECK_INT(pthread_create(&tr[i], NULL, reader, &r[i]), 0);
    }
    CHECK_INT(pthread_create(&tw1, NULL, writer, &w1), 0);
    CHECK_INT(pthread_create(&tw2, NULL, writer, &w2), 0);
    pthread_join(tw1, NULL);
    pthread_join(tw2, NULL);
    stop = 1;
    int reads = 0, failures = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(tr[i], NULL);
        reads += r[i].reads;
        failures += r[i].failures;
    }
    CHECK_INT(w1.failures + w2.failures, 0);
    CHECK_INT(failures, 0);
    CHECK(reads >= 80);
    uint64_t ns, ne;
    tm_error err = {0};
    CHECK_INT(tm_store_counts(s, &ns, &ne, &err), 0);
    CHECK_INT(ns, 2);
    CHECK_INT(ne, 800);
    CHECK_INT(check_store(s, 0), 0);
    fprintf(stderr, "  concurrency: %d reads beside 80 batches\n", reads);
    tm_store_close(s);
    remove_dir(dir);
}

int main(void) {
    build_fixtures();
    test_add_duplicates_forced();
    test_batching_fixtures();
    test_batching_three_users();
    test_versions_and_moves();
    test_list();
    test_load_and_mapped();
    test_open_errors();
    test_concurrency();
    free_fixtures();
    return tm_test_done();
}
