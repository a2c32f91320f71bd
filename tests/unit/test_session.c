/* test_session.c: session keys from realistic CloudTrail records, in any order. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "input.h"
#include "session.h"
#include "test.h"

#define ACCT "111122223333"
#define UA_CONSOLE "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
#define UA_CLI "aws-cli/2.15.0 Python/3.11.6 Linux/6.2.0 exe/x86_64.ubuntu.22 prompt/off command/iam.list-users"

static json_t *session_context(const char *cdate, json_t *issuer) {
    if (!cdate) return NULL;
    return json_pack("{s:o, s:{}, s:{s:s, s:s}}", "sessionIssuer", issuer ? issuer : json_object(),
                     "webIdFederationData", "attributes", "creationDate", cdate, "mfaAuthenticated",
                     "true");
}

/* userIdentity of an IAM user; akid may be NULL (ConsoleLogin) */
static json_t *iam_user(const char *user, const char *akid, const char *cdate) {
    char arn[256];
    snprintf(arn, sizeof(arn), "arn:aws:iam::" ACCT ":user/%s", user);
    json_t *ui = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "IAMUser", "principalId",
                           "AIDAJ45Q7YFFAREXAMPLE", "arn", arn, "accountId", ACCT, "accessKeyId",
                           akid ? akid : "", "userName", user);
    json_t *sc = session_context(cdate, NULL);
    if (sc) json_object_set_new(ui, "sessionContext", sc);
    return ui;
}

/* userIdentity of an assumed role (SSO when role starts AWSReservedSSO_) */
static json_t *assumed_role(const char *role, const char *who, const char *akid, const char *cdate) {
    char arn[256], pid[128], rarn[256];
    snprintf(arn, sizeof(arn), "arn:aws:sts::" ACCT ":assumed-role/%s/%s", role, who);
    snprintf(pid, sizeof(pid), "AROAEXAMPLEROLEID1234:%s", who);
    snprintf(rarn, sizeof(rarn), "arn:aws:iam::" ACCT ":role/aws-reserved/sso.amazonaws.com/%s", role);
    json_t *ui = json_pack("{s:s, s:s, s:s, s:s}", "type", "AssumedRole", "principalId", pid, "arn",
                           arn, "accountId", ACCT);
    if (akid) json_object_set_new(ui, "accessKeyId", json_string(akid));
    json_t *issuer = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "Role", "principalId",
                               "AROAEXAMPLEROLEID1234", "arn", rarn, "accountId", ACCT, "userName", role);
    json_t *sc = session_context(cdate, issuer);
    if (sc) json_object_set_new(ui, "sessionContext", sc);
    else json_decref(issuer);
    return ui;
}

static json_t *root_user(const char *akid, const char *cdate) {
    json_t *ui = json_pack("{s:s, s:s, s:s, s:s}", "type", "Root", "principalId", ACCT, "arn",
                           "arn:aws:iam::" ACCT ":root", "accountId", ACCT);
    if (akid) json_object_set_new(ui, "accessKeyId", json_string(akid));
    json_t *sc = session_context(cdate, NULL);
    if (sc) json_object_set_new(ui, "sessionContext", sc);
    return ui;
}

static json_t *aws_service(const char *invoked_by) {
    json_t *ui = json_pack("{s:s}", "type", "AWSService");
    if (invoked_by) json_object_set_new(ui, "invokedBy", json_string(invoked_by));
    return ui;
}

/* A full record; ui and resp are stolen (either may be NULL). */
static char *record(const char *time, const char *id, const char *src, const char *name, json_t *ui,
                    json_t *resp, const char *ua) {
    json_t *r = json_object();
    json_object_set_new(r, "eventVersion", json_string("1.08"));
    if (ui) json_object_set_new(r, "userIdentity", ui);
    json_object_set_new(r, "eventTime", json_string(time));
    json_object_set_new(r, "eventSource", json_string(src));
    json_object_set_new(r, "eventName", json_string(name));
    json_object_set_new(r, "awsRegion", json_string(strcmp(id, "b03") == 0 ? "eu-west-1" : "us-east-1"));
    json_object_set_new(r, "sourceIPAddress", json_string("198.51.100.7"));
    json_object_set_new(r, "userAgent", json_string(ua ? ua : UA_CONSOLE));
    json_object_set_new(r, "requestParameters", json_null());
    json_object_set_new(r, "responseElements", resp ? resp : json_null());
    json_object_set_new(r, "eventID", json_string(id));
    json_object_set_new(r, "readOnly", json_true());
    json_object_set_new(r, "eventType", json_string("AwsApiCall"));
    json_object_set_new(r, "recipientAccountId", json_string(ACCT));
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return s;
}

