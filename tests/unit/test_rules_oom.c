/* test_rules_oom.c: loading the real rules when an allocation fails.
 *
 * This program replaces malloc, calloc, realloc and free (glibc lets a
 * program do that, and routes its own and jansson's calls through them).
 * It loads rules/ once undisturbed, to learn what the ruleset maps the
 * compatibility corpus to, then loads it again and, at every allocation N
 * of that load, forks: the child fails allocation N and finishes the load,
 * the parent waits for it and goes on undisturbed.  So every N is tried at
 * the cost of one load plus each child's remainder, which is short because
 * a load stops at the first allocation that fails.
 *
 * A child may end only two ways: the load fails and says "out of memory",
 * having freed everything it allocated; or it succeeds (an allocation whose
 * failure was really recovered from, such as stdio's buffer) and the
 * ruleset maps the corpus exactly as the undisturbed one does.  A ruleset
 * loaded with a piece missing (an override whose condition became
 * "always", a template that is NULL) is what this looks for.
 *
 * TM_OOM_STRIDE=K tries every Kth N only (default 1: all of them);
 * TM_OOM_ONLY=N fails allocation N in the process itself (no fork), for
 * a debugger; TM_OOM_TRACE=1 prints where each bad child's failed allocation was made
 * (offsets for addr2line -f -e test_rules_oom).  Not built with the
 * sanitizers, whose own allocators these would replace. */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <jansson.h>
#include <regex.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "input.h"
#include "mapper.h"
#include "output.h"
#include "rules.h"
#include "test.h"

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

/* ---- the allocator ---- */

static int counting;   /* count allocations (and live blocks) */
static long count;     /* allocations since counting started */
static long live;      /* blocks allocated and not freed since then */
static int in_library;

static long stride = 1;
static long only_n;
static int forking;    /* the parent of the second load: fork at each N */
static int in_child;   /* the child: its one failure is behind it */
static long fail_n;    /* the child's failed allocation */
static long nchildren, nfailed, nrecovered, nbad;

static void *where[24];
static int nwhere;

static void child_exit_status(pid_t pid);

static int should_fail(void) {
    if (!counting || in_library) return 0;
    count++;
    if (only_n) /* TM_OOM_ONLY=N: fail N in this process, for a debugger */
        return count == only_n ? (in_child = 1, fail_n = count, errno = ENOMEM, 1) : 0;
    if (!forking || in_child || count % stride != 0) return 0;
    fflush(stdout);
    fflush(stderr);
    /* parent and child share the offsets of open files (the rules file
     * being read, say): the parent puts its own back when the child ends */
    off_t off[64];
    for (int fd = 0; fd < 64; fd++) off[fd] = fd > 2 ? lseek(fd, 0, SEEK_CUR) : -1;
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid > 0) {
        child_exit_status(pid);
        for (int fd = 0; fd < 64; fd++)
            if (off[fd] >= 0) lseek(fd, off[fd], SEEK_SET);
        return 0;
    }
    in_child = 1;
    fail_n = count;
    if (getenv("TM_OOM_TRACE")) { /* backtrace allocates the first time: not the load's */
        counting = 0;
        nwhere = backtrace(where, 24);
        counting = 1;
    }
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t n) {
    if (should_fail()) return NULL;
    void *p = __libc_malloc(n);
    if (p && counting) live++;
    return p;
}

void *calloc(size_t n, size_t size) {
    if (should_fail()) return NULL;
    void *p = __libc_calloc(n, size);
    if (p && counting) live++;
    return p;
}

void *realloc(void *old, size_t n) {
    if (should_fail()) return NULL;
    void *p = __libc_realloc(old, n);
    if (p && !old && counting) live++;
    return p;
}

void free(void *p) {
    if (p && counting) live--;
    __libc_free(p);
}

/* glibc's regcomp corrupts its heap when an allocation inside it fails (a
 * double free in free_workarea_compile), so regcomp as a whole is one
 * allocation here: it fails with REG_ESPACE, or runs with every allocation
 * inside it succeeding. */
int regcomp(regex_t *re, const char *pattern, int flags) {
    static int (*real)(regex_t *, const char *, int);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "regcomp");
    if (should_fail()) return REG_ESPACE;
    in_library = 1;
    int rc = real(re, pattern, flags);
    in_library = 0;
    return rc;
}

/* jansson 2.14's parser is no safer: with some of its allocations failing
 * it crashes (an assertion in load.c, a wild read), so a parse is one
 * allocation too, failing as jansson says it does when memory runs out. */
json_t *json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error) {
    static json_t *(*real)(const char *, size_t, size_t, json_error_t *);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "json_loadb");
    if (should_fail()) {
        if (error) {
            memset(error, 0, sizeof(*error));
            snprintf(error->text, sizeof(error->text), "out of memory");
            error->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)json_error_out_of_memory;
        }
        return NULL;
    }
    in_library = 1;
    json_t *v = real(buf, len, flags, error);
    in_library = 0;
    return v;
}

/* ---- the corpus, and what the whole ruleset maps it to ---- */

static tm_eventvec corpus[64];
static size_t ncorpus;
static char *want;

