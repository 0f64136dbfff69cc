/* base/farm.h — work handed out in turn to the ranks of an mpirun job (base/dist.h), the
 * results gathered on rank 0 in input order: how rad-logps and rad-eval run under mpirun.
 *
 * Rank 0 reads the input and writes the output; the other ranks only compute.  Item i
 * (0, 1, 2, ... in input order) belongs to rank i mod R: rank 0 sends each other rank its
 * items and computes its own, and it takes the others' results as it reaches them in
 * order.  In a single process every item is rank 0's own and nothing travels, so a tool
 * has one loop for both:
 *
 *   rank 0                                          the other ranks
 *   for each item:                                  while ((n = rad_farm_take(f, &item)))
 *       if (rad_farm_hand(f, item, n)) {                rad_farm_give(f, result, m);
 *           compute it;
 *           rad_farm_drain(f, put, ctx);   the results before it, in order
 *           put its result;
 *       }
 *   rad_farm_drain(f, put, ctx);  (also before writing anything that is not an item)
 *   rad_farm_close(f);            the others' rad_farm_take returns 0
 *
 * Rank 0 drains before it writes its own result, so a rank gets its next item only after
 * its last result was taken: neither side ever waits for the other in a circle.  Items
 * and results are bytes (never empty: an empty item ends the work). */
#ifndef RAD_FARM_H
#define RAD_FARM_H

#include <stddef.h>

typedef struct rad_farm rad_farm;
/* Receives one result, in order, on rank 0. */
typedef void (*rad_farm_put)(void *ctx, const void *result, size_t n);

rad_farm *rad_farm_open(void);
/* Rank 0: the next item; 1 when it is rank 0's own to compute, 0 when it was sent. */
int rad_farm_hand(rad_farm *f, const void *item, size_t n);
/* Rank 0: the results of every item handed out so far, in order, to put. */
void rad_farm_drain(rad_farm *f, rad_farm_put put, void *ctx);
/* The other ranks: the next item (into a buffer the farm keeps), 0 at the end. */
size_t rad_farm_take(rad_farm *f, const void **item);
/* The other ranks: the result of the item just taken, to rank 0. */
void rad_farm_give(rad_farm *f, const void *result, size_t n);
/* Rank 0: ends the other ranks' work; everyone: frees. */
void rad_farm_close(rad_farm *f);

#endif
