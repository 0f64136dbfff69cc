/* model_fixture.h — tiny models and hand-built batches for the model's unit tests. */
#ifndef RAD_MODEL_FIXTURE_H
#define RAD_MODEL_FIXTURE_H

#include <stdlib.h>
#include <string.h>
#include "batch.h"
#include "model.h"
#include "rng.h"

/* One sequence: prompt then completion, at (row, start) of the batch. */
typedef struct fx_seq {
	int row, start;
	const int *prompt;
	int np;
	const int *comp;
	int nc;
	int pair, chosen;
} fx_seq;

/* Builds b the way batch.h describes: positions from 0, segment = s, targets = next
 * token of the same sequence, loss_mask on completion targets, padding -1 / 0. */
static void fx_batch(rad_batch *b, int rows, int cols, int nseq, int npair, const fx_seq *q)
{
	rad_batch_alloc(b, rows, cols, nseq, npair);
	for (int i = 0; i < rows * cols; i++) { b->segment[i] = -1; b->targets[i] = -1; }
	for (int s = 0; s < nseq; s++) {
		int len = q[s].np + q[s].nc;
		b->seq_row[s] = q[s].row;
		b->seq_start[s] = q[s].start;
		b->seq_len[s] = len;
		b->seq_pair[s] = q[s].pair;
		b->seq_chosen[s] = (uint8_t)q[s].chosen;
		for (int j = 0; j < len; j++) {
			int at = q[s].row * cols + q[s].start + j;
			b->tokens[at] = j < q[s].np ? q[s].prompt[j] : q[s].comp[j - q[s].np];
			b->position[at] = j;
			b->segment[at] = s;
			if (j + 1 < len) {
				b->targets[at] = j + 1 < q[s].np ? q[s].prompt[j + 1] : q[s].comp[j + 1 - q[s].np];
				b->loss_mask[at] = j + 1 >= q[s].np;
			}
		}
	}
	for (int p = 0; p < npair; p++) {
		char id[32];
		snprintf(id, sizeof id, "p%d", p);
		b->pair_id[p] = strdup(id);
		b->goal[p] = strdup("");
	}
}

/* A tiny GPT-2 with weights large enough that every gradient is clearly non-zero. */
static rad_model *fx_model(int vocab, int ctx, int layers, int heads, int dim, uint64_t seed, double gain)
{
	rad_model_config c;
	rad_model_config_gpt2(&c, vocab, ctx, layers, heads, dim);
	const char *err = NULL;
	rad_model *m = rad_model_new(&c, &err);
	rad_model_init(m, seed);
	rad_rng r;
	rad_rng_seed(&r, seed + 7);
	for (int i = 0; i < m->ntensors; i++) {
		rad_model_tensor *t = &m->tensors[i];
		float *p = m->params + t->off;
		size_t n = (size_t)t->rows * t->cols;
		int vec = t->cols == 1;
		for (size_t j = 0; j < n; j++)
			p[j] = vec ? p[j] + (float)(0.1 * rad_rng_normal(&r)) : (float)(p[j] * gain);
	}
	return m;
}

#endif
