/* nn/decode.h — batched generation steps over the key/value cache of model.h.
 *
 * rad_model_decode (model.h) feeds n tokens to one slot; these add the general form and
 * the batched step that generation uses. */
#ifndef RAD_DECODE_H
#define RAD_DECODE_H

#include <stdint.h>
#include "nn/model.h"

/* Feeds n rows: row r is token tok[r] of slot slot[r], at that slot's next position (rows
 * of one slot in order).  logits[nout, V] gets the logits after rows out_rows[nout].
 * Returns NULL or a message (bad slot or token, cache full, unsupported model). */
const char *rad_decode_rows(rad_model *m, rad_kv_cache *kv, int n, const int *slot, const int32_t *tok,
                            int nout, const int *out_rows, float *logits);
/* One token for each of slots[n]; logits[n, V], row i for slots[i].  Each slot's logits
 * are the same bits whatever the other slots of the step are. */
const char *rad_model_decode_step(rad_model *m, rad_kv_cache *kv, int n, const int *slots, const int32_t *tok,
                                  float *logits);

#endif
