/* base/rng.h — a small seeded generator (xoshiro256**, seeded by splitmix64) whose whole state
 * is four words, so checkpoints can save and restore it exactly. */
#ifndef RAD_RNG_H
#define RAD_RNG_H

#include <stdint.h>

typedef struct rad_rng { uint64_t s[4]; } rad_rng;

void rad_rng_seed(rad_rng *r, uint64_t seed);
uint64_t rad_rng_next(rad_rng *r);
double rad_rng_uniform(rad_rng *r);     /* [0, 1) with 53 bits */
double rad_rng_normal(rad_rng *r);      /* N(0, 1), Box-Muller (no cached second value) */

#endif
