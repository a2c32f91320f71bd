/* jsonmem.c: jansson's allocations, with a per-thread note of a failure. */
#include "jsonmem.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>

static _Thread_local int failed;
static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void *tracked_malloc(size_t n) {
    void *p = malloc(n);
    if (!p) failed = 1;
    return p;
}

/* malloc and free underneath, so blocks jansson allocated before the
 * switch are freed correctly after it. */
static void install(void) { json_set_alloc_funcs(tracked_malloc, free); }

void tm_jsonmem_begin(void) {
    pthread_once(&installed, install);
    failed = 0;
}

int tm_jsonmem_failed(void) { return failed; }
