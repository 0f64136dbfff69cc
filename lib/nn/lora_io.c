/* nn/lora_io.c — PEFT's adapter directory in and out (lora.h):
 *   adapter_config.json         {"peft_type": "LORA", "r", "lora_alpha", "lora_dropout",
 *                                "target_modules", "use_rslora", ...}, keys sorted as PEFT writes them
 *   adapter_model.safetensors   base_model.model.<module>.lora_A.weight [r, in] and
 *                               .lora_B.weight [out, r] for every adapted module */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/cli.h"
#include "nn/lora.h"
#include "nn/safetensors.h"

static __thread char msg[1400];

/* msg = "path: e" (e may point into msg). */
static const char *at_path(const char *path, const char *e)
{
	char why[600];
	snprintf(why, sizeof why, "%.599s", e);
	snprintf(msg, sizeof msg, "%.700s: %s", path, why);
	return msg;
}

/* The kinds of targets in the order PEFT's configuration lists them here. */
static const unsigned kind_order[] = {RAD_LORA_Q, RAD_LORA_K, RAD_LORA_V, RAD_LORA_O, RAD_LORA_GATE, RAD_LORA_UP,
                                      RAD_LORA_DOWN, RAD_LORA_C_ATTN, RAD_LORA_C_PROJ, RAD_LORA_C_FC};

static json_t *config_json(const rad_lora *lo, const rad_model_config *c, const char *base)
{
	json_t *o = json_object(), *tm = json_array();
	for (size_t i = 0; i < sizeof kind_order / sizeof *kind_order; i++)
		if (lo->o.targets & kind_order[i]) json_array_append_new(tm, json_string(rad_lora_kind_name(kind_order[i])));
	double a = lo->o.alpha;
	json_object_set_new(o, "alpha_pattern", json_object());
	json_object_set_new(o, "auto_mapping", json_null());
	json_object_set_new(o, "base_model_name_or_path", base ? json_string(base) : json_null());
	json_object_set_new(o, "bias", json_string("none"));
	json_object_set_new(o, "fan_in_fan_out", json_boolean(!strcmp(c->model_type, "gpt2")));   /* HF Conv1D */
	json_object_set_new(o, "inference_mode", json_true());
	json_object_set_new(o, "init_lora_weights", json_true());
	json_object_set_new(o, "layers_pattern", json_null());
	json_object_set_new(o, "layers_to_transform", json_null());
	json_object_set_new(o, "lora_alpha", a == floor(a) && fabs(a) < 1e15 ? json_integer((json_int_t)a) : json_real(a));
	json_object_set_new(o, "lora_dropout", json_real(lo->o.dropout));
	json_object_set_new(o, "modules_to_save", json_null());
	json_object_set_new(o, "peft_type", json_string("LORA"));
	json_object_set_new(o, "r", json_integer(lo->o.rank));
	json_object_set_new(o, "rank_pattern", json_object());
	json_object_set_new(o, "revision", json_null());
	json_object_set_new(o, "target_modules", tm);
	json_object_set_new(o, "task_type", json_string("CAUSAL_LM"));
	json_object_set_new(o, "use_dora", json_false());
	json_object_set_new(o, "use_rslora", json_boolean(lo->o.rslora));
	return o;
}