typedef struct {
    char *text;
    const char *id;
    const char *want;
} fixture;

#define ALICE "arn:aws:iam::" ACCT ":user/alice"
#define BOB "arn:aws:sts::" ACCT ":assumed-role/AWSReservedSSO_AdministratorAccess_0a1b2c3d4e5f6789/bob@example.com"
#define CAROL "arn:aws:sts::" ACCT ":assumed-role/Admin/carol"
#define ROOT "arn:aws:iam::" ACCT ":root"

static fixture F[64];
static size_t NF;

static void add(const char *id, const char *want, char *text) {
    if (NF == sizeof(F) / sizeof(F[0]) || !text) {
        fprintf(stderr, "fixture table full or record not built\n");
        exit(2);
    }
    F[NF].text = text;
    F[NF].id = id;
    F[NF].want = want;
    NF++;
}

static void build_fixtures(void) {
    const char *sso = "AWSReservedSSO_AdministratorAccess_0a1b2c3d4e5f6789";
    const char *A1 = ALICE "#2023-12-04T10:00:01Z";
    /* alice, IAM user, console session 1: ConsoleLogin carries no key */
    add("a01", A1, record("2023-12-04T10:00:00Z", "a01", "signin.amazonaws.com", "ConsoleLogin",
                          iam_user("alice", NULL, NULL),
                          json_pack("{s:s}", "ConsoleLogin", "Success"), UA_CONSOLE));
    add("a02", A1, record("2023-12-04T09:59:58Z", "a02", "signin.amazonaws.com", "CheckMfa",
                          iam_user("alice", NULL, NULL), json_pack("{s:s}", "CheckMfa", "Success"), NULL));
    add("a03", A1, record("2023-12-04T10:00:05Z", "a03", "ec2.amazonaws.com", "DescribeRegions",
                          iam_user("alice", "ASIAALICE1EXAMPLE", "2023-12-04T10:00:01Z"), NULL, NULL));
    /* the console uses several keys in one session: the creationDate unites them */
    add("a04", A1, record("2023-12-04T10:01:00Z", "a04", "s3.amazonaws.com", "ListBuckets",
                          iam_user("alice", "ASIAALICE2EXAMPLE", "2023-12-04T10:00:01Z"), NULL, NULL));
    /* a key seen with a creationDate elsewhere names that session */
    add("a05", A1, record("2023-12-04T10:02:00Z", "a05", "sts.amazonaws.com", "GetCallerIdentity",
                          iam_user("alice", "ASIAALICE1EXAMPLE", NULL), NULL, NULL));
    /* no key, no creationDate, not signin: the session in progress */
    add("a06", A1, record("2023-12-04T10:30:00Z", "a06", "health.amazonaws.com", "DescribeEventAggregates",
                          iam_user("alice", NULL, NULL), NULL, NULL));
    /* alice, console session 2, later the same day */
    const char *A2 = ALICE "#2023-12-04T15:00:00Z";
    add("a11", A2, record("2023-12-04T15:00:00Z", "a11", "signin.amazonaws.com", "ConsoleLogin",
                          iam_user("alice", NULL, NULL), json_pack("{s:s}", "ConsoleLogin", "Success"), NULL));
    add("a12", A2, record("2023-12-04T15:00:03Z", "a12", "ec2.amazonaws.com", "DescribeInstances",
                          iam_user("alice", "ASIAALICE3EXAMPLE", "2023-12-04T15:00:00Z"), NULL, NULL));
    add("a13", A2, record("2023-12-04T16:00:00.250Z", "a13", "ec2.amazonaws.com", "DescribeVpcs",
                          iam_user("alice", "ASIAALICE3EXAMPLE", "2023-12-04T15:00:00.000Z"), NULL, NULL));
    /* alice's long-term CLI key, used during both console sessions */
    const char *AK = ALICE "#AKIAALICECLIEXAMPLE";
    add("a21", AK, record("2023-12-04T10:00:30Z", "a21", "iam.amazonaws.com", "ListUsers",
                          iam_user("alice", "AKIAALICECLIEXAMPLE", NULL), NULL, UA_CLI));
    add("a22", AK, record("2023-12-04T15:00:01Z", "a22", "iam.amazonaws.com", "ListRoles",
                          iam_user("alice", "AKIAALICECLIEXAMPLE", NULL), NULL, UA_CLI));

    /* bob, SSO: ConsoleLogin of an assumed role carries the creationDate */
    const char *B = BOB "#2023-12-04T10:00:09Z";
    add("b01", B, record("2023-12-04T10:00:10Z", "b01", "signin.amazonaws.com", "ConsoleLogin",
                         assumed_role(sso, "bob@example.com", NULL, "2023-12-04T10:00:09Z"),
                         json_pack("{s:s}", "ConsoleLogin", "Success"), NULL));
    add("b02", B, record("2023-12-04T10:00:20Z", "b02", "lambda.amazonaws.com", "ListFunctions20150331",
                         assumed_role(sso, "bob@example.com", "ASIABOB1EXAMPLE", "2023-12-04T10:00:09Z"), NULL, NULL));
    /* another region: same session */
    add("b03", B, record("2023-12-04T10:05:00Z", "b03", "ec2.amazonaws.com", "DescribeInstances",
                         assumed_role(sso, "bob@example.com", "ASIABOB1EXAMPLE", "2023-12-04T10:00:09Z"), NULL, NULL));

    /* root: ConsoleLogin without key or creationDate joins the session created at its time */
    const char *R = ROOT "#2023-12-04T10:00:03Z";
    add("r01", R, record("2023-12-04T10:00:02Z", "r01", "signin.amazonaws.com", "ConsoleLogin",
                         root_user(NULL, NULL), json_pack("{s:s}", "ConsoleLogin", "Success"), NULL));
    add("r02", R, record("2023-12-04T10:00:06Z", "r02", "iam.amazonaws.com", "GetAccountSummary",
                         root_user("ASIAROOT1EXAMPLE", "2023-12-04T10:00:03Z"), NULL, NULL));
    add("r03", R, record("2023-12-04T10:03:00Z", "r03", "billing.amazonaws.com", "GetBillingData",
                         root_user("ASIAROOT1EXAMPLE", "2023-12-04T10:00:03Z"), NULL, NULL));

    /* carol federates: GetSigninToken names the key of the console session it opens */
    const char *C = CAROL "#2023-12-04T10:59:00Z";
    add("f01", C, record("2023-12-04T11:00:00Z", "f01", "signin.amazonaws.com", "GetSigninToken",
                         assumed_role("Admin", "carol", "ASIACAROLCLIEXAMPLE", "2023-12-04T10:59:00Z"),
                         json_pack("{s:{s:s}}", "credentials", "accessKeyId", "ASIACAROLCONSOLEEX"), UA_CLI));
    add("f02", C, record("2023-12-04T11:00:02Z", "f02", "signin.amazonaws.com", "ConsoleLogin",
                         assumed_role("Admin", "carol", NULL, NULL),
                         json_pack("{s:s}", "ConsoleLogin", "Success"), NULL));
    add("f03", C, record("2023-12-04T11:00:05Z", "f03", "ec2.amazonaws.com", "DescribeInstances",
                         assumed_role("Admin", "carol", "ASIACAROLCONSOLEEX", "2023-12-04T11:00:01Z"), NULL, NULL));
    add("f04", C, record("2023-12-04T11:00:09Z", "f04", "ec2.amazonaws.com", "DescribeVolumes",
                         assumed_role("Admin", "carol", "ASIACAROLCONSOLEEX", NULL), NULL, NULL));

    /* AWS services */
    add("s01", "service:cloudtrail.amazonaws.com",
        record("2023-12-04T10:00:07Z", "s01", "kms.amazonaws.com", "GenerateDataKey",
               aws_service("cloudtrail.amazonaws.com"), NULL, "cloudtrail.amazonaws.com"));
    /* the console's back end calling inside alice's session: it stays there */
    add("s02", A1,
        record("2023-12-04T10:00:08Z", "s02", "kms.amazonaws.com", "Decrypt",
               json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "IAMUser", "arn", ALICE, "accountId", ACCT,
                         "accessKeyId", "ASIAALICE1EXAMPLE", "invokedBy", "AWS Internal"),
               NULL, "AWS Internal"));
    /* a CheckMfa without an arn (as the sign-in service writes them) joins
     * alice's login by her user name */
    add("a09", A1,
        record("2023-12-04T10:00:01Z", "a09", "signin.amazonaws.com", "CheckMfa",
               json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "IAMUser", "principalId", "AIDAJ45Q7YFFAREXAMPLE",
                         "accountId", ACCT, "accessKeyId", "", "userName", "alice"),
               json_pack("{s:s}", "CheckMfa", "Success"), NULL));
    /* Secrets Manager calling KMS for alice with a key and creation of its
     * own: part of alice's session at the time, not a session of that key */
    json_t *kms = iam_user("alice", "ASIAKMSFORALICE1", "2023-12-04T10:00:29Z");
    json_object_set_new(kms, "invokedBy", json_string("secretsmanager.amazonaws.com"));
    add("s05", A1,
        record("2023-12-04T10:00:30Z", "s05", "kms.amazonaws.com", "Decrypt", kms, NULL,
               "secretsmanager.amazonaws.com"));
    /* a service acting for alice without any of her credentials */
    add("s04", "service:s3.amazonaws.com",
        record("2023-12-04T10:00:08Z", "s04", "kms.amazonaws.com", "Decrypt",
               json_pack("{s:s, s:s, s:s, s:s}", "type", "IAMUser", "arn", ALICE, "accountId", ACCT,
                         "invokedBy", "s3.amazonaws.com"),
               NULL, "s3.amazonaws.com"));
    add("s03", "service:sts.amazonaws.com",
        record("2023-12-04T10:00:09Z", "s03", "sts.amazonaws.com", "AssumeRole", aws_service(NULL), NULL,
               "AWS Internal"));

    /* a sanitized export: three people federate with one placeholder key,
     * which every GetSigninToken names too; each keeps a session of their own */
    static const char *const who[] = {"xena", "yuri", "zoe"};
    static const char *const ids[][2] = {{"x1", "x2"}, {"y1", "y2"}, {"z1", "z2"}};
    static const char *const want[] = {"arn:aws:sts::" ACCT ":assumed-role/Admin/xena#2023-12-05T10:00:00Z",
                                       "arn:aws:sts::" ACCT ":assumed-role/Admin/yuri#2023-12-05T11:00:00Z",
                                       "arn:aws:sts::" ACCT ":assumed-role/Admin/zoe#2023-12-05T12:00:00Z"};
    for (int k = 0; k < 3; k++) {
        char cdate[32], t1[32], t2[32];
        snprintf(cdate, sizeof(cdate), "2023-12-05T1%d:00:00Z", k);
        snprintf(t1, sizeof(t1), "2023-12-05T1%d:00:05Z", k);
        snprintf(t2, sizeof(t2), "2023-12-05T1%d:01:00Z", k);
        add(ids[k][0], want[k],
            record(t1, ids[k][0], "signin.amazonaws.com", "GetSigninToken",
                   assumed_role("Admin", who[k], "ASIAPLACEHOLDER", cdate),
                   json_pack("{s:{s:s}}", "credentials", "accessKeyId", "ASIAPLACEHOLDER"), UA_CLI));
        add(ids[k][1], want[k],
            record(t2, ids[k][1], "iam.amazonaws.com", "ListUsers", assumed_role("Admin", who[k], "ASIAPLACEHOLDER", cdate),
                   NULL, NULL));
    }

    /* erin: ConsoleLogin and GetSigninToken carry no key (as in the corpus);
     * the key GetSigninToken hands out is all that ties the next event */
    const char *E = "arn:aws:iam::" ACCT ":user/erin#2023-12-04T12:00:00Z";
    add("e01", E, record("2023-12-04T12:00:00Z", "e01", "signin.amazonaws.com", "ConsoleLogin",
                         iam_user("erin", NULL, NULL), json_pack("{s:s}", "ConsoleLogin", "Success"), NULL));
    add("e02", E, record("2023-12-04T12:00:00Z", "e02", "signin.amazonaws.com", "GetSigninToken",
                         iam_user("erin", NULL, NULL),
                         json_pack("{s:s, s:{s:s}}", "GetSigninToken", "Success", "credentials",
                                   "accessKeyId", "ASIAERINCONSOLE01"),
                         "Jersey/${project.version} (HttpUrlConnection 11.0.21)"));
    add("e03", E, record("2023-12-04T12:00:04Z", "e03", "ec2.amazonaws.com", "DescribeVpcs",
                         iam_user("erin", "ASIAERINCONSOLE01", NULL), NULL, NULL));
    /* frank: GetSigninToken names a key that looks long-term (the corpus
     * redacts keys as AKIA...): events with it still join the console session */
    const char *G = "arn:aws:iam::" ACCT ":user/frank#2023-12-04T14:00:01Z";
    add("g01", G, record("2023-12-04T14:00:00Z", "g01", "signin.amazonaws.com", "ConsoleLogin",
                         iam_user("frank", NULL, NULL), json_pack("{s:s}", "ConsoleLogin", "Success"), NULL));
    add("g02", G, record("2023-12-04T14:00:00Z", "g02", "signin.amazonaws.com", "GetSigninToken",
                         iam_user("frank", NULL, NULL),
                         json_pack("{s:s, s:{s:s}}", "GetSigninToken", "Success", "credentials",
                                   "accessKeyId", "AKIAREDACTED418LMD4D"),
                         "Jersey/${project.version} (HttpUrlConnection 11.0.21)"));
    add("g03", G, record("2023-12-04T14:00:03Z", "g03", "ec2.amazonaws.com", "DescribeVpcs",
                         iam_user("frank", "AKIAREDACTED418LMD4D", NULL), NULL, NULL));
    add("g04", G, record("2023-12-04T14:00:05Z", "g04", "ec2.amazonaws.com", "DescribeSubnets",
                         iam_user("frank", "ASIAFRANK2EXAMPLE", "2023-12-04T14:00:01Z"), NULL, NULL));

    /* minimized records: no userIdentity at all */
    add("m01", "default", record("2023-12-04T10:00:10Z", "m01", "ec2.amazonaws.com", "DescribeVpcs", NULL, NULL, NULL));
    add("m02", "default", record("2023-12-04T12:00:10Z", "m02", "s3.amazonaws.com", "ListBuckets", NULL, NULL, NULL));

    /* root without an arn, signing in with no session to join */
    add("u01", "arn:aws:iam::" ACCT ":root#2023-12-04T20:00:00Z",
        record("2023-12-04T20:00:00Z", "u01", "signin.amazonaws.com", "ConsoleLogin",
               json_pack("{s:s, s:s, s:s}", "type", "Root", "principalId", ACCT, "accountId", ACCT),
               json_pack("{s:s}", "ConsoleLogin", "Failure"), NULL));
    /* a temporary key no event ties to a creationDate */
    add("k01", ALICE "#ASIAORPHANEXAMPLE",
        record("2023-12-04T13:00:00Z", "k01", "ec2.amazonaws.com", "DescribeImages",
               iam_user("alice", "ASIAORPHANEXAMPLE", NULL), NULL, NULL));
    /* no key, no creationDate, no session of that principal in progress */
    add("n01", "arn:aws:iam::" ACCT ":user/dave",
        record("2023-12-04T13:00:00Z", "n01", "health.amazonaws.com", "DescribeEvents",
               iam_user("dave", NULL, NULL), NULL, NULL));
}

