/* eval/sample.h — choosing the next token from logits: greedy, temperature, top-k, top-p.
 *
 * Temperature 0 is greedy (argmax, lowest id on ties).  Otherwise logits are divided by
 * the temperature, cut to the k most likely (top_k > 0) and then to the smallest set of
 * most likely tokens whose probability reaches top_p (top_p < 1), and one token is drawn
 * from what is left with one uniform number from r.  Ties in probability are ordered by
 * id, so the result depends only on the logits and the generator's state. */
#ifndef RAD_SAMPLE_H
#define RAD_SAMPLE_H

#include <stdint.h>
#include "base/rng.h"

typedef struct rad_sample_opts {
	double temperature;    /* 0: greedy */
	int top_k;             /* 0: no cut */
	double top_p;          /* 1: no cut */
} rad_sample_opts;

/* Scratch for rad_sample, sized for a vocabulary. */
typedef struct rad_sampler {
	int vocab;
	float *prob;           /* [V] unnormalised probabilities */
	struct rad_cand { float p; int32_t id; } *cand;   /* [V] candidates */
} rad_sampler;

void rad_sampler_init(rad_sampler *s, int vocab);
void rad_sampler_free(rad_sampler *s);
int32_t rad_sample(rad_sampler *s, const float *logits, const rad_sample_opts *o, rad_rng *r);

/* The generator of one prompt: seeded from the run's seed and the prompt's id only, so a
 * prompt gets the same draws whichever shard or batch it is in. */
void rad_sample_seed(rad_rng *r, uint64_t seed, const char *id);
/* The generator of response k of a prompt (rad-eval generate --samples): from the seed,
 * the id and k; response 0's is rad_sample_seed's. */
void rad_sample_seed_k(rad_rng *r, uint64_t seed, const char *id, int k);

#endif
