/* nn/model_io.c — HF checkpoint directories: config.json and model.safetensors. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/cli.h"
#include "nn/model.h"
#include "nn/safetensors.h"

static int geti(json_t *o, const char *k, int dflt)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static double getd(json_t *o, const char *k, double dflt)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : dflt;
}

static int getb(json_t *o, const char *k, int dflt)
{
	json_t *v = json_object_get(o, k);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* 1 when config.json names a sequence-classification model (a reward model):
 * architectures[0] is ...ForSequenceClassification. */
static int is_classifier(json_t *o)
{
	static const char suffix[] = "ForSequenceClassification";
	const char *a = json_string_value(json_array_get(json_object_get(o, "architectures"), 0));
	size_t n = a ? strlen(a) : 0, k = sizeof suffix - 1;
	return n > k && !strcmp(a + n - k, suffix);
}

/* A classification config's labels, counted as transformers counts them: the entries of
 * "id2label" (ids "0".."N-1", names unique), else "num_labels", else 2 named LABEL_0 and
 * LABEL_1.  NULL or why not. */
static const char *labels_read(json_t *o, rad_model_config *c)
{
	static __thread char msg[256];
	json_t *map = json_object_get(o, "id2label"), *nl = json_object_get(o, "num_labels");
	if (map && !json_is_null(map)) {
		if (!json_is_object(map)) return "\"id2label\" is not an object";
		size_t n = json_object_size(map);
		if (n < 1 || n > RAD_MAX_LABELS) {
			snprintf(msg, sizeof msg, "\"id2label\" has %zu labels: 1 to %d are supported", n, RAD_MAX_LABELS);
			return msg;
		}
		for (size_t i = 0; i < n; i++) {
			char key[24];
			snprintf(key, sizeof key, "%zu", i);
			json_t *v = json_object_get(map, key);
			size_t len = json_string_length(v);
			if (!json_is_string(v) || !len || len >= RAD_LABEL_LEN || strlen(json_string_value(v)) != len) {
				snprintf(msg, sizeof msg, "\"id2label\" has no name of 1 to %d bytes (no NUL) for id %zu", RAD_LABEL_LEN - 1, i);
				return msg;
			}
			memcpy(c->labels[i], json_string_value(v), len + 1);
			for (size_t j = 0; j < i; j++)
				if (!strcmp(c->labels[j], c->labels[i])) {
					snprintf(msg, sizeof msg, "\"id2label\" names ids %zu and %zu both \"%s\"", j, i, c->labels[i]);
					return msg;
				}
		}
		c->num_labels = (int)n;
		return NULL;
	}
	c->num_labels = json_is_integer(nl) ? (int)json_integer_value(nl) : 2;
	if (c->num_labels < 1 || c->num_labels > RAD_MAX_LABELS) {
		snprintf(msg, sizeof msg, "num_labels %d: 1 to %d are supported", c->num_labels, RAD_MAX_LABELS);
		return msg;
	}
	for (int i = 0; i < c->num_labels; i++) snprintf(c->labels[i], RAD_LABEL_LEN, "LABEL_%d", i);
	return NULL;
}

/* What in a Llama-family config.json this build cannot train, or NULL. */
static const char *llama_refusal(json_t *o, const char *mt, const rad_model_config *c)
{
	static __thread char msg[256];
	const char *act = json_string_value(json_object_get(o, "hidden_act"));
	if (act && strcmp(act, "silu")) {
		snprintf(msg, sizeof msg, "hidden_act \"%s\" is not supported (silu is)", act);
		return msg;
	}
	if (getb(o, "mlp_bias", 0)) return "mlp_bias: MLP biases are not supported";
	if (getb(o, "use_sliding_window", 0)) return "use_sliding_window: sliding-window attention is not supported";
	json_t *sw = json_object_get(o, "sliding_window");
	if (!strcmp(mt, "mistral") && json_is_integer(sw) && json_integer_value(sw) < c->ctx)
		return "sliding_window: sliding-window attention is not supported (set it to null or >= max_position_embeddings)";
	json_t *arch = json_array_get(json_object_get(o, "architectures"), 0);
	if (json_is_string(arch) && !strstr(json_string_value(arch), "ForCausalLM") && !is_classifier(o)) {
		snprintf(msg, sizeof msg, "architectures \"%s\": only causal language models (...ForCausalLM) and "
		         "sequence classifiers (...ForSequenceClassification) are supported", json_string_value(arch));
		return msg;
	}
	static const char *need[] = {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
	                             "intermediate_size"};
	for (size_t i = 0; i < sizeof need / sizeof *need; i++)
		if (!json_is_integer(json_object_get(o, need[i]))) {
			snprintf(msg, sizeof msg, "\"%s\" is missing", need[i]);
			return msg;
		}
	return NULL;
}