const char *rad_lora_save(const rad_lora *lo, const rad_model_config *c, const char *dir, int dtype, const char *base)
{
	char cfg[1100], cfg_tmp[1200], st[1100];
	snprintf(cfg, sizeof cfg, "%s/adapter_config.json", dir);
	snprintf(cfg_tmp, sizeof cfg_tmp, "%s.tmp", cfg);
	snprintf(st, sizeof st, "%s/adapter_model.safetensors", dir);
	json_t *o = config_json(lo, c, base);
	int rc = json_dump_file(o, cfg_tmp, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
	json_decref(o);
	if (rc != 0) {
		snprintf(msg, sizeof msg, "%s: cannot write: %s", cfg_tmp, strerror(errno));
		unlink(cfg_tmp);
		return msg;
	}
	rad_st_out *out = rad_calloc(lo->ntensors, sizeof *out);
	for (int i = 0; i < lo->ntensors; i++) {
		const rad_model_tensor *t = &lo->tensors[i];
		out[i] = (rad_st_out){t->name, 2, {t->shape[0], t->shape[1]}, lo->params + t->off, t->rows, t->cols, 0, NULL};
	}
	const char *e = rad_st_write_beside(st, out, lo->ntensors, dtype, cfg_tmp, cfg);
	free(out);
	return e;
}

/* The options and targets of an adapter_config.json; NULL or what this build cannot apply. */
static const char *config_read(json_t *j, rad_lora_opts *o)
{
	const char *pt = json_string_value(json_object_get(j, "peft_type"));
	if (!pt || strcmp(pt, "LORA")) return "\"peft_type\" is not \"LORA\"";
	json_t *r = json_object_get(j, "r"), *a = json_object_get(j, "lora_alpha"), *d = json_object_get(j, "lora_dropout");
	if (!json_is_integer(r) || json_integer_value(r) < 1 || json_integer_value(r) > 1 << 20)
		return "\"r\" must be a positive integer";
	if (!json_is_number(a)) return "\"lora_alpha\" must be a number";
	if (d && !json_is_null(d) && !json_is_number(d)) return "\"lora_dropout\" must be a number";
	memset(o, 0, sizeof *o);
	o->rank = (int)json_integer_value(r);
	o->alpha = json_number_value(a);
	o->dropout = d && json_is_number(d) ? json_number_value(d) : 0;
	json_t *rs = json_object_get(j, "use_rslora");
	o->rslora = json_is_true(rs);
	/* what PEFT can express and this build does not compute: refused, never ignored */
	if (json_is_true(json_object_get(j, "use_dora"))) return "\"use_dora\": DoRA adapters are not supported";
	const char *bias = json_string_value(json_object_get(j, "bias"));
	if (bias && strcmp(bias, "none")) return "\"bias\": trained biases are not supported (only \"none\")";
	static const char *empty_objects[] = {"rank_pattern", "alpha_pattern", NULL};
	for (int i = 0; empty_objects[i]; i++) {
		json_t *v = json_object_get(j, empty_objects[i]);
		if (v && !json_is_null(v) && !(json_is_object(v) && !json_object_size(v))) {
			snprintf(msg, sizeof msg, "\"%s\": per-module ranks and alphas are not supported", empty_objects[i]);
			return msg;
		}
	}
	static const char *nulls[] = {"modules_to_save", "layers_to_transform", "layer_replication", NULL};
	for (int i = 0; nulls[i]; i++) {
		json_t *v = json_object_get(j, nulls[i]);
		if (v && !json_is_null(v) && !(json_is_array(v) && !json_array_size(v))) {
			snprintf(msg, sizeof msg, "\"%s\" is not supported (it must be null)", nulls[i]);
			return msg;
		}
	}
	json_t *tm = json_object_get(j, "target_modules");
	if (json_is_string(tm)) {   /* one name, or a regular expression this build does not match */
		const char *e = rad_lora_targets_parse(json_string_value(tm), &o->targets);
		if (e) {
			snprintf(msg, sizeof msg, "\"target_modules\" \"%s\": give a list of module names (a regular expression is not supported)",
			         json_string_value(tm));
			return msg;
		}
		return NULL;
	}
	if (!json_is_array(tm) || !json_array_size(tm)) return "\"target_modules\" must be a list of module names";
	size_t i;
	json_t *v;
	json_array_foreach(tm, i, v) {
		const char *s = json_string_value(v);
		if (!s) return "\"target_modules\" must be a list of module names";
		const char *dot = strrchr(s, '.');   /* "self_attn.q_proj" names q_proj */
		unsigned k;
		const char *e = rad_lora_targets_parse(dot ? dot + 1 : s, &k);
		if (e) {
			snprintf(msg, sizeof msg, "\"target_modules\": %s", e);
			return msg;
		}
		o->targets |= k;
	}
	return NULL;
}

const char *rad_lora_load(rad_lora **out, const rad_model_config *c, const char *dir)
{
	char p[1100];
	json_error_t je;
	*out = NULL;
	snprintf(p, sizeof p, "%s/adapter_config.json", dir);
	json_t *j = json_load_file(p, 0, &je);
	if (!j) {
		snprintf(msg, sizeof msg, "%s:%d: %s", p, je.line, je.text);
		return msg;
	}
	rad_lora_opts o;
	const char *e = json_is_object(j) ? config_read(j, &o) : "not a JSON object";
	json_decref(j);
	if (e) return at_path(p, e);
	rad_lora *lo = rad_lora_new(c, &o, &e);
	if (!lo) return at_path(p, e);
	snprintf(p, sizeof p, "%s/adapter_model.safetensors", dir);
	rad_st st;
	if ((e = rad_st_open(&st, p))) {
		rad_lora_free(lo);
		return e;
	}
	char *used = rad_calloc(st.n ? st.n : 1, 1);
	for (int i = 0; i < lo->ntensors && !e; i++) {
		const rad_model_tensor *t = &lo->tensors[i];
		const rad_st_tensor *s = rad_st_find(&st, t->name);
		if (!s) {
			snprintf(msg, sizeof msg, "%s: tensor \"%s\" is missing (adapter_config.json targets it)", p, t->name);
			e = msg;
		} else if (s->ndim != 2 || s->shape[0] != t->shape[0] || s->shape[1] != t->shape[1]) {
			snprintf(msg, sizeof msg, "%s: tensor \"%s\" has shape [%lld%s%lld], the model and r = %d want [%lld, %lld]", p,
			         t->name, (long long)s->shape[0], s->ndim > 1 ? ", " : "", s->ndim > 1 ? (long long)s->shape[1] : 0LL,
			         lo->o.rank, (long long)t->shape[0], (long long)t->shape[1]);
			e = msg;
		} else if ((e = rad_st_to_f32(s, lo->params + t->off))) {
			e = at_path(p, e);
		} else {
			used[s - st.t] = 1;
		}
	}
	for (int i = 0; i < st.n && !e; i++)
		if (!used[i]) {
			snprintf(msg, sizeof msg, "%s: unexpected tensor \"%s\" (not a LoRA A or B of the targets in adapter_config.json)",
			         p, st.t[i].name);
			e = msg;
		}
	free(used);
	rad_st_close(&st);
	if (e) {
		rad_lora_free(lo);
		return e;
	}
	*out = lo;
	return NULL;
}

const char *rad_model_load_adapted(rad_model **out, const char *dir, const char *adapter_dir, int dtype)
{
	rad_model *m = NULL;
	rad_lora *lo = NULL;
	const char *e = rad_model_load_as(&m, dir, dtype);
	if (!e && adapter_dir && !(e = rad_lora_load(&lo, &m->cfg, adapter_dir))) {
		if (m->bf16_only) {
			rad_model_attach_lora(m, lo);
		} else {
			rad_lora_merge(lo, m);
			rad_lora_free(lo);
		}
	}
	if (e) {
		rad_model_free(m);
		m = NULL;
	}
	*out = m;
	return e;
}
