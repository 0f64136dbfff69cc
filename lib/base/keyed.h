/* base/keyed.h — randomness keyed by a record's identity, never by its position, so that a
 * sharded run (parallel --pipe) makes the same choices as a whole one. */
#ifndef RAD_KEYED_H
#define RAD_KEYED_H

#include <stddef.h>
#include <stdint.h>

/* 64 well-mixed bits from (domain, seed, key): FNV-1a (rad_hash64) of the three, then a
 * finalizer so that every bit depends on every input byte (FNV-1a's high bits alone do
 * not, for short keys that differ only at the end). */
uint64_t rad_keyed_u64(const char *domain, uint64_t seed, const void *key, size_t n);
/* A uniform pick in [0, n) (n >= 1) from the same bits. */
uint64_t rad_keyed_below(const char *domain, uint64_t seed, const void *key, size_t len, uint64_t n);

#endif