/* An integer, or the first of a list of integers (Llama-3's eos_token_id), else dflt. */
static int geti_first(json_t *o, const char *k, int dflt)
{
	json_t *v = json_object_get(o, k);
	if (json_is_array(v)) v = json_array_get(v, 0);
	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

/* One number of the rope block: *v from `key` in the block, or (for the keys transformers
 * also takes from there: top = 1) from the top level, or dflt when neither has it (dflt
 * < 0: required).  Two different values are refused: a file that transformers 4 (top
 * level) and 5 (the block) would read differently. */
static const char *rope_number(json_t *o, json_t *blk, const char *bname, const char *key, int top_too, double dflt,
                               double *v)
{
	static __thread char msg[256];
	json_t *in = blk ? json_object_get(blk, key) : NULL, *top = top_too ? json_object_get(o, key) : NULL;
	if (json_is_null(top)) top = NULL;
	if ((in && !json_is_number(in)) || (top && !json_is_number(top))) {
		snprintf(msg, sizeof msg, "%s \"%s\" is not a number", in && !json_is_number(in) ? bname : "top-level", key);
		return msg;
	}
	if (in && top && json_number_value(in) != json_number_value(top)) {
		snprintf(msg, sizeof msg, "\"%s\" is %.17g at the top level but %.17g in %s: which one the model was trained "
		         "with is not clear", key, json_number_value(top), json_number_value(in), bname);
		return msg;
	}
	if (!in && !top && dflt < 0) {
		snprintf(msg, sizeof msg, "%s: \"%s\" is missing", bname, key);
		return msg;
	}
	*v = in ? json_number_value(in) : top ? json_number_value(top) : dflt;
	if (!(*v > 0) || !isfinite(*v)) {
		snprintf(msg, sizeof msg, "\"%s\" must be a positive number, not %g", key, *v);
		return msg;
	}
	return NULL;
}

/* The rotary positions of a Llama-family config, in either layout transformers reads:
 * version 4's top-level "rope_theta" with a "rope_scaling" block, or version 5's
 * "rope_parameters" block holding rope_theta and the scaling ({"rope_type": "llama3",
 * "rope_theta": 500000.0, "factor": 8.0, ...}).  As in transformers 5, a rope_scaling
 * block stands for rope_parameters, values in the block win over top-level ones and
 * original_max_position_embeddings defaults to max_position_embeddings.  Anything this
 * build would not compute as transformers does is refused: another rope type, a key it
 * does not know (per-layer-type blocks among them), a partial rotary factor, two blocks
 * or two values that disagree.  NULL or why not. */
static const char *rope_read(json_t *o, rad_model_config *c)
{
	static __thread char msg[320];
	static const char *keys[] = {"rope_type", "type", "rope_theta", "factor", "low_freq_factor", "high_freq_factor",
	                             "original_max_position_embeddings", NULL};
	json_t *rs = json_object_get(o, "rope_scaling"), *rp = json_object_get(o, "rope_parameters");
	if (json_is_null(rs)) rs = NULL;
	if (json_is_null(rp)) rp = NULL;
	if ((rs && !json_is_object(rs)) || (rp && !json_is_object(rp)))
		return rs && !json_is_object(rs) ? "\"rope_scaling\" is not an object" : "\"rope_parameters\" is not an object";
	if (rs && rp && !json_equal(rs, rp))
		return "both \"rope_scaling\" and \"rope_parameters\" are given, and they differ";
	json_t *blk = rs ? rs : rp;
	const char *bname = rs ? "rope_scaling" : "rope_parameters";
	const char *ty = "default";
	if (blk) {
		const char *k;
		json_t *v;
		json_object_foreach(blk, k, v) {
			int known = 0;
			for (int i = 0; keys[i]; i++) known |= !strcmp(k, keys[i]);
			if (!known) {
				snprintf(msg, sizeof msg, "%s key \"%s\" is not understood%s", bname, k,
				         json_is_object(v) ? " (rope parameters per layer type are not supported)" : "");
				return msg;
			}
		}
		json_t *t1 = json_object_get(blk, "rope_type"), *t2 = json_object_get(blk, "type");
		if ((t1 && !json_is_string(t1)) || (t2 && !json_is_string(t2))) {
			snprintf(msg, sizeof msg, "%s: the rope type is not a string", bname);
			return msg;
		}
		if (t1 && t2 && strcmp(json_string_value(t1), json_string_value(t2))) {
			snprintf(msg, sizeof msg, "%s: \"rope_type\" and \"type\" differ", bname);
			return msg;
		}
		if (t1 || t2) ty = json_string_value(t1 ? t1 : t2);
	}
	json_t *prf = json_object_get(o, "partial_rotary_factor");
	if (prf && !json_is_null(prf) && !(json_is_number(prf) && json_number_value(prf) == 1))
		return "\"partial_rotary_factor\": rotating part of each head is not supported";
	double theta, factor, low, high, orig;
	const char *e = rope_number(o, blk, bname, "rope_theta", 1, 10000.0, &theta);
	if (e) return e;
	c->rope_theta = (float)theta;
	c->rope_scaling = RAD_ROPE_NONE;
	if (!strcmp(ty, "default")) {
		for (int i = 3; blk && keys[i]; i++)
			if (json_object_get(blk, keys[i])) {
				snprintf(msg, sizeof msg, "%s key \"%s\" has no meaning for the default rope type", bname, keys[i]);
				return msg;
			}
		return NULL;
	}
	if (strcmp(ty, "llama3")) {
		snprintf(msg, sizeof msg, "%s type \"%s\" is not supported (default and llama3 are)", bname, ty);
		return msg;
	}
	if ((e = rope_number(o, blk, bname, "factor", 0, -1, &factor)) ||
	    (e = rope_number(o, blk, bname, "low_freq_factor", 0, -1, &low)) ||
	    (e = rope_number(o, blk, bname, "high_freq_factor", 0, -1, &high)) ||
	    (e = rope_number(o, blk, bname, "original_max_position_embeddings", 1, c->ctx, &orig)))
		return e;
	if (!(high > low)) {
		snprintf(msg, sizeof msg, "%s: high_freq_factor %g must be above low_freq_factor %g", bname, high, low);
		return msg;
	}
	if (orig > 1 << 30 || orig != (int)orig) return "original_max_position_embeddings is not an integer of a sensible size";
	c->rope_scaling = RAD_ROPE_LLAMA3;
	c->rope_factor = (float)factor;
	c->rope_low_freq = (float)low;
	c->rope_high_freq = (float)high;
	c->rope_orig_ctx = (int)orig;
	return NULL;
}

const char *rad_model_config_read(rad_model_config *c, const char *path)
{
	static __thread char msg[512];
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	if (!o) { snprintf(msg, sizeof msg, "%s:%d: %s", path, je.line, je.text); return msg; }
	if (!json_is_object(o)) { json_decref(o); snprintf(msg, sizeof msg, "%s: not a JSON object", path); return msg; }
	const char *mt = json_string_value(json_object_get(o, "model_type"));
	if (!mt) { json_decref(o); snprintf(msg, sizeof msg, "%s: no \"model_type\"", path); return msg; }
	if (!strcmp(mt, "gpt2")) {
		rad_model_config_gpt2(c, geti(o, "vocab_size", 50257), geti(o, "n_positions", geti(o, "n_ctx", 1024)),
		                      geti(o, "n_layer", 12), geti(o, "n_head", 12), geti(o, "n_embd", 768));
		json_t *inner = json_object_get(o, "n_inner");
		if (json_is_integer(inner)) c->ffn_dim = (int)json_integer_value(inner);
		c->norm_eps = (float)getd(o, "layer_norm_epsilon", 1e-5);
		c->tied = getb(o, "tie_word_embeddings", 1);
		const char *act = json_string_value(json_object_get(o, "activation_function"));
		if (act && strcmp(act, "gelu_new") && strcmp(act, "gelu_pytorch_tanh")) {
			snprintf(msg, sizeof msg, "%s: activation_function \"%s\" is not supported (gelu_new is)", path, act);
			json_decref(o);
			return msg;
		}
	} else if (!strcmp(mt, "llama") || !strcmp(mt, "qwen2") || !strcmp(mt, "qwen3") || !strcmp(mt, "mistral")) {
		memset(c, 0, sizeof *c);
		snprintf(c->model_type, sizeof c->model_type, "%s", mt);
		c->vocab = geti(o, "vocab_size", 0);
		c->ctx = geti(o, "max_position_embeddings", 2048);
		c->dim = geti(o, "hidden_size", 0);
		c->n_layers = geti(o, "num_hidden_layers", 0);
		c->n_heads = geti(o, "num_attention_heads", 0);
		c->n_kv_heads = geti(o, "num_key_value_heads", c->n_heads);
		c->head_dim = geti(o, "head_dim", c->n_heads ? c->dim / c->n_heads : 0);
		c->ffn_dim = geti(o, "intermediate_size", 0);
		c->norm = RAD_NORM_RMS;
		c->pos = RAD_POS_ROPE;
		c->mlp = RAD_MLP_SWIGLU;
		c->norm_eps = (float)getd(o, "rms_norm_eps", 1e-6);
		/* Llama's attention_bias covers q, k, v and o; Qwen2's q/k/v biases are fixed;
		 * Qwen3's attention_bias covers q, k, v and o as Llama's does */
		int ab = getb(o, "attention_bias", 0);
		c->qkv_bias = !strcmp(mt, "qwen2") ? 1 : ab;
		c->out_bias = !strcmp(mt, "qwen2") ? 0 : ab;
		c->qk_norm = !strcmp(mt, "qwen3");
		c->tied = getb(o, "tie_word_embeddings", 0);
		const char *why = llama_refusal(o, mt, c);
		if (why) {
			snprintf(msg, sizeof msg, "%s: %s", path, why);
			json_decref(o);
			return msg;
		}
		if ((why = rope_read(o, c))) {
			snprintf(msg, sizeof msg, "%s: %s", path, why);
			json_decref(o);
			return msg;
		}
	} else {
		snprintf(msg, sizeof msg, "%s: model_type \"%s\" is not supported (gpt2, llama, mistral, qwen2 and qwen3 are)", path, mt);
		json_decref(o);
		return msg;
	}
	c->bos_id = geti_first(o, "bos_token_id", -1);
	c->eos_id = geti_first(o, "eos_token_id", -1);
	c->pad_id = geti_first(o, "pad_token_id", -1);
	const char *why = is_classifier(o) ? labels_read(o, c) : NULL;
	json_decref(o);
	if (why) {
		snprintf(msg, sizeof msg, "%s: %s", path, why);
		return msg;
	}
	return NULL;
}

/* A float as the shortest decimal that reads back to it (1e-06, not 9.99999997e-07). */
static json_t *json_float(float f)
{
	char b[32];
	snprintf(b, sizeof b, "%.7g", (double)f);
	return json_real(strtod(b, NULL));
}

/* ["XForCausalLM"], ["GPT2LMHeadModel"], or ["XForSequenceClassification"] for a model
 * with a score head. */
static json_t *architectures(const rad_model_config *c)
{
	const char *mt = c->model_type;
	const char *base = !strcmp(mt, "gpt2") ? "GPT2" : !strcmp(mt, "qwen2") ? "Qwen2" : !strcmp(mt, "qwen3") ? "Qwen3" :
	                   !strcmp(mt, "mistral") ? "Mistral" : "Llama";
	const char *head = c->num_labels ? "ForSequenceClassification" : !strcmp(mt, "gpt2") ? "LMHeadModel" : "ForCausalLM";
	json_t *a = json_array();
	json_array_append_new(a, json_sprintf("%s%s", base, head));
	return a;
}

/* A classification model's id2label and label2id, and pad_token_id when known (how HF
 * finds the last token of a padded sequence). */
static void classifier_json(json_t *o, const rad_model_config *c)
{
	if (c->pad_id >= 0) json_object_set_new(o, "pad_token_id", json_integer(c->pad_id));
	if (!c->num_labels) return;
	json_t *i2l = json_object(), *l2i = json_object();
	for (int i = 0; i < c->num_labels; i++) {
		char id[24];
		snprintf(id, sizeof id, "%d", i);
		json_object_set_new(i2l, id, json_string(c->labels[i]));
		json_object_set_new(l2i, c->labels[i], json_integer(i));
	}
	json_object_set_new(o, "id2label", i2l);
	json_object_set_new(o, "label2id", l2i);
}

/* The HF config.json of a Llama-family configuration (keys in HF's order). */
static json_t *llama_config_json(const rad_model_config *c, const char *dtype)
{
	const char *mt = c->model_type;
	json_t *o = json_object();
	json_object_set_new(o, "architectures", architectures(c));
	/* Qwen2 has q/k/v biases without the flag; the others say it with attention_bias */
	if (strcmp(mt, "qwen2")) json_object_set_new(o, "attention_bias", json_boolean(c->qkv_bias));
	json_object_set_new(o, "attention_dropout", json_real(0.0));
	json_object_set_new(o, "bos_token_id", c->bos_id >= 0 ? json_integer(c->bos_id) : json_null());
	json_object_set_new(o, "eos_token_id", c->eos_id >= 0 ? json_integer(c->eos_id) : json_null());
	json_object_set_new(o, "head_dim", json_integer(c->head_dim));
	json_object_set_new(o, "hidden_act", json_string("silu"));
	json_object_set_new(o, "hidden_size", json_integer(c->dim));
	json_object_set_new(o, "initializer_range", json_real(0.02));
	json_object_set_new(o, "intermediate_size", json_integer(c->ffn_dim));
	json_object_set_new(o, "max_position_embeddings", json_integer(c->ctx));
	if (!strcmp(mt, "llama")) json_object_set_new(o, "mlp_bias", json_false());
	json_object_set_new(o, "model_type", json_string(mt));
	json_object_set_new(o, "num_attention_heads", json_integer(c->n_heads));
	json_object_set_new(o, "num_hidden_layers", json_integer(c->n_layers));
	json_object_set_new(o, "num_key_value_heads", json_integer(c->n_kv_heads));
	json_object_set_new(o, "rms_norm_eps", json_float(c->norm_eps));
	if (c->rope_scaling == RAD_ROPE_LLAMA3) {
		json_t *rs = json_object();
		json_object_set_new(rs, "factor", json_float(c->rope_factor));
		json_object_set_new(rs, "high_freq_factor", json_float(c->rope_high_freq));
		json_object_set_new(rs, "low_freq_factor", json_float(c->rope_low_freq));
		json_object_set_new(rs, "original_max_position_embeddings", json_integer(c->rope_orig_ctx));
		json_object_set_new(rs, "rope_type", json_string("llama3"));
		json_object_set_new(o, "rope_scaling", rs);
	} else {
		json_object_set_new(o, "rope_scaling", json_null());
	}
	json_object_set_new(o, "rope_theta", json_float(c->rope_theta));
	if (strcmp(mt, "llama")) {
		json_object_set_new(o, "sliding_window", json_null());
		if (strcmp(mt, "mistral")) json_object_set_new(o, "use_sliding_window", json_false());
	}
	json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tied));
	json_object_set_new(o, "torch_dtype", json_string(dtype));
	json_object_set_new(o, "vocab_size", json_integer(c->vocab));
	return o;
}

