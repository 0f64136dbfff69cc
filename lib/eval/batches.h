/* eval/batches.h — rad-eval's measurements on held-out batches (man 1 rad-eval).
 *
 * Both read "batches" streams (rad-pack, rad-logps), run each model over every batch and
 * keep the pairs that pass every filter. */
#ifndef RAD_EVAL_BATCHES_H
#define RAD_EVAL_BATCHES_H

#include <jansson.h>
#include "eval/metrics.h"
#include "nn/model.h"
#include "stream/batch.h"

typedef struct rad_eval_filter {
	rad_where *where;
	int n;
} rad_eval_filter;

/* Preference metrics of the policy m against the batches' ref_logp (rad-logps must have
 * run): overall, by goal and by score gap.  Returns the report object. */
json_t *rad_eval_prefs(rad_model *m, const char *model_name, double beta, const rad_eval_filter *f,
                       char **inputs, int ninputs);

/* The likelihood report: for each model (and the reference when the batches carry
 * ref_logp), the summed and per-token log-probs of chosen and rejected responses over the
 * pairs that pass the filter; with two models, second minus first. */
json_t *rad_eval_likelihood(rad_model **models, const char **names, int nmodels, const rad_eval_filter *f,
                            char **inputs, int ninputs);

/* NULL, or a message naming the first sequence of b whose log-prob lp[s] is not finite
 * (NaN or infinite weights give such log-probs; they must stop a run, not become nulls or
 * poison a mean).  whose: "the model's" or "the reference". */
const char *rad_batch_check_logps(const rad_batch *b, const double *lp, const char *whose, char *msg, size_t n);

#endif
