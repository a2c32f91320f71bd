/* hash.c: FNV-1a 64 and MurmurHash3 x64 128 (see hash.h). */
#include "hash.h"

#include <string.h>

uint64_t tm_fnv_bytes(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * TM_FNV_PRIME;
    return h;
}

uint64_t tm_fnv_str(const char *s) { return tm_fnv_bytes(TM_FNV_OFFSET, s, strlen(s)); }

static uint64_t rd64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t fmix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

void tm_murmur3_128(const void *data, size_t len, uint64_t out[2]) {
    const unsigned char *d = data;
    const uint64_t c1 = 0x87c37b91114253d5ull, c2 = 0x4cf5ad432745937full;
    uint64_t h1 = 0x74726169ull, h2 = 0x6c6d6170ull; /* seeds */
    size_t nblocks = len / 16;
    for (size_t i = 0; i < nblocks; i++) {
        uint64_t k1 = rd64(d + 16 * i), k2 = rd64(d + 16 * i + 8);
        k1 *= c1; k1 = rotl(k1, 31); k1 *= c2; h1 ^= k1;
        h1 = rotl(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
        k2 *= c2; k2 = rotl(k2, 33); k2 *= c1; h2 ^= k2;
        h2 = rotl(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
    }
    const unsigned char *t = d + nblocks * 16;
    uint64_t k1 = 0, k2 = 0;
    size_t rem = len & 15;
    for (size_t i = rem; i > 8; i--) k2 = (k2 << 8) | t[i - 1];
    if (rem > 8) {
        k2 *= c2; k2 = rotl(k2, 33); k2 *= c1; h2 ^= k2;
    }
    for (size_t i = rem < 8 ? rem : 8; i > 0; i--) k1 = (k1 << 8) | t[i - 1];
    if (rem > 0) {
        k1 *= c1; k1 = rotl(k1, 31); k1 *= c2; h1 ^= k1;
    }
    h1 ^= (uint64_t)len;
    h2 ^= (uint64_t)len;
    h1 += h2;
    h2 += h1;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 += h2;
    h2 += h1;
    out[0] = h1;
    out[1] = h2;
}
