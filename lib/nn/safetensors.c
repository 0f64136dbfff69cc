/* nn/safetensors.c — read (mmap) and write safetensors files. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/cli.h"
#include "nn/safetensors.h"

float rad_bf16_to_f32(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

uint16_t rad_f32_to_bf16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40);
	u += 0x7fff + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

float rad_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
	if (exp == 0) {
		if (man == 0) u = sign;
		else {            /* subnormal: normalise */
			int e = -1;
			do { e++; man <<= 1; } while (!(man & 0x400));
			u = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
		}
	} else if (exp == 31) {
		u = sign | 0x7f800000 | man << 13;
	} else {
		u = sign | (exp + 112) << 23 | man << 13;
	}
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static int dtype_of(const char *s, size_t *esz)
{
	if (!strcmp(s, "F32")) { *esz = 4; return RAD_ST_F32; }
	if (!strcmp(s, "F16")) { *esz = 2; return RAD_ST_F16; }
	if (!strcmp(s, "BF16")) { *esz = 2; return RAD_ST_BF16; }
	if (!strcmp(s, "F64") || !strcmp(s, "I64") || !strcmp(s, "U64")) *esz = 8;
	else if (!strcmp(s, "I32") || !strcmp(s, "U32")) *esz = 4;
	else if (!strcmp(s, "I16") || !strcmp(s, "U16")) *esz = 2;
	else *esz = 1;   /* I8, U8, BOOL, F8_* */
	return -1;
}

const char *rad_st_open(rad_st *st, const char *path)
{
	static __thread char msg[512];
	memset(st, 0, sizeof *st);
	int fd = open(path, O_RDONLY);
	if (fd < 0) { snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno)); return msg; }
	struct stat sb;
	if (fstat(fd, &sb) < 0 || sb.st_size < 8) {
		close(fd);
		snprintf(msg, sizeof msg, "%s: not a safetensors file (too short)", path);
		return msg;
	}
	st->size = (size_t)sb.st_size;
	st->map = mmap(NULL, st->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (st->map == MAP_FAILED) {
		st->map = NULL;
		snprintf(msg, sizeof msg, "%s: mmap: %s", path, strerror(errno));
		return msg;
	}
	const unsigned char *p = st->map;
	uint64_t hl = 0;
	for (int i = 0; i < 8; i++) hl |= (uint64_t)p[i] << (8 * i);
	if (hl > st->size - 8 || hl > (100u << 20)) {
		snprintf(msg, sizeof msg, "%s: header length %llu does not fit the file", path, (unsigned long long)hl);
		rad_st_close(st);
		return msg;
	}
	json_error_t je;
	json_t *h = json_loadb((const char *)p + 8, hl, 0, &je);
	if (!h || !json_is_object(h)) {
		snprintf(msg, sizeof msg, "%s: header: %s", path, h ? "not a JSON object" : je.text);
		json_decref(h);
		rad_st_close(st);
		return msg;
	}
	const unsigned char *data = p + 8 + hl;
	size_t dsize = st->size - 8 - hl;
	st->t = rad_calloc(json_object_size(h) + 1, sizeof *st->t);
	const char *key;
	json_t *v;
	json_object_foreach(h, key, v) {
		if (!strcmp(key, "__metadata__")) {
			st->meta = json_dumps(v, JSON_COMPACT);
			continue;
		}
		rad_st_tensor *t = &st->t[st->n];
		json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"), *of = json_object_get(v, "data_offsets");
		if (!json_is_string(dt) || !json_is_array(sh) || json_array_size(sh) > 8 || !json_is_array(of) ||
		    json_array_size(of) != 2 || !json_is_integer(json_array_get(of, 0)) || !json_is_integer(json_array_get(of, 1))) {
			snprintf(msg, sizeof msg, "%s: tensor \"%s\": malformed header entry", path, key);
			goto bad;
		}
		size_t esz;
		t->dtype = dtype_of(json_string_value(dt), &esz);
		snprintf(t->dtype_name, sizeof t->dtype_name, "%s", json_string_value(dt));
		t->ndim = (int)json_array_size(sh);
		t->numel = 1;
		for (int i = 0; i < t->ndim; i++) {
			json_t *d = json_array_get(sh, i);
			if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > ((int64_t)1 << 40)) {
				snprintf(msg, sizeof msg, "%s: tensor \"%s\": bad shape", path, key);
				goto bad;
			}
			t->shape[i] = json_integer_value(d);
			t->numel *= t->shape[i];
			if (t->numel > ((int64_t)1 << 40)) {
				snprintf(msg, sizeof msg, "%s: tensor \"%s\": bad shape", path, key);
				goto bad;
			}
		}
		json_int_t b0 = json_integer_value(json_array_get(of, 0)), b1 = json_integer_value(json_array_get(of, 1));
		if (b0 < 0 || b1 < b0 || (uint64_t)b1 > dsize || (uint64_t)(b1 - b0) != (uint64_t)t->numel * esz) {
			snprintf(msg, sizeof msg, "%s: tensor \"%s\": data offsets [%lld, %lld] do not match its shape or the file",
			         path, key, (long long)b0, (long long)b1);
			goto bad;
		}
		t->name = rad_strdup(key);
		t->data = data + b0;
		t->bytes = (size_t)(b1 - b0);
		st->n++;
	}
	json_decref(h);
	return NULL;
