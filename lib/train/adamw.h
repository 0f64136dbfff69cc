/* train/adamw.h — AdamW (decoupled weight decay, as torch.optim.AdamW), learning-rate schedules
 * (HF's constant / linear / cosine with linear warm-up) and gradient clipping. */
#ifndef RAD_ADAMW_H
#define RAD_ADAMW_H

#include <stddef.h>
#include "nn/model.h"

typedef struct rad_adamw {
	double beta1, beta2, eps, weight_decay;
	float *m, *v;          /* [nparams] first and second moments */
	size_t n;
	long step;             /* updates done */
} rad_adamw;

void rad_adamw_init(rad_adamw *a, size_t n);
void rad_adamw_free(rad_adamw *a);
/* One update of every trainable parameter (nn/model.h: the model's weights, or an
 * adapter's) with lr; weight decay only on tensors marked decay (not biases, not norm
 * weights).  The gradient is read times gscale (clipping: rad_grad_clip_scale) and left
 * zeroed for the next step: one pass over memory.  The moments are [p->n]. */
void rad_adamw_step(rad_adamw *a, const rad_trainable *p, double lr, float gscale);
/* The same update for the parameters [lo, hi) of p only, whose moments a holds (a->m[0]
 * is the moment of parameter lo): one rank's slice when the optimizer state is sharded
 * (ZeRO stage 1); only that part of the gradient is zeroed. */
void rad_adamw_step_slice(rad_adamw *a, const rad_trainable *p, double lr, float gscale, size_t lo, size_t hi);

enum rad_schedule { RAD_SCHED_CONSTANT, RAD_SCHED_LINEAR, RAD_SCHED_COSINE };
int rad_schedule_parse(const char *s);
/* The learning rate of update `step` (0-based) of `total`, after `warmup` warm-up steps. */
double rad_lr_at(int sched, double lr, long step, long warmup, long total);

/* The global L2 norm of grads[n] (double, deterministic order). */
double rad_grad_norm(const float *g, size_t n);
/* The factor torch's clip_grad_norm_ scales by: max_norm / (norm + 1e-6) when norm >
 * max_norm > 0, else 1. */
float rad_grad_clip_scale(double norm, double max_norm);

#endif