const char *rad_model_config_write(const rad_model_config *c, int dtype, const char *path)
{
	static __thread char msg[512];
	/* the dtype of the weights on disk, as transformers names it */
	const char *dt = dtype == RAD_ST_BF16 ? "bfloat16" : dtype == RAD_ST_F16 ? "float16" : "float32";
	json_t *o = strcmp(c->model_type, "gpt2") ? llama_config_json(c, dt) : NULL;
	if (o) goto write;
	o = json_object();
	json_object_set_new(o, "activation_function", json_string("gelu_new"));
	json_object_set_new(o, "architectures", architectures(c));
	json_object_set_new(o, "attn_pdrop", json_real(0.0));
	json_object_set_new(o, "bos_token_id", c->bos_id >= 0 ? json_integer(c->bos_id) : json_null());
	json_object_set_new(o, "embd_pdrop", json_real(0.0));
	json_object_set_new(o, "eos_token_id", c->eos_id >= 0 ? json_integer(c->eos_id) : json_null());
	json_object_set_new(o, "initializer_range", json_real(0.02));
	json_object_set_new(o, "layer_norm_epsilon", json_float(c->norm_eps));
	json_object_set_new(o, "model_type", json_string("gpt2"));
	json_object_set_new(o, "n_ctx", json_integer(c->ctx));
	json_object_set_new(o, "n_embd", json_integer(c->dim));
	json_object_set_new(o, "n_head", json_integer(c->n_heads));
	json_object_set_new(o, "n_inner", c->ffn_dim == 4 * c->dim ? json_null() : json_integer(c->ffn_dim));
	json_object_set_new(o, "n_layer", json_integer(c->n_layers));
	json_object_set_new(o, "n_positions", json_integer(c->ctx));
	json_object_set_new(o, "resid_pdrop", json_real(0.0));
	json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tied));
	json_object_set_new(o, "torch_dtype", json_string(dt));
	json_object_set_new(o, "vocab_size", json_integer(c->vocab));
