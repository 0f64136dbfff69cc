/* train/provenance.c — fingerprints of batches and the trajectory options (see provenance.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "train/provenance.h"
#include "base/cli.h"
#include "train/adamw.h"

static uint64_t hash_str(uint64_t h, const char *s)
{
	uint64_t n = s ? strlen(s) : UINT64_MAX;   /* NULL and "" differ */
	h = rad_hash64(&n, sizeof n, h);
	return s ? rad_hash64(s, n, h) : h;
}

uint64_t rad_batch_fingerprint(uint64_t h, const rad_batch *b)
{
	int32_t dims[5] = {b->rows, b->cols, b->nseq, b->npair, b->ref_logp != NULL};
	size_t n = (size_t)b->rows * b->cols, s = (size_t)b->nseq, p = (size_t)b->npair;
	h = rad_hash64(dims, sizeof dims, h);
	h = rad_hash64(b->tokens, n * sizeof *b->tokens, h);
	h = rad_hash64(b->targets, n * sizeof *b->targets, h);
	h = rad_hash64(b->segment, n * sizeof *b->segment, h);
	h = rad_hash64(b->position, n * sizeof *b->position, h);
	h = rad_hash64(b->loss_mask, n, h);
	h = rad_hash64(b->seq_row, s * sizeof *b->seq_row, h);
	h = rad_hash64(b->seq_start, s * sizeof *b->seq_start, h);
	h = rad_hash64(b->seq_len, s * sizeof *b->seq_len, h);
	h = rad_hash64(b->seq_pair, s * sizeof *b->seq_pair, h);
	h = rad_hash64(b->seq_chosen, s, h);
	for (size_t i = 0; i < p; i++) {
		h = hash_str(h, b->pair_id ? b->pair_id[i] : NULL);
		h = hash_str(h, b->goal ? b->goal[i] : NULL);
	}
	if (b->score_chosen) h = rad_hash64(b->score_chosen, p * sizeof(double), h);
	if (b->score_rejected) h = rad_hash64(b->score_rejected, p * sizeof(double), h);
	if (b->ref_logp) h = rad_hash64(b->ref_logp, s * sizeof(double), h);
	if (b->ref_ntok) h = rad_hash64(b->ref_ntok, s * sizeof(int32_t), h);
	return h;
}

json_t *rad_train_trajectory(const rad_train_opts *o, long warmup, long total)
{
	static const char *sched[] = {"constant", "linear", "cosine"};
	json_t *j = json_object();
	json_object_set_new(j, "loss", json_string(rad_loss_kind_name(o->loss.kind)));
	if (o->loss.kind != RAD_LOSS_SFT) {   /* what each loss reads of its parameters */
		json_object_set_new(j, "beta", json_real(o->loss.beta));
		if (o->loss.kind == RAD_LOSS_DPO) json_object_set_new(j, "label-smoothing", json_real(o->loss.label_smoothing));
		json_object_set_new(j, "sft-weight", json_real(o->loss.sft_weight));
	}
	json_object_set_new(j, "lr", json_real(o->lr));
	json_object_set_new(j, "schedule", json_string(sched[o->schedule]));
	json_object_set_new(j, "warmup-steps", json_integer(warmup));
	/* the span shapes a decaying schedule only */
	json_object_set_new(j, "total-steps", o->schedule != RAD_SCHED_CONSTANT && total > 0 ? json_integer(total) : json_null());
	json_object_set_new(j, "grad-accum", json_integer(o->accum));
	json_object_set_new(j, "clip", json_real(o->clip));
	json_object_set_new(j, "adam-beta1", json_real(o->adam_beta1));
	json_object_set_new(j, "adam-beta2", json_real(o->adam_beta2));
	json_object_set_new(j, "adam-eps", json_real(o->adam_eps));
	json_object_set_new(j, "weight-decay", json_real(o->weight_decay));
	json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
	if (o->lora.rank || o->adapter_dir) {   /* an adapter: what it is and where it starts */
		char targets[200] = "";
		for (unsigned k = 1; k <= RAD_LORA_C_FC; k <<= 1)
			if (o->lora.targets & k)
				snprintf(targets + strlen(targets), sizeof targets - strlen(targets), "%s%s", *targets ? "," : "",
				         rad_lora_kind_name(k));
		json_object_set_new(j, "lora-rank", json_integer(o->lora.rank));
		json_object_set_new(j, "lora-alpha", json_real(o->lora.alpha));
		json_object_set_new(j, "lora-dropout", o->lora.dropout >= 0 ? json_real(o->lora.dropout) : json_null());
		json_object_set_new(j, "lora-targets", *targets ? json_string(targets) : json_null());
		json_object_set_new(j, "lora-rslora", json_boolean(o->lora.rslora));
		json_object_set_new(j, "adapter", o->adapter_dir ? json_string(o->adapter_dir) : json_null());
	}
	return j;
}

/* A value as a person writes it: a real as the shortest decimal that reads back to it. */
static void show(char *out, size_t n, const json_t *v)
{
	if (json_is_real(v)) {
		double d = json_real_value(v);
		for (int prec = 6; prec <= 17; prec++) {
			snprintf(out, n, "%.*g", prec, d);
			if (strtod(out, NULL) == d) return;
		}
		return;
	}
	char *s = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
	snprintf(out, n, "%s", s ? s : "(not given)");
	free(s);
}

const char *rad_train_trajectory_diff(const json_t *was, const json_t *now)
{
	static char msg[2048];
	size_t len = 0;
	msg[0] = 0;
	const char *k;
	json_t *v;
	const json_t *sides[2] = {now, was};
	for (int side = 0; side < 2; side++) {
		json_object_foreach((json_t *)sides[side], k, v) {
			json_t *a = json_object_get(now, k), *b = json_object_get(was, k);
			if ((side == 1 && a) || (a && b && json_equal(a, b))) continue;   /* seen, or the same */
			char x[64], y[64];
			show(x, sizeof x, a);
			show(y, sizeof y, b);
			if (len < sizeof msg)
				len += snprintf(msg + len, sizeof msg - len, "%s--%s %s (the checkpoint: %s)", len ? ", " : "", k, x, y);
		}
	}
	return len ? msg : NULL;
}
