/* stream/dump.c — showing any record to a person as JSON; summary statistics of a stream. */
#include "stream/dump.h"
#include "base/cli.h"
#include "base/jsonl.h"
#include "tok/tokenizer.h"

#include <math.h>
#include <utf8proc.h>
#include <stdlib.h>
#include <string.h>

static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *rad_rec_to_json(const rad_rec *r)
{
	char t[5];
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(rad_type_name(r->type, t)));
	for (int i = 0; i < r->nfields; i++) {
		const rad_field *f = &r->fields[i];
		json_t *v = NULL;
		switch (f->dtype) {
		case RAD_I32: v = json_array();
			for (uint32_t j = 0; j < f->count; j++) json_array_append_new(v, json_integer(((const int32_t *)f->data)[j]));
			break;
		case RAD_U8: v = json_array();
			for (uint32_t j = 0; j < f->count; j++) json_array_append_new(v, json_integer(((const uint8_t *)f->data)[j]));
			break;
		case RAD_F32: v = json_array();
			for (uint32_t j = 0; j < f->count; j++) json_array_append_new(v, real_or_null(((const float *)f->data)[j]));
			break;
		case RAD_F64: v = json_array();
			for (uint32_t j = 0; j < f->count; j++) json_array_append_new(v, real_or_null(((const double *)f->data)[j]));
			break;
		case RAD_STR: v = json_stringn_nocheck(f->data, f->count); break;
		case RAD_STRS: v = json_array();
			for (uint32_t j = 0; j < f->count; j++) {
				uint32_t len;
				const char *s = rad_rec_strs_at(f, j, &len);
				json_array_append_new(v, json_stringn_nocheck(s, len));
			}
			break;
		case RAD_INT: v = json_integer(*(const int64_t *)f->data); break;
		case RAD_NUM: v = real_or_null(*(const double *)f->data); break;
		}
		json_object_set_new(o, f->name, v ? v : json_null());
	}
	return o;
}

/* The decoded text of ids, invalid UTF-8 replaced by U+FFFD, as a JSON string. */
static json_t *text_of(const rad_tokenizer *t, const int32_t *ids, size_t n)
{
	rad_text raw = {0}, clean = {0};
	if (rad_tok_decode(t, ids, n, 0, &raw) < 0)
		rad_text_append(&raw, "\xff", 1);            /* an id that is no token: shown as U+FFFD */
	for (size_t i = 0; i < raw.n;) {
		int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)raw.s + i, raw.n - i, &cp);
		if (k > 0) {
			rad_text_append(&clean, raw.s + i, k);
			i += k;
		} else {
			rad_text_append(&clean, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	json_t *j = json_stringn_nocheck(clean.n ? clean.s : "", clean.n);
	rad_text_free(&raw);
	rad_text_free(&clean);
	return j;
}

void rad_dump_add_text(json_t *o, const rad_rec *r, const rad_tokenizer *t)
{
	uint32_t n;
	if (r->type == RAD_REC_PAIR) {
		static const char *const fields[][2] = {{"prompt", "prompt_text"}, {"chosen", "chosen_text"}, {"rejected", "rejected_text"}};
		for (int i = 0; i < 3; i++) {
			const int32_t *ids = rad_rec_i32s(r, fields[i][0], &n);
			if (ids) json_object_set_new(o, fields[i][1], text_of(t, ids, n));
		}
	} else if (r->type == RAD_REC_BATCH) {
		uint32_t ntok, ns, nst, nl;
		const int32_t *tok = rad_rec_i32s(r, "tokens", &ntok);
		const int32_t *row = rad_rec_i32s(r, "seq_row", &ns);
		const int32_t *start = rad_rec_i32s(r, "seq_start", &nst);
		const int32_t *len = rad_rec_i32s(r, "seq_len", &nl);
		int64_t cols = rad_rec_int(r, "cols", 0);
		if (!tok || !row || !start || !len || ns != nst || ns != nl) return;
		json_t *a = json_array();
		for (uint32_t s = 0; s < ns; s++) {
			int64_t at = (int64_t)row[s] * cols + start[s];
			if (at < 0 || len[s] < 0 || at + len[s] > ntok) { json_array_append_new(a, json_null()); continue; }
			json_array_append_new(a, text_of(t, tok + at, len[s]));
		}
		json_object_set_new(o, "seq_text", a);
	}
}

json_t *rad_header_to_json(const rad_header *h)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("HEAD"));
	json_object_set_new(o, "kind", json_string(h->kind));
	json_object_set_new(o, "version", json_integer(h->version));
	json_object_set_new(o, "fingerprint", json_string(h->fingerprint));
	json_t *meta = json_loads(h->meta ? h->meta : "{}", JSON_DECODE_ANY, NULL);
	json_object_set_new(o, "meta", meta ? meta : json_stringn_nocheck(h->meta, strlen(h->meta)));
	return o;
}