write:;
	classifier_json(o, c);
	char tmp[1100];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	/* keys sorted, as transformers writes them (the keys above are already in that order) */
	int rc = json_dump_file(o, tmp, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
	json_decref(o);
	if (rc != 0 || rename(tmp, path) != 0) {
		snprintf(msg, sizeof msg, "%s: cannot write: %s", path, strerror(errno));
		unlink(tmp);   /* nothing half-written stays behind */
		return msg;
	}
	return NULL;
}

/* Buffers HF keeps in GPT-2 files that are not weights. */
static int ignorable(const char *name)
{
	size_t n = strlen(name);
	return (n >= 10 && !strcmp(name + n - 10, ".attn.bias")) || strstr(name, ".attn.masked_bias") ||
	       strstr(name, "rotary_emb.inv_freq");
}

/* The safetensors files of a checkpoint: model.safetensors, or the shards that
 * model.safetensors.index.json's "weight_map" names (each opened once). */
typedef struct shards {
	int n;
	rad_st *st;
	char **path;
	char **used;              /* per shard, per tensor */
} shards;

static void shards_close(shards *sh)
{
	for (int i = 0; i < sh->n; i++) {
		rad_st_close(&sh->st[i]);
		free(sh->path[i]);
		free(sh->used[i]);
	}
	free(sh->st); free(sh->path); free(sh->used);
	memset(sh, 0, sizeof *sh);
}

