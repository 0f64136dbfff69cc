/* base/keyed.c — randomness keyed by identity (see keyed.h). */
#include "base/keyed.h"
#include "base/cli.h"

#include <string.h>

uint64_t rad_keyed_u64(const char *domain, uint64_t seed, const void *key, size_t n)
{
	uint64_t h = rad_hash64(domain, strlen(domain) + 1, RAD_HASH_SEED);
	h = rad_hash64(&seed, sizeof seed, h);
	h = rad_hash64(key, n, h);
	/* the 64-bit finalizer of MurmurHash3 */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint64_t rad_keyed_below(const char *domain, uint64_t seed, const void *key, size_t len, uint64_t n)
{
	/* The high 64 bits of a 128-bit product: uniform up to n / 2^64. */
	return (uint64_t)(((unsigned __int128)rad_keyed_u64(domain, seed, key, len) * n) >> 64);
}