static void free_fixtures(void) {
    for (size_t i = 0; i < NF; i++) free(F[i].text);
}

/* Assigns sessions to the fixtures taken in the order `perm` and checks
 * every one.  Returns the number of mismatches. */
static int run_order(const size_t *perm, int verbose) {
    tm_eventvec v = {0};
    tm_error err = {0};
    for (size_t i = 0; i < NF; i++) {
        tm_event *e;
        if (tm_event_from_text(F[perm[i]].text, strlen(F[perm[i]].text), &e, &err) != 0) {
            fprintf(stderr, "fixture %s: %s\n", F[perm[i]].id, err.msg);
            exit(2);
        }
        tm_eventvec_push(&v, e);
    }
    int bad = 0;
    CHECK_INT(tm_session_assign(&v, NULL, &err), 0);
    for (size_t i = 0; i < v.n; i++) {
        const fixture *f = &F[perm[i]];
        CHECK_STR(v.v[i]->id, f->id);
        if (!v.v[i]->session || strcmp(v.v[i]->session, f->want) != 0) {
            bad++;
            if (verbose)
                fprintf(stderr, "  %s: expected %s, got %s\n", f->id, f->want,
                        v.v[i]->session ? v.v[i]->session : "(null)");
        }
    }
    tm_eventvec_free(&v);
    return bad;
}