static const char *shard_add(shards *sh, const char *path)
{
	for (int i = 0; i < sh->n; i++)
		if (!strcmp(sh->path[i], path)) return NULL;
	sh->st = rad_realloc(sh->st, (sh->n + 1) * sizeof *sh->st);
	sh->path = rad_realloc(sh->path, (sh->n + 1) * sizeof *sh->path);
	sh->used = rad_realloc(sh->used, (sh->n + 1) * sizeof *sh->used);
	const char *e = rad_st_open(&sh->st[sh->n], path);
	if (e) return e;
	sh->path[sh->n] = rad_strdup(path);
	sh->used[sh->n] = rad_calloc(sh->st[sh->n].n ? sh->st[sh->n].n : 1, 1);
	sh->n++;
	return NULL;
}

static const char *shards_open(shards *sh, const char *dir)
{
	static __thread char msg[2300];
	char path[1100];
	memset(sh, 0, sizeof *sh);
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	if (access(path, F_OK) == 0) return shard_add(sh, path);
	snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
	if (access(path, F_OK) != 0) {
		snprintf(msg, sizeof msg, "%s: neither model.safetensors nor model.safetensors.index.json is there", dir);
		return msg;
	}
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	if (!o) { snprintf(msg, sizeof msg, "%s:%d: %s", path, je.line, je.text); return msg; }
	json_t *wm = json_object_get(o, "weight_map");
	if (!json_is_object(wm) || !json_object_size(wm)) {
		snprintf(msg, sizeof msg, "%s: no \"weight_map\" object", path);
		json_decref(o);
		return msg;
	}
	const char *k;
	json_t *v;
	json_object_foreach(wm, k, v) {
		const char *f = json_string_value(v);
		if (!f || strchr(f, '/') || !*f) {
			snprintf(msg, sizeof msg, "%s: weight_map[\"%s\"] is not a file name in the directory", path, k);
			json_decref(o);
			shards_close(sh);
			return msg;
		}
		char sp[1100];
		snprintf(sp, sizeof sp, "%s/%s", dir, f);
		const char *e = shard_add(sh, sp);
		if (e) {
			snprintf(msg, sizeof msg, "%s", e);
			json_decref(o);
			shards_close(sh);
			return msg;
		}
	}
	json_decref(o);
	return NULL;
}