/* --- statistics ------------------------------------------------------------------------ */

#define MAX_TYPES 16
#define MAX_ARRAYS 32
#define BUCKETS 33

struct length_summary {
	char name[64];
	long long n, min, max, hist[BUCKETS];
	double sum;
};

struct rad_stats {
	uint32_t types[MAX_TYPES];
	long long type_count[MAX_TYPES];
	int ntypes;
	struct length_summary arrays[MAX_ARRAYS];
	int narrays;
	long long positions, padding;   /* over BTCH records */
};

rad_stats *rad_stats_new(void) { return rad_calloc(1, sizeof(rad_stats)); }
void rad_stats_free(rad_stats *s) { free(s); }

static void add_length(rad_stats *s, const char *type, const char *name, long long len)
{
	char key[64];
	snprintf(key, sizeof key, "%s.%s", type, name);
	struct length_summary *a = NULL;
	for (int i = 0; i < s->narrays; i++)
		if (!strcmp(s->arrays[i].name, key)) a = &s->arrays[i];
	if (!a) {
		if (s->narrays == MAX_ARRAYS) return;
		a = &s->arrays[s->narrays++];
		snprintf(a->name, sizeof a->name, "%s", key);
		a->min = len;
	}
	a->n++;
	a->sum += len;
	if (len < a->min) a->min = len;
	if (len > a->max) a->max = len;
	int b = 0;
	while (b < BUCKETS - 1 && (1LL << b) <= len) b++;
	a->hist[b]++;     /* bucket b holds lengths in [2^(b-1), 2^b) ; bucket 0 holds 0 */
}

void rad_stats_add(rad_stats *s, const rad_rec *r)
{
	int i;
	for (i = 0; i < s->ntypes && s->types[i] != r->type; i++)
		;
	if (i == s->ntypes && s->ntypes < MAX_TYPES) s->types[s->ntypes++] = r->type;
	if (i < MAX_TYPES) s->type_count[i]++;
	char t[5];
	rad_type_name(r->type, t);
	if (r->type == RAD_REC_BATCH) {
		uint32_t n, ns;
		const int32_t *seg = rad_rec_i32s(r, "segment", &n);
		const int32_t *len = rad_rec_i32s(r, "seq_len", &ns);
		for (uint32_t j = 0; seg && j < n; j++) s->padding += seg[j] < 0;
		s->positions += n;
		for (uint32_t j = 0; len && j < ns; j++) add_length(s, t, "seq_len", len[j]);
		add_length(s, t, "cols", rad_rec_int(r, "cols", 0));
		add_length(s, t, "sequences", ns);
		return;
	}
	for (int j = 0; j < r->nfields; j++)
		if (r->fields[j].dtype == RAD_I32)
			add_length(s, t, r->fields[j].name, r->fields[j].count);
}

json_t *rad_stats_json(const rad_stats *s)
{
	char t[5];
	json_t *o = json_object(), *types = json_object(), *lens = json_object();
	for (int i = 0; i < s->ntypes; i++)
		json_object_set_new(types, rad_type_name(s->types[i], t), json_integer(s->type_count[i]));
	json_object_set_new(o, "records", types);
	for (int i = 0; i < s->narrays; i++) {
		const struct length_summary *a = &s->arrays[i];
		json_t *l = json_object(), *h = json_object();
		json_object_set_new(l, "n", json_integer(a->n));
		json_object_set_new(l, "min", json_integer(a->min));
		json_object_set_new(l, "mean", json_real(a->n ? a->sum / a->n : 0));
		json_object_set_new(l, "max", json_integer(a->max));
		for (int b = 0; b < BUCKETS; b++) {
			if (!a->hist[b]) continue;
			char key[48];
			if (b == 0) snprintf(key, sizeof key, "0");
			else snprintf(key, sizeof key, "%lld-%lld", 1LL << (b - 1), (1LL << b) - 1);
			json_object_set_new(h, key, json_integer(a->hist[b]));
		}
		json_object_set_new(l, "histogram", h);
		json_object_set_new(lens, a->name, l);
	}
	json_object_set_new(o, "lengths", lens);
	if (s->positions) {
		json_object_set_new(o, "positions", json_integer(s->positions));
		json_object_set_new(o, "padding_fraction", json_real((double)s->padding / s->positions));
	}
	return o;
}

