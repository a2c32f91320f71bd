/* hash.h: the hash functions of trailmap, one copy each.
 *
 *   FNV-1a 64     fast, for hash tables and the rules' version (the
 *                 published offset basis: the four copies this replaced
 *                 had lost its last digit); not
 *                 resistant to chosen keys, so a table keyed by input
 *                 bounds its probing by its load (strmap.h)
 *   MurmurHash3   x64 128 (public domain algorithm), bytes read
 *                 little-endian so the value is the same on every machine:
 *                 stored ids (server/store.c) */
#ifndef TM_HASH_H
#define TM_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TM_FNV_OFFSET 14695981039346656037ull
#define TM_FNV_PRIME 1099511628211ull

/* Continues an FNV-1a 64 hash h (start with TM_FNV_OFFSET) over n bytes. */
uint64_t tm_fnv_bytes(uint64_t h, const void *p, size_t n);

/* FNV-1a 64 of a NUL-terminated string. */
uint64_t tm_fnv_str(const char *s);

void tm_murmur3_128(const void *data, size_t len, uint64_t out[2]);

#endif
