/* fuzz_rules.c: the rule loader (rules.h) with one rule file replaced by
 * the fuzz bytes.
 *
 * LLVMFuzzerInitialize copies a closed subset of the real rules once into a
 * temporary directory: tests/fuzz/rules-subset, which make_seeds.py derives
 * from rules/ (the small signal files, every label rule, override and
 * user-agent prepend naming only their labels; entries unchanged).  The
 * whole rules/ takes ~100 ms a load under ASan; the subset ~30 ms.
 *
 * Per input, the first byte picks which file is replaced (by index,
 * modulo the number of files), the rest of the input
 * becomes that file's bytes, tm_rules_load loads the whole directory
 * (parsing, validating and compiling every file, the replaced one among
 * the real ones it refers to), and the original file is put back.  The
 * seeds (tests/fuzz/corpus/fuzz_rules/) are the real files, each with the
 * byte that selects it: make_seeds.py writes them in the order of the
 * sorted list built here, so keep the two in step.
 *
 * TM_FUZZ_DEBUG=1 prints what each load says.
 *
 * Checked besides the sanitizers: a load either gives a ruleset and no
 * error, or no ruleset and at least one "file:line:column: message". */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "rules.h"

typedef struct rfile {
    char *path;  /* in the temporary copy */
    char *bytes; /* the original contents */
    size_t len;
} rfile;

static char tmpdir[] = "/tmp/tm_fuzz_rules_XXXXXX";
static rfile *files;
static size_t nfiles;
static int debug; /* TM_FUZZ_DEBUG=1: print the first error of every load */

static int cmp_rfile(const void *a, const void *b) {
    return strcmp(((const rfile *)a)->path, ((const rfile *)b)->path);
}

static int write_file(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = len ? fwrite(buf, 1, len, f) : 0;
    if (fclose(f) != 0 || w != len) return -1;
    return 0;
}

/* Copies the .json files of src/sub into tmpdir/sub and remembers them. */
static int copy_dir(const char *src, const char *sub) {
    char from[4096], to[4096];
    snprintf(from, sizeof(from), "%s%s%s", src, *sub ? "/" : "", sub);
    snprintf(to, sizeof(to), "%s%s%s", tmpdir, *sub ? "/" : "", sub);
    if (*sub && mkdir(to, 0700) != 0) return -1;
    DIR *d = opendir(from);
    if (!d) return -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char f[4096], t[4096];
        snprintf(f, sizeof(f), "%s/%s", from, de->d_name);
        snprintf(t, sizeof(t), "%s/%s", to, de->d_name);
        struct stat st;
        if (stat(f, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            char s2[4096];
            snprintf(s2, sizeof(s2), "%s%s%s", sub, *sub ? "/" : "", de->d_name);
            if (copy_dir(src, s2) != 0) goto fail;
            continue;
        }
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0) continue;
        rfile r = {0};
        tm_error err;
        if (tm_file_read(f, &r.bytes, &r.len, &err) != 0) goto fail;
        rfile *nv = realloc(files, (nfiles + 1) * sizeof(*nv));
        if (nv) files = nv;
        r.path = strdup(t);
        if (!nv || !r.path || write_file(t, r.bytes, r.len) != 0) {
            free(r.path);
            free(r.bytes);
            goto fail;
        }
        files[nfiles++] = r;
    }
    closedir(d);
    return 0;
fail:
    closedir(d);
    return -1;
}

static void cleanup(void) {
    for (size_t i = 0; i < nfiles; i++) {
        unlink(files[i].path);
        free(files[i].path);
        free(files[i].bytes);
    }
    free(files);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_rules: could not remove %s\n", tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    /* the subset by default; TM_FUZZ_RULES=DIR fuzzes among other rules
     * (the whole rules/ works, at ~7 runs a second) */
    const char *src = getenv("TM_SOURCE_DIR"), *env = getenv("TM_FUZZ_RULES");
    char rules[4096];
    if (env) snprintf(rules, sizeof(rules), "%s", env);
    else snprintf(rules, sizeof(rules), "%s/tests/fuzz/rules-subset", src ? src : TM_SOURCE_DIR);
    if (!mkdtemp(tmpdir) || copy_dir(rules, "") != 0 || nfiles == 0) {
        fprintf(stderr, "fuzz_rules: cannot copy %s to %s\n", rules, tmpdir);
        exit(1);
    }
    qsort(files, nfiles, sizeof(*files), cmp_rfile);
    debug = getenv("TM_FUZZ_DEBUG") != NULL;
    atexit(cleanup);
    /* the real rules must load, or every input would only test errors */
    tm_ruleset *rs = NULL;
    tm_errlist errs = {0};
    if (tm_rules_load(tmpdir, &rs, &errs) != 0) {
        fprintf(stderr, "fuzz_rules: the real rules do not load: %s\n", errs.n ? errs.v[0] : "?");
        exit(1);
    }
    tm_rules_unref(rs);
    tm_errlist_free(&errs);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    rfile *r = &files[data[0] % nfiles];
    if (write_file(r->path, data + 1, size - 1) != 0) abort();
    tm_ruleset *rs = NULL;
    tm_errlist errs = {0};
    int rc = tm_rules_load(tmpdir, &rs, &errs);
    if (debug) fprintf(stderr, "fuzz_rules: %s: %s\n", r->path + strlen(tmpdir) + 1, rc ? (errs.n ? errs.v[0] : "?") : "loads");
    if (rc == 0 && (!rs || errs.n != 0)) abort();
    if (rc != 0 && (rs || (errs.n == 0 && !errs.oom))) abort();
    tm_rules_unref(rs);
    tm_errlist_free(&errs);
    if (write_file(r->path, r->bytes, r->len) != 0) abort();
    return 0;
}
