/* train/batch_part.c — one rank's part of a training batch (batch_part.h). */
#include <stdlib.h>
#include <string.h>
#include "base/cli.h"
#include "train/batch_part.h"

long rad_batch_chosen_tokens(const rad_batch *b)
{
	long n = 0;
	for (int s = 0; s < b->nseq; s++) {
		if (!b->seq_chosen[s]) continue;
		const uint8_t *mask = b->loss_mask + (size_t)b->seq_row[s] * b->cols + b->seq_start[s];
		for (int j = 0; j < b->seq_len[s]; j++) n += mask[j] != 0;
	}
	return n;
}

static void grow(rad_batch_part *p, size_t nseq, size_t npair)
{
	rad_batch *v = &p->b;
	if (nseq + 1 > p->cap_seq) {
		p->cap_seq = nseq + 1;
		v->seq_row = rad_realloc(v->seq_row, sizeof(int32_t) * p->cap_seq);
		v->seq_start = rad_realloc(v->seq_start, sizeof(int32_t) * p->cap_seq);
		v->seq_len = rad_realloc(v->seq_len, sizeof(int32_t) * p->cap_seq);
		v->seq_pair = rad_realloc(v->seq_pair, sizeof(int32_t) * p->cap_seq);
		v->seq_chosen = rad_realloc(v->seq_chosen, p->cap_seq);
		p->ref_logp = rad_realloc(p->ref_logp, sizeof(double) * p->cap_seq);
		p->ref_ntok = rad_realloc(p->ref_ntok, sizeof(int32_t) * p->cap_seq);
	}
	if (npair + 1 > p->cap_pair) {
		p->cap_pair = npair + 1;
		p->pair = rad_realloc(p->pair, sizeof(int32_t) * p->cap_pair);
		v->pair_id = rad_realloc(v->pair_id, sizeof(char *) * p->cap_pair);
		v->goal = rad_realloc(v->goal, sizeof(char *) * p->cap_pair);
		v->score_chosen = rad_realloc(v->score_chosen, sizeof(double) * p->cap_pair);
		v->score_rejected = rad_realloc(v->score_rejected, sizeof(double) * p->cap_pair);
	}
}

void rad_batch_part_take(rad_batch_part *p, const rad_batch *b, int rank, int ranks, int chosen_only)
{
	int P = b->npair, S = b->nseq;
	/* each pair's tokens, and the rank its middle falls to */
	long *tok = rad_calloc(P + 1, sizeof *tok), total = 0;
	for (int s = 0; s < S; s++)
		if (!chosen_only || b->seq_chosen[s]) tok[b->seq_pair[s]] += b->seq_len[s];
	for (int q = 0; q < P; q++) total += tok[q];
	int *owner = rad_malloc(sizeof(int) * (P + 1));
	long before = 0;
	for (int q = 0; q < P; q++) {
		/* twice the middle against twice the total, in integers */
		long k = total > 0 ? (long)((double)ranks * (2 * before + tok[q]) / (2.0 * total))
		                   : (long)((double)ranks * (2 * q + 1) / (2.0 * P));
		owner[q] = k < ranks ? (int)k : ranks - 1;
		before += tok[q];
	}
	grow(p, S, P);
	rad_batch *v = &p->b;
	int32_t *renum = rad_malloc(sizeof(int32_t) * (P + 1));
	int np = 0, ns = 0;
	for (int q = 0; q < P; q++) {
		renum[q] = -1;
		if (owner[q] != rank) continue;
		renum[q] = np;
		p->pair[np] = q;
		v->pair_id[np] = b->pair_id[q];
		v->goal[np] = b->goal[q];
		v->score_chosen[np] = b->score_chosen[q];
		v->score_rejected[np] = b->score_rejected[q];
		np++;
	}
	for (int s = 0; s < S; s++) {
		int q = b->seq_pair[s];
		if (renum[q] < 0 || (chosen_only && !b->seq_chosen[s])) continue;
		v->seq_row[ns] = b->seq_row[s];
		v->seq_start[ns] = b->seq_start[s];
		v->seq_len[ns] = b->seq_len[s];
		v->seq_pair[ns] = renum[q];
		v->seq_chosen[ns] = b->seq_chosen[s];
		if (b->ref_logp) p->ref_logp[ns] = b->ref_logp[s];
		if (b->ref_ntok) p->ref_ntok[ns] = b->ref_ntok[s];
		ns++;
	}
	v->rows = b->rows;
	v->cols = b->cols;
	v->tokens = b->tokens;
	v->targets = b->targets;
	v->segment = b->segment;
	v->position = b->position;
	v->loss_mask = b->loss_mask;
	v->ref_logp = b->ref_logp ? p->ref_logp : NULL;
	v->ref_ntok = b->ref_ntok ? p->ref_ntok : NULL;
	v->nseq = ns;
	v->npair = np;
	free(tok);
	free(owner);
	free(renum);
}

void rad_batch_part_free(rad_batch_part *p)
{
	rad_batch *v = &p->b;
	free(v->seq_row); free(v->seq_start); free(v->seq_len); free(v->seq_pair); free(v->seq_chosen);
	free(p->ref_logp); free(p->ref_ntok);
	free(v->pair_id); free(v->goal); free(v->score_chosen); free(v->score_rejected);
	free(p->pair);
	memset(p, 0, sizeof *p);
}
