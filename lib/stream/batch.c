/* stream/batch.c — BTCH records <-> rad_batch, with every index checked on the way in. */
#include "stream/batch.h"
#include "base/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rad_batch_alloc(rad_batch *b, int rows, int cols, int nseq, int npair)
{
	memset(b, 0, sizeof *b);
	size_t n = (size_t)rows * cols;
	b->rows = rows; b->cols = cols; b->nseq = nseq; b->npair = npair;
	b->tokens = rad_calloc(n, sizeof *b->tokens);
	b->targets = rad_calloc(n, sizeof *b->targets);
	b->segment = rad_calloc(n, sizeof *b->segment);
	b->position = rad_calloc(n, sizeof *b->position);
	b->loss_mask = rad_calloc(n, 1);
	b->seq_row = rad_calloc(nseq, sizeof(int32_t));
	b->seq_start = rad_calloc(nseq, sizeof(int32_t));
	b->seq_len = rad_calloc(nseq, sizeof(int32_t));
	b->seq_pair = rad_calloc(nseq, sizeof(int32_t));
	b->seq_chosen = rad_calloc(nseq, 1);
	b->pair_id = rad_calloc(npair, sizeof(char *));
	b->goal = rad_calloc(npair, sizeof(char *));
	b->score_chosen = rad_calloc(npair, sizeof(double));
	b->score_rejected = rad_calloc(npair, sizeof(double));
}

void rad_batch_free(rad_batch *b)
{
	free(b->tokens); free(b->targets); free(b->segment); free(b->position); free(b->loss_mask);
	free(b->seq_row); free(b->seq_start); free(b->seq_len); free(b->seq_pair); free(b->seq_chosen);
	for (int i = 0; i < b->npair; i++) {
		if (b->pair_id) free(b->pair_id[i]);
		if (b->goal) free(b->goal[i]);
	}
	free(b->pair_id); free(b->goal); free(b->score_chosen); free(b->score_rejected);
	free(b->ref_logp); free(b->ref_ntok);
	memset(b, 0, sizeof *b);
}

void rad_batch_to_rec(const rad_batch *b, rad_rec *r)
{
	uint32_t n = (uint32_t)b->rows * b->cols, s = b->nseq, p = b->npair;
	rad_rec_reset(r, RAD_REC_BATCH);
	rad_rec_put_int(r, "rows", b->rows);
	rad_rec_put_int(r, "cols", b->cols);
	rad_rec_put_i32s(r, "tokens", b->tokens, n);
	rad_rec_put_i32s(r, "targets", b->targets, n);
	rad_rec_put_u8s(r, "loss_mask", b->loss_mask, n);
	rad_rec_put_i32s(r, "segment", b->segment, n);
	rad_rec_put_i32s(r, "position", b->position, n);
	rad_rec_put_i32s(r, "seq_row", b->seq_row, s);
	rad_rec_put_i32s(r, "seq_start", b->seq_start, s);
	rad_rec_put_i32s(r, "seq_len", b->seq_len, s);
	rad_rec_put_i32s(r, "seq_pair", b->seq_pair, s);
	rad_rec_put_u8s(r, "seq_chosen", b->seq_chosen, s);
	rad_rec_put_strs(r, "pair_id", (const char *const *)b->pair_id, p);
	rad_rec_put_strs(r, "goal", (const char *const *)b->goal, p);
	rad_rec_put_f64s(r, "score_chosen", b->score_chosen, p);
	rad_rec_put_f64s(r, "score_rejected", b->score_rejected, p);
	if (b->ref_logp) rad_rec_put_f64s(r, "ref_logp", b->ref_logp, s);
	if (b->ref_ntok) rad_rec_put_i32s(r, "ref_ntok", b->ref_ntok, s);
}

static char msg[160];

/* Fetches a field of the given dtype and count into dst; returns 0 and sets msg if wrong. */
static int take(const rad_rec *r, const char *name, int dtype, size_t count, void *dst, size_t esize)
{
	const rad_field *f = rad_rec_get(r, name);
	if (!f || f->dtype != dtype || f->count != count) {
		snprintf(msg, sizeof msg, "BTCH record: field '%s' %s (want %s[%zu])", name,
			!f ? "missing" : f->dtype != dtype ? "has the wrong type" : "has the wrong length",
			rad_dtype_name(dtype), count);
		return 0;
	}
	memcpy(dst, f->data, count * esize);
	return 1;
}

