/* train/adamw.c — AdamW, schedules, global-norm clipping.
 *   g = gscale g;  p -= lr wd p  (decay tensors only);  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "train/adamw.h"
#include "base/cli.h"

void rad_adamw_init(rad_adamw *a, size_t n)
{
	a->m = rad_calloc(n ? n : 1, sizeof(float));
	a->v = rad_calloc(n ? n : 1, sizeof(float));
	a->n = n;
	a->step = 0;
}

void rad_adamw_free(rad_adamw *a)
{
	free(a->m);
	free(a->v);
	a->m = a->v = NULL;
}

void rad_adamw_step(rad_adamw *a, const rad_trainable *tp, double lr, float gscale)
{
	rad_adamw_step_slice(a, tp, lr, gscale, 0, tp->n);
}

void rad_adamw_step_slice(rad_adamw *a, const rad_trainable *tp, double lr, float gscale, size_t lo, size_t hi)
{
	a->step++;
	double bc1 = 1 - pow(a->beta1, (double)a->step), bc2 = 1 - pow(a->beta2, (double)a->step);
	float step_size = (float)(lr / bc1), rbc2 = (float)(1 / sqrt(bc2)), eps = (float)a->eps;
	float b1 = (float)a->beta1, b2 = (float)a->beta2;
	for (int i = 0; i < tp->ntensors; i++) {
		const rad_model_tensor *t = &tp->tensors[i];
		/* the part of the tensor inside [lo, hi) */
		size_t from = t->off > lo ? t->off : lo, to = t->off + (size_t)t->rows * t->cols;
		if (to > hi) to = hi;
		if (from >= to) continue;
		size_t n = to - from;
		float *p = tp->params + from, *g = tp->grads + from, *mm = a->m + (from - lo), *vv = a->v + (from - lo);
		float decay = t->decay ? (float)(1 - lr * a->weight_decay) : 1.0f;
		#pragma omp parallel for schedule(static)
		for (size_t j = 0; j < n; j++) {
			float gj = g[j] * gscale;
			g[j] = 0.0f;
			p[j] *= decay;
			mm[j] = b1 * mm[j] + (1 - b1) * gj;
			vv[j] = b2 * vv[j] + (1 - b2) * gj * gj;
			p[j] -= step_size * mm[j] / (sqrtf(vv[j]) * rbc2 + eps);
		}
	}
}

int rad_schedule_parse(const char *s)
{
	if (!strcmp(s, "constant")) return RAD_SCHED_CONSTANT;
	if (!strcmp(s, "linear")) return RAD_SCHED_LINEAR;
	if (!strcmp(s, "cosine")) return RAD_SCHED_COSINE;
	return -1;
}

double rad_lr_at(int sched, double lr, long step, long warmup, long total)
{
	if (step < warmup) return lr * (double)step / (double)(warmup > 1 ? warmup : 1);
	if (sched == RAD_SCHED_CONSTANT) return lr;
	double span = (double)(total - warmup > 1 ? total - warmup : 1);
	if (sched == RAD_SCHED_LINEAR) {
		double f = (double)(total - step) / span;
		return lr * (f > 0 ? f : 0);
	}
	double prog = (double)(step - warmup) / span;
	double f = 0.5 * (1 + cos(M_PI * prog));
	return lr * (f > 0 ? f : 0);
}

double rad_grad_norm(const float *g, size_t n)
{
	/* fixed blocks summed in order: the same bits whatever the thread count */
	enum { BLK = 1 << 16 };
	size_t nb = (n + BLK - 1) / BLK;
	double *part = rad_calloc(nb ? nb : 1, sizeof(double));
	#pragma omp parallel for schedule(static)
	for (size_t b = 0; b < nb; b++) {
		size_t e = (b + 1) * BLK < n ? (b + 1) * BLK : n;
		double s = 0;
		for (size_t i = b * BLK; i < e; i++) s += (double)g[i] * g[i];
		part[b] = s;
	}
	double s = 0;
	for (size_t b = 0; b < nb; b++) s += part[b];
	free(part);
	return sqrt(s);
}

float rad_grad_clip_scale(double norm, double max_norm)
{
	if (max_norm <= 0 || norm <= max_norm) return 1.0f;
	return (float)(max_norm / (norm + 1e-6));
}