static void test_assignment(void) {
    size_t perm[64];
    for (size_t i = 0; i < NF; i++) perm[i] = i;
    CHECK_INT(run_order(perm, 1), 0);
    /* reversed */
    for (size_t i = 0; i < NF; i++) perm[i] = NF - 1 - i;
    CHECK_INT(run_order(perm, 1), 0);
    /* shuffled, many times */
    unsigned x = 2024;
    int total = 0;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < NF; i++) perm[i] = i;
        for (size_t i = NF - 1; i > 0; i--) {
            x = x * 1103515245u + 12345u;
            size_t j = (x >> 8) % (i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        total += run_order(perm, round == 0);
    }
    CHECK_INT(total, 0);
}

static void test_forced_and_preset(void) {
    tm_eventvec v = {0};
    tm_error err = {0};
    for (size_t i = 0; i < 3; i++) {
        tm_event *e;
        tm_event_from_text(F[i].text, strlen(F[i].text), &e, &err);
        tm_eventvec_push(&v, e);
    }
    v.v[1]->session = strdup("kept");
    CHECK_INT(tm_session_assign(&v, "case-42", &err), 0);
    CHECK_STR(v.v[0]->session, "case-42");
    CHECK_STR(v.v[1]->session, "kept");
    CHECK_STR(v.v[2]->session, "case-42");
    free(v.v[0]->session);
    v.v[0]->session = NULL;
    CHECK_INT(tm_session_assign(&v, NULL, &err), 0);
    CHECK_STR(v.v[0]->session, F[0].want);
    CHECK_STR(v.v[1]->session, "kept");
    tm_eventvec_free(&v);

    tm_eventvec empty = {0};
    CHECK_INT(tm_session_assign(&empty, NULL, &err), 0);
}