static int take_strs(const rad_rec *r, const char *name, int npair, char **dst)
{
	const rad_field *f = rad_rec_get(r, name);
	if (!f || f->dtype != RAD_STRS || f->count != (uint32_t)npair) {
		snprintf(msg, sizeof msg, "BTCH record: string list '%s' missing or not %d long", name, npair);
		return 0;
	}
	for (int i = 0; i < npair; i++) {
		uint32_t len;
		const char *s = rad_rec_strs_at(f, i, &len);
		if (memchr(s, 0, len)) {   /* a C string from here on: cut at the NUL, two ids would be one */
			snprintf(msg, sizeof msg, "BTCH record: string %d of '%s' holds a NUL", i, name);
			return 0;
		}
		dst[i] = rad_malloc(len + 1);
		memcpy(dst[i], s, len);
		dst[i][len] = 0;
	}
	return 1;
}

const char *rad_batch_from_rec(const rad_rec *r, rad_batch *b)
{
	rad_batch_free(b);
	if (r->type != RAD_REC_BATCH) return "not a BTCH record";
	int64_t rows = rad_rec_int(r, "rows", -1), cols = rad_rec_int(r, "cols", -1);
	if (rows < 0 || cols < 0 || rows > (1 << 20) || cols > (1 << 24) || rows * cols > (1 << 28))
		return "BTCH record: rows/cols missing or out of range";
	const rad_field *fs = rad_rec_get(r, "seq_row"), *fp = rad_rec_get(r, "score_chosen");
	if (!fs || !fp) return "BTCH record: seq_row or score_chosen missing";
	int nseq = fs->count, npair = fp->count;
	rad_batch_alloc(b, rows, cols, nseq, npair);
	size_t n = (size_t)rows * cols;
	if (!take(r, "tokens", RAD_I32, n, b->tokens, 4) || !take(r, "targets", RAD_I32, n, b->targets, 4) ||
	    !take(r, "loss_mask", RAD_U8, n, b->loss_mask, 1) || !take(r, "segment", RAD_I32, n, b->segment, 4) ||
	    !take(r, "position", RAD_I32, n, b->position, 4) ||
	    !take(r, "seq_row", RAD_I32, nseq, b->seq_row, 4) || !take(r, "seq_start", RAD_I32, nseq, b->seq_start, 4) ||
	    !take(r, "seq_len", RAD_I32, nseq, b->seq_len, 4) || !take(r, "seq_pair", RAD_I32, nseq, b->seq_pair, 4) ||
	    !take(r, "seq_chosen", RAD_U8, nseq, b->seq_chosen, 1) ||
	    !take(r, "score_chosen", RAD_F64, npair, b->score_chosen, 8) ||
	    !take(r, "score_rejected", RAD_F64, npair, b->score_rejected, 8) ||
	    !take_strs(r, "pair_id", npair, b->pair_id) || !take_strs(r, "goal", npair, b->goal))
		goto bad;
	if (rad_rec_get(r, "ref_logp")) {
		b->ref_logp = rad_malloc(nseq * sizeof(double) + 1);
		if (!take(r, "ref_logp", RAD_F64, nseq, b->ref_logp, 8)) goto bad;
	}
	if (rad_rec_get(r, "ref_ntok")) {
		b->ref_ntok = rad_malloc(nseq * sizeof(int32_t) + 1);
		if (!take(r, "ref_ntok", RAD_I32, nseq, b->ref_ntok, 4)) goto bad;
	}
	/* Every index must point inside the batch, so no consumer ever checks again. */
	for (int s = 0; s < nseq; s++) {
		if (b->seq_row[s] < 0 || b->seq_row[s] >= rows || b->seq_start[s] < 0 || b->seq_len[s] < 1 ||
		    (int64_t)b->seq_start[s] + b->seq_len[s] > cols) {
			snprintf(msg, sizeof msg, "BTCH record: sequence %d lies outside its row", s);
			goto bad;
		}
		size_t base = (size_t)b->seq_row[s] * cols + b->seq_start[s];
		for (int t = 0; t < b->seq_len[s]; t++)
			if (b->segment[base + t] != s || b->position[base + t] != t) {
				snprintf(msg, sizeof msg, "BTCH record: sequence %d: segment or position wrong at its token %d", s, t);
				goto bad;
			}
		if (b->seq_pair[s] < 0 || b->seq_pair[s] >= npair) {
			snprintf(msg, sizeof msg, "BTCH record: sequence %d names pair %d of %d", s, b->seq_pair[s], npair);
			goto bad;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (b->segment[i] < -1 || b->segment[i] >= nseq) {
			snprintf(msg, sizeof msg, "BTCH record: segment id %d at position %zu is not a sequence", b->segment[i], i);
			goto bad;
		}
		if (b->position[i] < 0 || b->position[i] >= cols || b->loss_mask[i] > 1 || b->tokens[i] < 0 || b->targets[i] < -1) {
			snprintf(msg, sizeof msg, "BTCH record: bad position, mask, token or target at position %zu", i);
			goto bad;
		}
	}
	return NULL;
bad:
	return msg;
}