bad:
	json_decref(h);
	rad_st_close(st);
	return msg;
}

const rad_st_tensor *rad_st_find(const rad_st *st, const char *name)
{
	for (int i = 0; i < st->n; i++)
		if (!strcmp(st->t[i].name, name)) return &st->t[i];
	return NULL;
}

const char *rad_st_to_f32(const rad_st_tensor *t, float *dst)
{
	static __thread char msg[160];
	size_t n = (size_t)t->numel;
	const unsigned char *s = t->data;
	switch (t->dtype) {
	case RAD_ST_F32:
		memcpy(dst, s, n * 4);
		return NULL;
	case RAD_ST_BF16:
		#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < n; i++) dst[i] = rad_bf16_to_f32((uint16_t)(s[2 * i] | s[2 * i + 1] << 8));
		return NULL;
	case RAD_ST_F16:
		#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < n; i++) dst[i] = rad_f16_to_f32((uint16_t)(s[2 * i] | s[2 * i + 1] << 8));
		return NULL;
	}
	snprintf(msg, sizeof msg, "tensor \"%s\": dtype %s is not a float type rad loads (F32, F16, BF16)", t->name, t->dtype_name);
	return msg;
}

int rad_st_dtype_arg(const char *option, const char *arg)
{
	if (!strcmp(arg, "fp32")) return RAD_ST_F32;
	if (!strcmp(arg, "bf16")) return RAD_ST_BF16;
	rad_usage_error("%s: fp32 or bf16, not \"%s\"", option, arg);
}

const char *rad_st_to_bf16(const rad_st_tensor *t, uint16_t *dst)
{
	size_t n = (size_t)t->numel;
	const unsigned char *s = t->data;
	switch (t->dtype) {
	case RAD_ST_BF16:
		memcpy(dst, s, n * 2);
		return NULL;
	case RAD_ST_F32:
		#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < n; i++) {
			float f;
			memcpy(&f, s + 4 * i, 4);
			dst[i] = rad_f32_to_bf16(f);
		}
		return NULL;
	case RAD_ST_F16:
		#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < n; i++) dst[i] = rad_f32_to_bf16(rad_f16_to_f32((uint16_t)(s[2 * i] | s[2 * i + 1] << 8)));
		return NULL;
	}
	return rad_st_to_f32(t, NULL);   /* the same message */
}

void rad_st_release(const rad_st_tensor *t)
{
	/* the mapping starts on a page, so its pages are the address space's */
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), lo = (uintptr_t)t->data, hi = lo + t->bytes;
	lo = (lo + pg - 1) / pg * pg;   /* pages wholly inside [data, data + bytes) */
	hi = hi / pg * pg;
	if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void rad_st_close(rad_st *st)
{
	if (st->map) munmap(st->map, st->size);
	for (int i = 0; i < st->n; i++) free(st->t[i].name);
	free(st->t);
	free(st->meta);
	memset(st, 0, sizeof *st);
}

