/* eval/batch_farm.c — batches scored in turn by the ranks (batch_farm.h).
 *
 * An item and a result are the same frame: u32 length of `where`, its bytes, u32 record
 * type, the record's field bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/cli.h"
#include "base/dist.h"
#include "base/farm.h"
#include "eval/batch_farm.h"

typedef struct frame { unsigned char *p; size_t n, cap; } frame;

static void frame_make(frame *f, const char *where, const rad_rec *r)
{
	uint32_t wl = (uint32_t)strlen(where), type = r->type;
	f->n = 8 + wl + r->len;
	if (f->n > f->cap) f->p = rad_realloc(f->p, f->cap = f->n);
	memcpy(f->p, &wl, 4);
	memcpy(f->p + 4, where, wl);
	memcpy(f->p + 4 + wl, &type, 4);
	memcpy(f->p + 8 + wl, r->buf, r->len);
}

/* Reads a frame back: where into w[wn], the record into r (parsed). */
static void frame_read(const void *data, size_t n, char *w, size_t wn, rad_rec *r)
{
	const unsigned char *p = data;
	uint32_t wl, type;
	memcpy(&wl, p, 4);
	memcpy(&type, p + 4 + wl, 4);
	snprintf(w, wn, "%.*s", (int)wl, (const char *)p + 4);
	size_t len = n - 8 - wl;
	memcpy(rad_rec_prepare(r, type, len), p + 8 + wl, len);
	const char *e = rad_rec_parse(r);
	if (e) rad_die(RAD_EXIT_DATA, w, "rank %d: a record came damaged: %s", rad_dist_rank(), e);
}

typedef struct run {
	const rad_batch_job *job;
	rad_rec res;
	char where[1200];
} run;

static void put_result(void *ctx, const void *data, size_t n)
{
	run *R = ctx;
	frame_read(data, n, R->where, sizeof R->where, &R->res);
	R->job->put(R->job->ctx, &R->res, R->where);
}

/* The other ranks: score what rank 0 hands over until it says the end. */
static void serve(const rad_batch_job *job, rad_farm *f)
{
	rad_rec in, out;
	rad_rec_init(&in);
	rad_rec_init(&out);
	rad_batch b = {0};
	frame fr = {0};
	char where[1200];
	const void *item;
	size_t n;
	while ((n = rad_farm_take(f, &item))) {
		frame_read(item, n, where, sizeof where, &in);
		const char *e = rad_batch_from_rec(&in, &b);
		if (e) rad_die(RAD_EXIT_DATA, where, "%s", e);
		job->score(job->ctx, &in, &b, where, &out);
		frame_make(&fr, where, &out);
		rad_farm_give(f, fr.p, fr.n);
	}
	free(fr.p);
	rad_batch_free(&b);
	rad_rec_free(&in);
	rad_rec_free(&out);
}

long long rad_batch_farm_run(const rad_batch_job *job, char **inputs, int ninputs)
{
	rad_farm *f = rad_farm_open();
	long long batches = 0;
	if (rad_dist_rank() != 0) {
		serve(job, f);
	} else {
		run R = {.job = job};
		rad_rec in, out;
		rad_rec_init(&in);
		rad_rec_init(&out);
		rad_rec_init(&R.res);
		rad_batch b = {0};
		frame fr = {0};
		for (int i = 0; i < ninputs; i++) {
			rad_reader *rd = rad_reader_open(inputs[i], RAD_KIND_BATCHES);
			if (job->begin) job->begin(job->ctx, rd, i);
			while (rad_reader_next(rd, &in)) {
				if (in.type != RAD_REC_BATCH) {
					rad_farm_drain(f, put_result, &R);
					if (job->other) job->other(job->ctx, &in);
					continue;
				}
				char where[1200];
				snprintf(where, sizeof where, "%s: record %lld", rad_reader_name(rd), rad_reader_record_no(rd));
				const char *e = rad_batch_from_rec(&in, &b);
				if (e) rad_die(RAD_EXIT_DATA, where, "%s", e);
				batches++;
				if (rad_dist_size() > 1) {   /* a single process keeps every batch: nothing to pack */
					frame_make(&fr, where, &in);
					if (!rad_farm_hand(f, fr.p, fr.n)) continue;
				}
				job->score(job->ctx, &in, &b, where, &out);
				rad_farm_drain(f, put_result, &R);
				job->put(job->ctx, &out, where);
			}
			rad_reader_close(rd);
		}
		rad_farm_drain(f, put_result, &R);
		free(fr.p);
		rad_batch_free(&b);
		rad_rec_free(&in);
		rad_rec_free(&out);
		rad_rec_free(&R.res);
	}
	rad_farm_close(f);
	if (rad_dist_size() > 1) rad_dist_bcast(&batches, sizeof batches);
	return batches;
}