static void read_corpus(const char *src) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/corpus/sessions", src);
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        exit(1);
    }
    struct dirent *de;
    while ((de = readdir(d)) && ncorpus < 64) {
        if (de->d_name[0] == '.') continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s/InputEvents.json", dir, de->d_name);
        tm_input_report rep = {0};
        tm_error err = {0};
        if (tm_input_read_file(path, &corpus[ncorpus], &rep, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            exit(1);
        }
        tm_input_report_free(&rep);
        tm_eventvec_sort_dedupe(&corpus[ncorpus]);
        ncorpus++;
    }
    closedir(d);
}

/* The json output of every corpus session mapped with rs; malloc'd. */
static char *map_corpus(tm_ruleset *rs) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        perror("open_memstream");
        exit(1);
    }
    for (size_t i = 0; i < ncorpus; i++) {
        tm_mapping *m = NULL;
        tm_error err = {0};
        tm_sessview v = {0};
        if (tm_map(rs, corpus[i].v, corpus[i].n, &m, &err) || tm_view_from_mapping(m, "s", &v) ||
            tm_output_json(f, &v, 1)) {
            fprintf(stderr, "mapping the corpus failed: %s\n", err.msg);
            exit(1);
        }
        tm_view_clear(&v);
        tm_mapping_free(m);
    }
    fclose(f);
    return text;
}

/* ---- a child's verdict ---- */

enum { CHILD_FAILED = 0, CHILD_BAD = 1, CHILD_RECOVERED = 3 };

static void print_where(void) {
    for (int i = 1; i < nwhere; i++) {
        Dl_info di;
        if (dladdr(where[i], &di) && di.dli_fbase)
            fprintf(stderr, "  %s+%#lx\n", di.dli_fname,
                    (unsigned long)((char *)where[i] - (char *)di.dli_fbase) - 1);
    }
}

static int says_oom(const tm_errlist *errs) {
    for (size_t i = 0; i < errs->n; i++)
        if (strstr(errs->v[i], "out of memory") || strstr(errs->v[i], strerror(ENOMEM))) return 1;
    return errs->oom;
}

static int bad(const char *what) {
    fprintf(stderr, "allocation %ld failing: %s\n", fail_n, what);
    print_where();
    return CHILD_BAD;
}

/* Judges the load the child finished; counting is still on. */
static int judge(int rc, tm_ruleset *rs, tm_errlist *e) {
    int oom = says_oom(e);
    char first[256] = "";
    if (e->n) snprintf(first, sizeof first, "%s", e->v[0]);
    tm_errlist_free(e);
    if (rc == 0) {
        char *got = map_corpus(rs); /* counted too: a ruleset may cache */
        int same = strcmp(got, want) == 0;
        free(got);
        tm_rules_unref(rs);
        if (!same) return bad("the load succeeded, but the ruleset maps the corpus differently");
        if (live) return bad("the load succeeded and leaked");
        if (getenv("TM_OOM_TRACE")) {
            fprintf(stderr, "allocation %ld failing: recovered\n", fail_n);
            print_where();
        }
        return CHILD_RECOVERED;
    }
    if (rs) return bad("the load failed but returned a ruleset");
    if (!oom) {
        char msg[512];
        snprintf(msg, sizeof msg, "the load failed without saying out of memory (%s)", first[0] ? first : "no message");
        return bad(msg);
    }
    if (live) {
        char msg[64];
        snprintf(msg, sizeof msg, "%ld blocks leaked", live);
        return bad(msg);
    }
    return CHILD_FAILED;
}

static void child_exit_status(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            perror("waitpid");
            exit(2);
        }
    nchildren++;
    if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_FAILED) nfailed++;
    else if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_RECOVERED) nrecovered++;
    else {
        nbad++;
        if (WIFSIGNALED(st)) fprintf(stderr, "allocation %ld failing: the load died of signal %d\n", count, WTERMSIG(st));
        if (nbad >= 10) {
            fprintf(stderr, "stopping after 10 bad outcomes\n");
            exit(1);
        }
    }
}

int main(void) {
    const char *src = getenv("TM_SOURCE_DIR");
    if (!src) src = ".";
    const char *s = getenv("TM_OOM_STRIDE");
    if (s && atol(s) > 1) stride = atol(s);
    if ((s = getenv("TM_OOM_ONLY"))) only_n = atol(s);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/rules", src);
    read_corpus(src);

    /* undisturbed: what the whole ruleset maps the corpus to */
    tm_errlist errs = {0};
    tm_ruleset *full = NULL;
    int rc = tm_rules_load(dir, &full, &errs);
    CHECK_INT(rc, 0);
    CHECK_INT(errs.n, 0);
    if (rc) return tm_test_done();
    tm_errlist_free(&errs);
    want = map_corpus(full);
    tm_rules_unref(full);

    /* again, forking a child that fails it at every allocation */
    tm_ruleset *rs = NULL;
    count = live = 0;
    counting = forking = 1;
    rc = tm_rules_load(dir, &rs, &errs);
    if (in_child) _exit(judge(rc, rs, &errs));
    counting = forking = 0;
    CHECK_INT(rc, 0);
    tm_rules_unref(rs);
    tm_errlist_free(&errs);

    printf("a load makes %ld allocations; failed %s: %ld loads said out of memory, %ld recovered whole, %ld bad\n",
           count, stride == 1 ? "each in turn" : "every stride-th", nfailed, nrecovered, nbad);
    CHECK_INT(nbad, 0);
    CHECK_INT(nchildren, count / stride);
    free(want);
    for (size_t i = 0; i < ncorpus; i++) tm_eventvec_free(&corpus[i]);
    return tm_test_done();
}