static const rad_st_tensor *shards_find(shards *sh, const char *name, const char **file)
{
	for (int i = 0; i < sh->n; i++) {
		const rad_st_tensor *t = rad_st_find(&sh->st[i], name);
		if (t) {
			sh->used[i][t - sh->st[i].t] = 1;
			*file = sh->path[i];
			return t;
		}
	}
	return NULL;
}

/* Tensor s (HF layout) into the model's bf16 copy at t (the internal layout). */
static const char *load_bf16(rad_model *m, const rad_model_tensor *t, const rad_st_tensor *s)
{
	rad_bf16 *dst = m->params_bf16 + t->off;
	if (!t->transposed) return rad_st_to_bf16(s, dst);
	rad_bf16 *tmp = rad_malloc((size_t)s->numel * sizeof *tmp);
	const char *e = rad_st_to_bf16(s, tmp);
	int64_t R = t->rows, Cc = t->cols;   /* file [cols][rows] -> internal [rows][cols] */
	#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < R; r++)
		for (int64_t j = 0; j < Cc; j++) dst[r * Cc + j] = tmp[j * R + r];
	free(tmp);
	return e;
}

const char *rad_model_load(rad_model **out, const char *dir)
{
	return rad_model_load_as(out, dir, RAD_ST_F32);
}