/* --- JSON back to records -------------------------------------------------------------- */

struct known_field { uint32_t type; const char *name; int dtype; };
static const struct known_field known[] = {
	{RAD_REC_PAIR, "id", RAD_STR}, {RAD_REC_PAIR, "source_id", RAD_STR},
	{RAD_REC_PAIR, "half", RAD_STR}, {RAD_REC_PAIR, "goal", RAD_STR},
	{RAD_REC_PAIR, "score_chosen", RAD_NUM}, {RAD_REC_PAIR, "score_rejected", RAD_NUM},
	{RAD_REC_PAIR, "prompt", RAD_I32}, {RAD_REC_PAIR, "chosen", RAD_I32}, {RAD_REC_PAIR, "rejected", RAD_I32},
	{RAD_REC_BATCH, "rows", RAD_INT}, {RAD_REC_BATCH, "cols", RAD_INT},
	{RAD_REC_BATCH, "tokens", RAD_I32}, {RAD_REC_BATCH, "targets", RAD_I32},
	{RAD_REC_BATCH, "segment", RAD_I32}, {RAD_REC_BATCH, "position", RAD_I32},
	{RAD_REC_BATCH, "loss_mask", RAD_U8}, {RAD_REC_BATCH, "seq_chosen", RAD_U8},
	{RAD_REC_BATCH, "seq_row", RAD_I32}, {RAD_REC_BATCH, "seq_start", RAD_I32},
	{RAD_REC_BATCH, "seq_len", RAD_I32}, {RAD_REC_BATCH, "seq_pair", RAD_I32},
	{RAD_REC_BATCH, "ref_ntok", RAD_I32}, {RAD_REC_BATCH, "pair_id", RAD_STRS},
	{RAD_REC_BATCH, "goal", RAD_STRS}, {RAD_REC_BATCH, "score_chosen", RAD_F64},
	{RAD_REC_BATCH, "score_rejected", RAD_F64}, {RAD_REC_BATCH, "ref_logp", RAD_F64},
};

static int infer_dtype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return RAD_STR;
	case JSON_INTEGER: return RAD_INT;
	case JSON_REAL: case JSON_NULL: return RAD_NUM;
	case JSON_ARRAY: {
		int ints = 1, strs = json_array_size(v) > 0;
		for (size_t i = 0; i < json_array_size(v); i++) {
			const json_t *e = json_array_get(v, i);
			if (!json_is_integer(e)) ints = 0;
			if (!json_is_string(e)) strs = 0;
		}
		return strs ? RAD_STRS : ints ? RAD_I32 : RAD_F64;
	}
	default: return 0;
	}
}

static char jmsg[160];

static double as_double(const json_t *e) { return json_is_null(e) ? NAN : json_number_value(e); }

/* Names as a stream reader takes them (record.c): printable ASCII, nothing else. */
static int printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f) return 0;
	return 1;
}

/* A stream's strings hold no NUL (rad-stream(5)): every reader keeps ids and goals as C
 * strings, so one would be cut there and two ids become one. */
static int has_nul(const json_t *s) { return strlen(json_string_value(s)) != json_string_length(s); }

static const char *nul_message(const char *key)
{
	snprintf(jmsg, sizeof jmsg, "field '%.40s' holds a NUL (\\u0000), which a stream's strings cannot (rad-stream(5))", key);
	return jmsg;
}

