/* model_io.c — HF checkpoint directories: config.json and model.safetensors. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "model.h"
#include "safetensors.h"

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
			json_decref(o);
			snprintf(msg, sizeof msg, "%s: activation_function \"%s\" is not supported (gelu_new is)", path, act);
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
		c->qkv_bias = !strcmp(mt, "qwen2") ? 1 : getb(o, "attention_bias", 0);
		c->qk_norm = !strcmp(mt, "qwen3");
		c->tied = getb(o, "tie_word_embeddings", 0);
		c->rope_theta = (float)getd(o, "rope_theta", 10000.0);
		json_t *rs = json_object_get(o, "rope_scaling");
		if (json_is_object(rs)) {
			const char *ty = json_string_value(json_object_get(rs, "rope_type"));
			if (!ty) ty = json_string_value(json_object_get(rs, "type"));
			if (ty && !strcmp(ty, "llama3")) {
				c->rope_scaling = RAD_ROPE_LLAMA3;
				c->rope_factor = (float)getd(rs, "factor", 8.0);
				c->rope_low_freq = (float)getd(rs, "low_freq_factor", 1.0);
				c->rope_high_freq = (float)getd(rs, "high_freq_factor", 4.0);
				c->rope_orig_ctx = geti(rs, "original_max_position_embeddings", 8192);
			} else if (ty && strcmp(ty, "default")) {
				json_decref(o);
				snprintf(msg, sizeof msg, "%s: rope_scaling type \"%s\" is not supported", path, ty);
				return msg;
			}
		}
	} else {
		json_decref(o);
		snprintf(msg, sizeof msg, "%s: model_type \"%s\" is not supported", path, mt);
		return msg;
	}
	c->bos_id = geti(o, "bos_token_id", -1);
	c->eos_id = geti(o, "eos_token_id", -1);
	json_decref(o);
	return NULL;
}

const char *rad_model_config_write(const rad_model_config *c, const char *path)
{
	static __thread char msg[512];
	json_t *o = json_object();
	if (strcmp(c->model_type, "gpt2")) {
		snprintf(msg, sizeof msg, "%s: writing config for model_type \"%s\" is not supported", path, c->model_type);
		json_decref(o);
		return msg;
	}
	json_object_set_new(o, "activation_function", json_string("gelu_new"));
	json_t *arch = json_array();
	json_array_append_new(arch, json_string("GPT2LMHeadModel"));
	json_object_set_new(o, "architectures", arch);
	json_object_set_new(o, "attn_pdrop", json_real(0.0));
	json_object_set_new(o, "bos_token_id", c->bos_id >= 0 ? json_integer(c->bos_id) : json_null());
	json_object_set_new(o, "embd_pdrop", json_real(0.0));
	json_object_set_new(o, "eos_token_id", c->eos_id >= 0 ? json_integer(c->eos_id) : json_null());
	json_object_set_new(o, "initializer_range", json_real(0.02));
	json_object_set_new(o, "layer_norm_epsilon", json_real(c->norm_eps));
	json_object_set_new(o, "model_type", json_string("gpt2"));
	json_object_set_new(o, "n_ctx", json_integer(c->ctx));
	json_object_set_new(o, "n_embd", json_integer(c->dim));
	json_object_set_new(o, "n_head", json_integer(c->n_heads));
	json_object_set_new(o, "n_inner", c->ffn_dim == 4 * c->dim ? json_null() : json_integer(c->ffn_dim));
	json_object_set_new(o, "n_layer", json_integer(c->n_layers));
	json_object_set_new(o, "n_positions", json_integer(c->ctx));
	json_object_set_new(o, "resid_pdrop", json_real(0.0));
	json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tied));
	json_object_set_new(o, "torch_dtype", json_string("float32"));
	json_object_set_new(o, "vocab_size", json_integer(c->vocab));
	char tmp[1100];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int rc = json_dump_file(o, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (rc != 0 || rename(tmp, path) != 0) {
		snprintf(msg, sizeof msg, "%s: cannot write: %s", path, strerror(errno));
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

const char *rad_model_load(rad_model **out, const char *dir)
{
	static __thread char msg[3072];
	char path[1024];
	rad_model_config c;
	snprintf(path, sizeof path, "%s/config.json", dir);
	const char *e = rad_model_config_read(&c, path);
	if (e) return e;
	rad_model *m = rad_model_new(&c, &e);
	if (!m) { snprintf(msg, sizeof msg, "%s: %s", path, e); return msg; }
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	rad_st st;
	if ((e = rad_st_open(&st, path))) { rad_model_free(m); return e; }
	int gpt2 = !strcmp(c.model_type, "gpt2");
	char *used = rad_calloc(st.n ? st.n : 1, 1);
	float *tmp = NULL;
	size_t tmpn = 0;
	for (int i = 0; i < m->ntensors; i++) {
		rad_model_tensor *t = &m->tensors[i];
		const rad_st_tensor *s = rad_st_find(&st, t->name);
		if (!s && gpt2 && !strncmp(t->name, "transformer.", 12)) s = rad_st_find(&st, t->name + 12);
		if (!s) {
			if (t->optional) continue;
			snprintf(msg, sizeof msg, "%s: tensor \"%s\" is missing", path, t->name);
			goto fail;
		}
		used[s - st.t] = 1;
		int ok = s->numel == t->rows * t->cols && (s->ndim == t->ndim ||
		         (s->ndim == 1 && t->ndim == 1));
		for (int d = 0; ok && d < t->ndim; d++) ok = s->shape[d] == t->shape[d];
		if (!ok) {
			snprintf(msg, sizeof msg, "%s: tensor \"%s\" has shape [%lld%s%lld], config.json wants [%lld, %lld]", path,
			         t->name, (long long)s->shape[0], s->ndim > 1 ? ", " : "", s->ndim > 1 ? (long long)s->shape[1] : 0LL,
			         (long long)t->shape[0], (long long)t->shape[1]);
			if (t->ndim == 1) snprintf(msg, sizeof msg, "%s: tensor \"%s\" has %lld elements, config.json wants %lld", path,
			                           t->name, (long long)s->numel, (long long)t->shape[0]);
			goto fail;
		}
		float *dst = m->params + t->off;
		if (t->transposed) {
			if (tmpn < (size_t)s->numel) { free(tmp); tmpn = s->numel; tmp = rad_malloc(tmpn * 4); }
			if ((e = rad_st_to_f32(s, tmp))) { snprintf(msg, sizeof msg, "%s: %s", path, e); goto fail; }
			/* file [cols][rows] -> internal [rows][cols] */
			int64_t R = t->rows, Cc = t->cols;
			#pragma omp parallel for schedule(static)
			for (int64_t r = 0; r < R; r++)
				for (int64_t j = 0; j < Cc; j++) dst[r * Cc + j] = tmp[j * R + r];
		} else if ((e = rad_st_to_f32(s, dst))) {
			snprintf(msg, sizeof msg, "%s: %s", path, e);
			goto fail;
		}
	}
	for (int i = 0; i < st.n; i++) {
		if (used[i] || ignorable(st.t[i].name)) continue;
		if (c.tied && !strcmp(st.t[i].name, "lm_head.weight")) continue;   /* a tied copy */
		snprintf(msg, sizeof msg, "%s: unexpected tensor \"%s\" for model_type %s", path, st.t[i].name, c.model_type);
		goto fail;
	}
	free(tmp);
	free(used);
	rad_st_close(&st);
	*out = m;
	return NULL;
fail:
	free(tmp);
	free(used);
	rad_st_close(&st);
	rad_model_free(m);
	return msg;
}

const char *rad_model_save(const rad_model *m, const char *dir, int dtype)
{
	static __thread char msg[3072];
	char path[1024], tmp[1100];
	snprintf(path, sizeof path, "%s/config.json", dir);
	const char *e = rad_model_config_write(&m->cfg, path);
	if (e) return e;
	rad_st_out *o = rad_calloc(m->ntensors, sizeof *o);
	for (int i = 0; i < m->ntensors; i++) {
		const rad_model_tensor *t = &m->tensors[i];
		o[i].name = t->name;
		o[i].ndim = t->ndim;
		o[i].shape[0] = t->shape[0];
		o[i].shape[1] = t->shape[1];
		o[i].src = m->params + t->off;
		o[i].rows = t->rows;
		o[i].cols = t->cols;
		o[i].transposed = t->transposed;
	}
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	e = rad_st_write(tmp, o, m->ntensors, dtype, NULL);
	free(o);
	if (e) return e;
	if (rename(tmp, path) != 0) {
		snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
		return msg;
	}
	return NULL;
}
