/*
 * hash.h: FNV-1a, 64 bits, for cheap fingerprints (frames compared by
 * run --check, codec options too long to record in full). Not for
 * anything an adversary chooses.
 */
#ifndef VS_HASH_H
#define VS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define VS_FNV1A_SEED 14695981039346656037ULL

/* Continues hash h over n bytes; start from VS_FNV1A_SEED. */
static inline uint64_t vs_fnv1a(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

#endif
