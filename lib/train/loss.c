/* train/loss.c — SFT, DPO (with label smoothing), IPO and hinge losses and their gradients. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/cli.h"
#include "train/loss.h"

int rad_loss_kind_parse(const char *s)
{
	if (!strcmp(s, "sft")) return RAD_LOSS_SFT;
	if (!strcmp(s, "dpo") || !strcmp(s, "sigmoid")) return RAD_LOSS_DPO;
	if (!strcmp(s, "ipo")) return RAD_LOSS_IPO;
	if (!strcmp(s, "hinge")) return RAD_LOSS_HINGE;
	return -1;
}

const char *rad_loss_kind_name(int kind)
{
	static const char *n[] = {"sft", "dpo", "ipo", "hinge"};
	return kind >= 0 && kind < 4 ? n[kind] : "?";
}

/* log sigmoid(x), stable for large |x| */
static double log_sigmoid(double x) { return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); }
static double sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }

const char *rad_loss_compute(const rad_loss_opts *o, const rad_batch *b, const double *logp, const int32_t *ntok,
                             double scale, double *dlogp, rad_loss_stats *st, double *reward_c, double *reward_r)
{
	rad_loss_whole w = {b->npair, 0};
	for (int s = 0; s < b->nseq; s++)
		if (b->seq_chosen[s]) w.chosen_tokens += ntok[s];
	return rad_loss_compute_part(o, b, logp, ntok, scale, &w, dlogp, st, reward_c, reward_r);
}

const char *rad_loss_compute_part(const rad_loss_opts *o, const rad_batch *b, const double *logp, const int32_t *ntok,
                                  double scale, const rad_loss_whole *whole, double *dlogp, rad_loss_stats *st,
                                  double *reward_c, double *reward_r)
{
	static __thread char msg[200];
	int S = b->nseq, P = b->npair;
	for (int s = 0; s < S; s++) dlogp[s] = 0;
	/* the NLL term: SFT itself, or RPO's sft_weight */
	double w_nll = o->kind == RAD_LOSS_SFT ? 1.0 : o->sft_weight;
	long tokens = 0, all_tokens = whole->chosen_tokens;
	double nll = 0;
	for (int s = 0; s < S; s++)
		if (b->seq_chosen[s]) { tokens += ntok[s]; nll -= logp[s]; }
	st->nll += nll;
	st->chosen_tokens += tokens;
	double loss = 0;
	if (w_nll != 0) {
		if (all_tokens == 0) return "no completion token in the chosen sequences of this batch";
		loss += w_nll * nll / all_tokens;
		for (int s = 0; s < S; s++)
			if (b->seq_chosen[s]) dlogp[s] += -w_nll * scale / all_tokens;
	}
	if (o->kind == RAD_LOSS_SFT) {
		st->loss += scale * loss;
		return NULL;
	}
	if (!b->ref_logp || !b->ref_ntok) return "no ref_logp in the batch (run rad-logps on the batches first)";
	if (P <= 0) return "the batch has no pairs";
	int *ci = rad_malloc(sizeof(int) * P), *ri = rad_malloc(sizeof(int) * P);
	for (int p = 0; p < P; p++) ci[p] = ri[p] = -1;
	for (int s = 0; s < S; s++) {
		int p = b->seq_pair[s];
		if (p < 0 || p >= P) continue;
		if (b->seq_chosen[s]) ci[p] = s; else ri[p] = s;
	}
	double beta = o->beta, eps = o->label_smoothing, pref = 0;
	for (int p = 0; p < P; p++) {
		int c = ci[p], r = ri[p];
		if (c < 0 || r < 0) {
			free(ci); free(ri);
			snprintf(msg, sizeof msg, "pair %d lacks its %s sequence", p, c < 0 ? "chosen" : "rejected");
			return msg;
		}
		double pc = logp[c], pr = logp[r], rc = b->ref_logp[c], rr = b->ref_logp[r];
		double kc = 1, kr = 1;    /* d(used log-prob)/d(summed log-prob) */
		if (o->kind == RAD_LOSS_IPO) {
			if (ntok[c] == 0 || ntok[r] == 0 || b->ref_ntok[c] == 0 || b->ref_ntok[r] == 0) {
				free(ci); free(ri);
				snprintf(msg, sizeof msg, "pair %d: a sequence without completion tokens (ipo averages over them)", p);
				return msg;
			}
			kc = 1.0 / ntok[c];
			kr = 1.0 / ntok[r];
			pc *= kc; pr *= kr;
			rc /= b->ref_ntok[c];
			rr /= b->ref_ntok[r];
		}
		double d = (pc - rc) - (pr - rr), z = beta * d, l, dd;
		switch (o->kind) {
		case RAD_LOSS_DPO:
			l = -(1 - eps) * log_sigmoid(z) - eps * log_sigmoid(-z);
			dd = beta * (-(1 - eps) * sigmoid(-z) + eps * sigmoid(z));
			break;
		case RAD_LOSS_IPO:
			l = (d - 1 / (2 * beta)) * (d - 1 / (2 * beta));
			dd = 2 * (d - 1 / (2 * beta));
			break;
		default: /* hinge */
			l = 1 - z > 0 ? 1 - z : 0;
			dd = 1 - z > 0 ? -beta : 0;
			break;
		}
		pref += l;
		dlogp[c] += scale * dd * kc / whole->pairs;
		dlogp[r] -= scale * dd * kr / whole->pairs;
		double rwc = beta * (pc - rc), rwr = beta * (pr - rr);
		if (reward_c) reward_c[p] = rwc;
		if (reward_r) reward_r[p] = rwr;
		st->rewards_chosen += rwc;
		st->rewards_rejected += rwr;
		st->correct += rwc > rwr;
		st->margins += rwc - rwr;
		st->logps_chosen += pc;
		st->logps_rejected += pr;
	}
	st->pairs += P;
	free(ci);
	free(ri);
	st->loss += scale * (loss + pref / whole->pairs);
	return NULL;
}