const char *rad_model_load_as(rad_model **out, const char *dir, int dtype)
{
	static __thread char msg[3072];
	char path[1024];
	rad_model_config c;
	snprintf(path, sizeof path, "%s/config.json", dir);
	const char *e = rad_model_config_read(&c, path);
	if (e) return e;
	rad_model *m = rad_model_new_as(&c, dtype, &e);
	if (!m) { snprintf(msg, sizeof msg, "%s: %s", path, e); return msg; }
	shards sh;
	if ((e = shards_open(&sh, dir))) { rad_model_free(m); return e; }
	int gpt2 = !strcmp(c.model_type, "gpt2");
	float *tmp = NULL;
	size_t tmpn = 0;
	const char *file = dir;
	for (int i = 0; i < m->ntensors; i++) {
		rad_model_tensor *t = &m->tensors[i];
		const rad_st_tensor *s = shards_find(&sh, t->name, &file);
		if (!s && gpt2 && !strncmp(t->name, "transformer.", 12)) s = shards_find(&sh, t->name + 12, &file);
		if (!s) {
			if (t->optional) continue;
			snprintf(msg, sizeof msg, "%s: tensor \"%s\" is missing", dir, t->name);
			goto fail;
		}
		int ok = s->numel == t->rows * t->cols && (s->ndim == t->ndim ||
		         (s->ndim == 1 && t->ndim == 1));
		for (int d = 0; ok && d < t->ndim; d++) ok = s->shape[d] == t->shape[d];
		if (!ok) {
			snprintf(msg, sizeof msg, "%s: tensor \"%s\" has shape [%lld%s%lld], config.json wants [%lld, %lld]", file,
			         t->name, (long long)s->shape[0], s->ndim > 1 ? ", " : "", s->ndim > 1 ? (long long)s->shape[1] : 0LL,
			         (long long)t->shape[0], (long long)t->shape[1]);
			if (t->ndim == 1) snprintf(msg, sizeof msg, "%s: tensor \"%s\" has %lld elements, config.json wants %lld", file,
			                           t->name, (long long)s->numel, (long long)t->shape[0]);
			goto fail;
		}
		float *dst = m->params + t->off;
		if (m->bf16_only && rad_model_tensor_is_matrix(t)) {
			if ((e = load_bf16(m, t, s))) { snprintf(msg, sizeof msg, "%s: %s", file, e); goto fail; }
		} else if (t->transposed) {
			if (tmpn < (size_t)s->numel) { free(tmp); tmpn = s->numel; tmp = rad_malloc(tmpn * 4); }
			if ((e = rad_st_to_f32(s, tmp))) { snprintf(msg, sizeof msg, "%s: %s", file, e); goto fail; }
			/* file [cols][rows] -> internal [rows][cols] */
			int64_t R = t->rows, Cc = t->cols;
			#pragma omp parallel for schedule(static)
			for (int64_t r = 0; r < R; r++)
				for (int64_t j = 0; j < Cc; j++) dst[r * Cc + j] = tmp[j * R + r];
		} else if ((e = rad_st_to_f32(s, dst))) {
			snprintf(msg, sizeof msg, "%s: %s", file, e);
			goto fail;
		}
		rad_st_release(s);
	}
	for (int f = 0; f < sh.n; f++)
		for (int i = 0; i < sh.st[f].n; i++) {
			const char *nm = sh.st[f].t[i].name;
			if (sh.used[f][i] || ignorable(nm)) continue;
			if (c.tied && !strcmp(nm, "lm_head.weight")) continue;   /* a tied copy */
			snprintf(msg, sizeof msg, "%s: unexpected tensor \"%s\" for model_type %s", sh.path[f], nm, c.model_type);
			goto fail;
		}
	free(tmp);
	shards_close(&sh);
	*out = m;
	return NULL;
fail:
	free(tmp);
	shards_close(&sh);
	rad_model_free(m);
	return msg;
}