const char *rad_st_write(const char *path, const rad_st_out *t, int n, int dtype, const char *const *meta_kv)
{
	static __thread char msg[512];
	size_t esz = dtype == RAD_ST_BF16 ? 2 : 4;
	json_t *h = json_object(), *meta = json_object();
	json_object_set_new(meta, "format", json_string("pt"));
	for (int i = 0; meta_kv && meta_kv[i] && meta_kv[i + 1]; i += 2)
		json_object_set_new(meta, meta_kv[i], json_string(meta_kv[i + 1]));
	json_object_set_new(h, "__metadata__", meta);
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		json_t *e = json_object(), *sh = json_array(), *of = json_array();
		json_object_set_new(e, "dtype", json_string(dtype == RAD_ST_BF16 ? "BF16" : "F32"));
		for (int d = 0; d < t[i].ndim; d++) json_array_append_new(sh, json_integer(t[i].shape[d]));
		json_object_set_new(e, "shape", sh);
		size_t bytes = (size_t)t[i].rows * t[i].cols * esz;
		json_array_append_new(of, json_integer((json_int_t)off));
		json_array_append_new(of, json_integer((json_int_t)(off + bytes)));
		json_object_set_new(e, "data_offsets", of);
		json_object_set_new(h, t[i].name, e);
		off += bytes;
	}
	char *js = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(h);
	size_t jl = strlen(js), pad = (8 - jl % 8) % 8;
	FILE *f = fopen(path, "wb");
	if (!f) {
		free(js);
		snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
		return msg;
	}
	struct stat sb;
	int regular = fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode);   /* not /dev/full, not a pipe */
	uint64_t hl = jl + pad;
	unsigned char hb[8];
	for (int i = 0; i < 8; i++) hb[i] = (unsigned char)(hl >> (8 * i));
	fwrite(hb, 1, 8, f);
	fwrite(js, 1, jl, f);
	for (size_t i = 0; i < pad; i++) fputc(' ', f);
	free(js);
	size_t cap = 1 << 20;
	unsigned char *buf = rad_malloc(cap * 4);
	for (int i = 0; i < n; i++) {
		const rad_st_out *o = &t[i];
		size_t total = (size_t)o->rows * o->cols;
		/* file order: row-major over the HF shape; transposed = [cols][rows] */
		for (size_t e0 = 0; e0 < total; e0 += cap) {
			size_t cnt = total - e0 < cap ? total - e0 : cap;
			for (size_t e = 0; e < cnt; e++) {
				size_t fe = e0 + e, si;
				if (o->transposed) si = (fe % o->rows) * o->cols + fe / o->rows;
				else si = fe;
				if (o->src_bf16 && esz == 2) {   /* as held: nothing to round */
					buf[2 * e] = (unsigned char)o->src_bf16[si];
					buf[2 * e + 1] = (unsigned char)(o->src_bf16[si] >> 8);
					continue;
				}
				float v = o->src_bf16 ? rad_bf16_to_f32(o->src_bf16[si]) : o->src[si];
				if (esz == 4) memcpy(buf + 4 * e, &v, 4);
				else { uint16_t b = rad_f32_to_bf16(v); buf[2 * e] = (unsigned char)b; buf[2 * e + 1] = (unsigned char)(b >> 8); }
			}
			fwrite(buf, esz, cnt, f);
		}
	}
	free(buf);
	int bad = ferror(f);
	if (fflush(f) != 0) bad = 1;
	if (!bad && fsync(fileno(f)) != 0) bad = 1;
	if (fclose(f) != 0) bad = 1;
	if (bad) {
		snprintf(msg, sizeof msg, "%s: write failed: %s", path, strerror(errno));
		if (regular) unlink(path);   /* a truncated file must not pass for a checkpoint */
		return msg;
	}
	return NULL;
}

const char *rad_st_write_beside(const char *path, const rad_st_out *t, int n, int dtype, const char *cfg_tmp,
                                const char *cfg)
{
	static __thread char msg[2400];
	char tmp[1100];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	const char *e = rad_st_write(tmp, t, n, dtype, NULL);   /* removes its file on failure */
	if (e) {
		unlink(cfg_tmp);
		return e;
	}
	if (rename(tmp, path) != 0 || rename(cfg_tmp, cfg) != 0) {
		snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
		unlink(tmp);
		unlink(cfg_tmp);
		return msg;
	}
	return NULL;
}
