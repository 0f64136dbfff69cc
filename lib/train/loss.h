/* train/loss.h — training objectives on per-sequence completion log-probs, with their gradient.
 *
 * Every objective reads the policy's summed completion log-prob of each sequence
 * (logp[S], from rad_model_forward) and, for the preference losses, the reference's
 * (the batch's ref_logp, written by rad-logps), and writes d loss / d logp[S], which
 * rad_model_backward turns into weight gradients.  Pairs are the batch's (seq_pair,
 * seq_chosen); the loss of a batch is the mean over its pairs.
 *
 *   sft    mean NLL over the completion tokens of the chosen sequences
 *   dpo    z = beta ((pc - rc) - (pr - rr));  -(1 - eps) log sigmoid(z) - eps log sigmoid(-z)
 *   ipo    ((pc - rc) - (pr - rr) - 1 / (2 beta))^2, with log-probs averaged over tokens
 *   hinge  max(0, 1 - z)
 * plus sft_weight times the SFT term for a preference loss (RPO).  rewards = beta (p - r). */
#ifndef RAD_LOSS_H
#define RAD_LOSS_H

#include <stdint.h>
#include "stream/batch.h"

enum rad_loss_kind { RAD_LOSS_SFT, RAD_LOSS_DPO, RAD_LOSS_IPO, RAD_LOSS_HINGE };

typedef struct rad_loss_opts {
	int kind;
	double beta, label_smoothing, sft_weight;
} rad_loss_opts;

/* Sums over the pairs (and tokens) seen, so several batches can be added up. */
typedef struct rad_loss_stats {
	double loss;                 /* sum of scale x batch loss */
	long pairs;
	double rewards_chosen, rewards_rejected, correct, margins, logps_chosen, logps_rejected;
	double nll;                  /* summed NLL of chosen completion tokens */
	long chosen_tokens;
} rad_loss_stats;

/* Parses "sft", "dpo", "ipo", "hinge"; -1 if none. */
int rad_loss_kind_parse(const char *s);
const char *rad_loss_kind_name(int kind);

/* Computes the batch's loss; dlogp[S] = scale x d loss / d logp (written).  When
 * reward_c/reward_r are not NULL they get each pair's rewards ([P]).  Returns NULL or a
 * message (no ref_logp for a preference loss, a pair without both sequences, no chosen
 * completion token for sft). */
const char *rad_loss_compute(const rad_loss_opts *o, const rad_batch *b, const double *logp, const int32_t *ntok,
                             double scale, double *dlogp, rad_loss_stats *st, double *reward_c, double *reward_r);

/* The whole batch that b is a part of, when a process computes only some of a batch's
 * pairs (data-parallel training, train/trainer.h): a batch's loss is the mean over all its
 * pairs, and its NLL term the mean over all its chosen completion tokens, so a part
 * divides by the whole's counts, and the parts' losses and gradients add up to the
 * batch's own. */
typedef struct rad_loss_whole {
	long pairs;                  /* pairs of the whole batch */
	long chosen_tokens;          /* completion tokens of its chosen sequences */
} rad_loss_whole;
/* rad_loss_compute on a part b of a batch (whole pairs intact); st gets the part's sums. */
const char *rad_loss_compute_part(const rad_loss_opts *o, const rad_batch *b, const double *logp, const int32_t *ntok,
                                  double scale, const rad_loss_whole *whole, double *dlogp, rad_loss_stats *st,
                                  double *reward_c, double *reward_r);

#endif