/* The mixed test file splits exactly into its users' files. */
static void test_three_users(void) {
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
    CHECK_INT(rep.n, 0);
    CHECK_INT(tm_session_assign(&all, NULL, &err), 0);
    size_t covered = 0;
    char *names[3] = {NULL, NULL, NULL};
    for (int u = 1; u <= 3; u++) {
        snprintf(p, sizeof(p), "%s/tests/data/three_users_%d.json", src ? src : "..", u);
        tm_eventvec one = {0};
        CHECK_INT(tm_input_read_file(p, &one, &rep, &err), 0);
        CHECK(one.n > 10);
        /* alone, the user's records form one session */
        CHECK_INT(tm_session_assign(&one, NULL, &err), 0);
        const char *alone = one.n ? one.v[0]->session : NULL;
        int same = 1, found = 1, same_mixed = 1, raw_same = 1;
        const char *mixed = NULL;
        for (size_t i = 0; i < one.n; i++) {
            if (strcmp(one.v[i]->session, alone) != 0) same = 0;
            const tm_event *m = NULL;
            for (size_t k = 0; k < all.n; k++)
                if (strcmp(all.v[k]->id, one.v[i]->id) == 0) m = all.v[k];
            if (!m) {
                found = 0;
                continue;
            }
            if (!mixed) mixed = m->session;
            if (strcmp(m->session, mixed) != 0) same_mixed = 0;
            if (m->raw_len != one.v[i]->raw_len || memcmp(m->raw, one.v[i]->raw, m->raw_len) != 0)
                raw_same = 0;
        }
        CHECK(same);
        CHECK(found);
        CHECK(same_mixed);
        CHECK(raw_same);
        CHECK_STR(mixed, alone);
        fprintf(stderr, "  user %d: %zu events, session %s\n", u, one.n, alone ? alone : "(none)");
        names[u - 1] = alone ? strdup(alone) : NULL;
        covered += one.n;
        tm_eventvec_free(&one);
    }
    CHECK_INT(covered, all.n);
    CHECK(names[0] && names[1] && names[2] && strcmp(names[0], names[1]) != 0 &&
          strcmp(names[0], names[2]) != 0 && strcmp(names[1], names[2]) != 0);
    for (int u = 0; u < 3; u++) free(names[u]);
    tm_eventvec_free(&all);
    tm_input_report_free(&rep);
}

int main(void) {
    build_fixtures();
    test_assignment();
    test_forced_and_preset();
    test_three_users();
    free_fixtures();
    return tm_test_done();
}
