/* base/farm.c — items in turn to the ranks, results back in order (farm.h). */
#include <stdlib.h>
#include "base/cli.h"
#include "base/dist.h"
#include "base/farm.h"

struct rad_farm {
	long next;             /* index of the next item rank 0 hands out */
	int *pending;          /* ranks whose results rank 0 has still to take, in item order */
	long npending, cap;
	void *buf;             /* items (other ranks) and results (rank 0) as they arrive */
	size_t buf_cap;
};

rad_farm *rad_farm_open(void)
{
	return rad_calloc(1, sizeof(rad_farm));
}

int rad_farm_hand(rad_farm *f, const void *item, size_t n)
{
	int to = (int)(f->next++ % rad_dist_size());
	if (to == 0) return 1;
	rad_dist_send(to, item, n);
	if (f->npending == f->cap) f->pending = rad_realloc(f->pending, sizeof(int) * (f->cap = f->cap * 2 + 8));
	f->pending[f->npending++] = to;
	return 0;
}

void rad_farm_drain(rad_farm *f, rad_farm_put put, void *ctx)
{
	for (long i = 0; i < f->npending; i++) {
		size_t n = rad_dist_recv(f->pending[i], &f->buf, &f->buf_cap);
		put(ctx, f->buf, n);
	}
	f->npending = 0;
}

size_t rad_farm_take(rad_farm *f, const void **item)
{
	size_t n = rad_dist_recv(0, &f->buf, &f->buf_cap);
	*item = f->buf;
	return n;
}

void rad_farm_give(rad_farm *f, const void *result, size_t n)
{
	(void)f;
	rad_dist_send(0, result, n);
}

void rad_farm_close(rad_farm *f)
{
	if (rad_dist_rank() == 0)
		for (int k = 1; k < rad_dist_size(); k++) rad_dist_send(k, "", 0);
	free(f->pending);
	free(f->buf);
	free(f);
}