/* Both files are written under temporary names first and renamed only when both are
 * complete, so a failed write (a full disk) leaves no partial file and the directory's
 * old checkpoint, if any, as it was. */
const char *rad_model_save(const rad_model *m, const char *dir, int dtype)
{
	char cfg[1024], cfg_tmp[1100], st[1024];
	snprintf(cfg, sizeof cfg, "%s/config.json", dir);
	snprintf(cfg_tmp, sizeof cfg_tmp, "%s.tmp", cfg);
	snprintf(st, sizeof st, "%s/model.safetensors", dir);
	const char *e = rad_model_config_write(&m->cfg, dtype, cfg_tmp);
	if (e) return e;
	rad_st_out *o = rad_calloc(m->ntensors, sizeof *o);
	for (int i = 0; i < m->ntensors; i++) {
		const rad_model_tensor *t = &m->tensors[i];
		o[i].name = t->name;
		o[i].ndim = t->ndim;
		o[i].shape[0] = t->shape[0];
		o[i].shape[1] = t->shape[1];
		if (m->bf16_only && rad_model_tensor_is_matrix(t)) o[i].src_bf16 = m->params_bf16 + t->off;
		else o[i].src = m->params + t->off;
		o[i].rows = t->rows;
		o[i].cols = t->cols;
		o[i].transposed = t->transposed;
	}
	e = rad_st_write_beside(st, o, m->ntensors, dtype, cfg_tmp, cfg);
	free(o);
	return e;
}