const char *rad_json_to_rec(const json_t *o, rad_rec *r)
{
	const json_t *t = json_object_get(o, "type");
	if (!json_is_object(o) || !json_is_string(t) || json_string_length(t) != 4 || !printable(json_string_value(t), 4))
		return "a record needs a \"type\" of 4 printable ASCII letters";
	const char *ts = json_string_value(t);
	uint32_t type = RAD_TYPE(ts[0], ts[1], ts[2], ts[3]);
	if (type == RAD_REC_HEADER) return "a HEAD is not a data record";
	rad_rec_reset(r, type);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v) {
		if (!strcmp(key, "type")) continue;
		if (strlen(key) == 0 || strlen(key) > RAD_FIELD_NAME_MAX || r->nfields == RAD_MAX_FIELDS) {
			snprintf(jmsg, sizeof jmsg, "field name '%.40s' is empty, too long, or one too many", key);
			return jmsg;
		}
		if (!printable(key, strlen(key))) {
			snprintf(jmsg, sizeof jmsg, "field name '%.40s' is not printable ASCII, which a stream reader refuses", key);
			return jmsg;
		}
		int dtype = 0;
		for (size_t i = 0; i < sizeof known / sizeof *known; i++)
			if (known[i].type == type && !strcmp(known[i].name, key)) dtype = known[i].dtype;
		if (!dtype) dtype = infer_dtype(v);
		int is_array = dtype != RAD_STR && dtype != RAD_INT && dtype != RAD_NUM;
		if (!dtype || is_array != json_is_array(v) || (dtype == RAD_STR && !json_is_string(v))) {
			snprintf(jmsg, sizeof jmsg, "field '%.40s' has a value of the wrong kind", key);
			return jmsg;
		}
		size_t n = is_array ? json_array_size(v) : 1;
		if (n > RAD_MAX_RECORD / 8) return "array too long";
		for (size_t i = 0; is_array && i < n; i++) {
			const json_t *e = json_array_get(v, i);
			int ok = dtype == RAD_STRS ? json_is_string(e) :
				dtype == RAD_F64 || dtype == RAD_F32 ? json_is_number(e) || json_is_null(e) : json_is_integer(e);
			if (ok && dtype == RAD_STRS && has_nul(e)) return nul_message(key);
			if (ok && dtype == RAD_U8) ok = json_integer_value(e) >= 0 && json_integer_value(e) <= 255;
			if (ok && dtype == RAD_I32) ok = json_integer_value(e) >= INT32_MIN && json_integer_value(e) <= INT32_MAX;
			if (!ok) {
				snprintf(jmsg, sizeof jmsg, "field '%.40s': element %zu does not fit %s", key, i, rad_dtype_name(dtype));
				return jmsg;
			}
		}
		if (dtype == RAD_STR && has_nul(v)) return nul_message(key);
		switch (dtype) {
		case RAD_STR: rad_rec_put_strn(r, key, json_string_value(v), json_string_length(v)); break;
		case RAD_INT:
			if (!json_is_integer(v)) return "an integer field holds a non-integer";
			rad_rec_put_int(r, key, json_integer_value(v));
			break;
		case RAD_NUM:
			if (!json_is_number(v) && !json_is_null(v)) return "a number field holds a non-number";
			rad_rec_put_num(r, key, as_double(v));
			break;
		case RAD_STRS: {
			const char **s = rad_malloc(n * sizeof *s + 1);
			for (size_t i = 0; i < n; i++) s[i] = json_string_value(json_array_get(v, i));
			rad_rec_put_strs(r, key, s, n);
			free(s);
			break;
		}
		default: {
			size_t es = dtype == RAD_U8 ? 1 : dtype == RAD_F64 ? 8 : 4;
			unsigned char *buf = rad_malloc(n * es + 1);
			for (size_t i = 0; i < n; i++) {
				const json_t *e = json_array_get(v, i);
				if (dtype == RAD_U8) buf[i] = json_integer_value(e);
				else if (dtype == RAD_I32) ((int32_t *)buf)[i] = json_integer_value(e);
				else if (dtype == RAD_F32) ((float *)buf)[i] = as_double(e);
				else ((double *)buf)[i] = as_double(e);
			}
			rad_rec_put(r, key, dtype, buf, n);
			free(buf);
		}
		}
	}
	return NULL;
}

/* A HEAD string field that fits `size` bytes with its NUL, printable; NULL or what is wrong. */
static const char *header_str(const json_t *v, const char *name, size_t size, int required)
{
	if (!v && !required) return NULL;
	if (!json_is_string(v) || (required && !json_string_length(v)) || json_string_length(v) >= size ||
	    !printable(json_string_value(v), json_string_length(v))) {
		snprintf(jmsg, sizeof jmsg, "HEAD needs a \"%s\" string of %s %zu printable ASCII characters",
		         name, required ? "1 to" : "at most", size - 1);
		return jmsg;
	}
	return NULL;
}

