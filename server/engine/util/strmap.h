/* strmap.h: a string → size_t hash map (open addressing, linear probing,
 * FNV-1a; at most half full).  Keys are copied.  There is no removal: the
 * maps of trailmap are built, read and freed. */
#ifndef TM_STRMAP_H
#define TM_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#define TM_STRMAP_NONE SIZE_MAX

typedef struct tm_strmap {
    char **keys;
    size_t *vals;
    size_t cap, n;
} tm_strmap;

/* The value of k, or TM_STRMAP_NONE. */
size_t tm_strmap_get(const tm_strmap *m, const char *k);

/* Sets k → v (adding k when absent).  0, or -1 when out of memory. */
int tm_strmap_set(tm_strmap *m, const char *k, size_t v);

void tm_strmap_free(tm_strmap *m); /* and zeroes it */

#endif
