/* eval/batches.h — rad-eval's measurements on held-out batches (man 1 rad-eval).
 *
 * Both read "batches" streams (rad-pack, rad-logps), run each model over every batch and
 * keep the pairs that pass every filter. */
#ifndef RAD_EVAL_BATCHES_H
#define RAD_EVAL_BATCHES_H

#include <jansson.h>
#include "eval/metrics.h"
#include "nn/model.h"

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

#endif