const char *rad_json_to_header(const json_t *o, rad_header *h)
{
	const json_t *t = json_object_get(o, "type"), *k = json_object_get(o, "kind"), *ver = json_object_get(o, "version");
	const json_t *fp = json_object_get(o, "fingerprint"), *m = json_object_get(o, "meta");
	const char *err;
	if (!json_is_string(t) || strcmp(json_string_value(t), "HEAD"))
		return "the first line must be a HEAD object (rad-dump --header), or give --kind";
	if ((err = header_str(k, "kind", sizeof h->kind, 1)) || (err = header_str(fp, "fingerprint", sizeof h->fingerprint, 0)))
		return err;
	/* what the stream is written as: a HEAD of another version would not describe it */
	if (ver && (!json_is_integer(ver) || json_integer_value(ver) != RAD_STREAM_VERSION)) {
		snprintf(jmsg, sizeof jmsg, "HEAD \"version\" must be %d, the stream format this rad writes", RAD_STREAM_VERSION);
		return jmsg;
	}
	if (m && !json_is_object(m)) return "HEAD \"meta\" must be a JSON object";
	memset(h, 0, sizeof *h);
	h->version = RAD_STREAM_VERSION;
	snprintf(h->kind, sizeof h->kind, "%s", json_string_value(k));
	if (fp) snprintf(h->fingerprint, sizeof h->fingerprint, "%s", json_string_value(fp));
	h->meta = m ? json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER) : rad_strdup("{}");
	return NULL;
}

/* The encoder's writer, opened at the first HEAD (or record, with the kind given); later
 * HEADs must agree with it, as a reader of concatenated streams requires. */
typedef struct encoder {
	rad_writer *w;
	rad_header first;
	const char *output;
	int level;
} encoder;

static void encoder_start(encoder *e, rad_header *h)
{
	e->w = rad_writer_open(e->output, h, e->level, 0);
	e->first = *h;
	e->first.meta = NULL;
}

long long rad_dump_encode(char *const *inputs, int ninputs, const char *kind, const char *output, int level)
{
	encoder e = {.output = output, .level = level};
	rad_rec rec;
	rad_rec_init(&rec);
	for (int i = 0; i < ninputs; i++) {
		rad_jsonl *in = rad_jsonl_open(inputs[i], 0);
		json_t *v;
		while ((v = rad_jsonl_next(in))) {
			const json_t *t = json_object_get(v, "type");
			const char *err;
			if (json_is_string(t) && !strcmp(json_string_value(t), "HEAD")) {
				rad_header h;
				if ((err = rad_json_to_header(v, &h))) rad_die(RAD_EXIT_DATA, rad_jsonl_where(in), "%s", err);
				if (kind && strcmp(kind, h.kind))
					rad_die(RAD_EXIT_DATA, rad_jsonl_where(in), "a %s header, expected %s", h.kind, kind);
				if (!e.w) encoder_start(&e, &h);
				else if (strcmp(h.kind, e.first.kind) || strcmp(h.fingerprint, e.first.fingerprint))
					rad_die(RAD_EXIT_DATA, rad_jsonl_where(in), "this HEAD (%s, fingerprint '%s') disagrees with the first (%s, '%s'): "
					        "streams of other kinds or tokenizers do not mix", h.kind, h.fingerprint, e.first.kind, e.first.fingerprint);
				rad_header_free(&h);
			} else {
				if (!e.w) {
					if (!kind) rad_die(RAD_EXIT_DATA, rad_jsonl_where(in), "the first line must be a HEAD object (rad-dump --header), or give --kind");
					rad_header h = {.version = RAD_STREAM_VERSION};
					snprintf(h.kind, sizeof h.kind, "%s", kind);
					encoder_start(&e, &h);
				}
				if ((err = rad_json_to_rec(v, &rec))) rad_die(RAD_EXIT_DATA, rad_jsonl_where(in), "%s", err);
				rad_writer_put(e.w, &rec);
			}
			json_decref(v);
		}
		rad_jsonl_close(in);
	}
	if (!e.w && !kind) rad_die(RAD_EXIT_DATA, NULL, "empty input and no --kind: no stream to write (--kind names its kind)");
	if (!e.w) {   /* nothing came in, and the kind is known: the empty stream of that kind */
		rad_header h = {.version = RAD_STREAM_VERSION};
		snprintf(h.kind, sizeof h.kind, "%s", kind);
		encoder_start(&e, &h);
	}
	long long n = rad_writer_count(e.w);
	rad_writer_close(e.w);
	rad_rec_free(&rec);
	return n;
}
