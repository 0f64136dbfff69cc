/* eval_gen.c — generation speed: greedy decoding with the key/value cache (one prompt or
 * a batch) against recomputing the whole sequence at every step.
 *   eval_gen MODEL_DIR PROMPT_LEN NEW_TOKENS BATCH cache|nocache [fp32|bf16]
 * Prints one JSON line: tokens generated, wall and process CPU seconds, tokens/s, and the
 * first sequence's ids (to compare the two ways and other implementations). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/cli.h"
#include "nn/decode.h"
#include "nn/model.h"
#include "eval/sample.h"

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	rad_cli_init(argc, argv);
	if (argc != 6 && argc != 7)
		rad_die(RAD_EXIT_USAGE, NULL, "usage: eval_gen MODEL_DIR PROMPT_LEN NEW_TOKENS BATCH cache|nocache [fp32|bf16]");
	rad_model *m = NULL;
	const char *e = rad_model_load(&m, argv[1]);
	if (e) rad_die(RAD_EXIT_DATA, argv[1], "%s", e);
	int compute = argc == 7 ? rad_compute_parse(argv[6]) : RAD_COMPUTE_F32;
	if (compute < 0) rad_die(RAD_EXIT_USAGE, NULL, "fp32 or bf16, not %s", argv[6]);
	rad_model_set_compute(m, compute);
	int np = atoi(argv[2]), nn = atoi(argv[3]), B = atoi(argv[4]), cache = !strcmp(argv[5], "cache");
	int V = m->cfg.vocab, total = np + nn;
	rad_kv_cache *kv = rad_kv_cache_new(m, B, total);
	float *lg = rad_malloc(sizeof(float) * (size_t)B * V);
	int32_t *seq = rad_malloc(sizeof(int32_t) * (size_t)B * total);
	for (int b = 0; b < B; b++)   /* prompt b: a fixed pseudo-random text */
		for (int i = 0; i < np; i++) seq[(size_t)b * total + i] = (int32_t)((i * 7919 + b * 104729 + 13) % V);
	rad_sampler sm;
	rad_sampler_init(&sm, V);
	rad_sample_opts greedy = {0, 0, 1};
	int *slots = rad_malloc(sizeof(int) * B);
	int32_t *tok = rad_malloc(sizeof(int32_t) * B);
	double w0 = wall(), c0 = cpu();
	if (cache) {
		for (int b = 0; b < B; b++) {
			if ((e = rad_model_decode(m, kv, b, seq + (size_t)b * total, np, lg + (size_t)b * V))) rad_die(1, NULL, "%s", e);
			seq[(size_t)b * total + np] = rad_sample(&sm, lg + (size_t)b * V, &greedy, NULL);
		}
		for (int t = np + 1; t < total; t++) {
			for (int b = 0; b < B; b++) { slots[b] = b; tok[b] = seq[(size_t)b * total + t - 1]; }
			if ((e = rad_model_decode_step(m, kv, B, slots, tok, lg))) rad_die(1, NULL, "%s", e);
			for (int b = 0; b < B; b++) seq[(size_t)b * total + t] = rad_sample(&sm, lg + (size_t)b * V, &greedy, NULL);
		}
	} else {
		for (int b = 0; b < B; b++)
			for (int t = np; t < total; t++) {
				rad_kv_cache_reset(kv, b);
				if ((e = rad_model_decode(m, kv, b, seq + (size_t)b * total, t, lg))) rad_die(1, NULL, "%s", e);
				seq[(size_t)b * total + t] = rad_sample(&sm, lg, &greedy, NULL);
			}
	}
	double w = wall() - w0, c = cpu() - c0;
	printf("{\"mode\":\"%s%s\",\"batch\":%d,\"tokens\":%d,\"wall_s\":%.4f,\"cpu_s\":%.4f,\"tokens_per_s\":%.1f,\"ids\":[",
	       cache ? "cache" : "nocache", compute == RAD_COMPUTE_BF16 ? " bf16" : "", B, B * nn, w, c, B * nn / w);
	for (int t = np; t < total; t++) printf("%s%d", t > np ? "," : "", seq[t]);
	printf("]}\n");
	rad_sampler_free(&sm);
	rad_kv_cache_free(kv);
	free(lg); free(seq); free(slots); free(tok);
	rad_model_free(m);
	return 0;
}
