/* stream/record.c — building and parsing self-describing records (layout in record.h). */
#include "stream/record.h"
#include "base/cli.h"

#include <stdlib.h>
#include <string.h>

static size_t dtype_size(int dtype)
{
	switch (dtype) {
	case RAD_I32: case RAD_F32: return 4;
	case RAD_F64: case RAD_INT: case RAD_NUM: return 8;
	case RAD_U8: case RAD_STR: case RAD_STRS: return 1;
	}
	return 0;
}

const char *rad_dtype_name(int dtype)
{
	static const char *names[] = {"?", "i32", "f32", "f64", "u8", "str", "strs", "int", "num"};
	return dtype >= 1 && dtype <= 8 ? names[dtype] : "?";
}

const char *rad_type_name(uint32_t type, char out[5])
{
	for (int i = 0; i < 4; i++) {
		unsigned char c = type >> (8 * i);
		out[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	out[4] = 0;
	return out;
}

void rad_rec_init(rad_rec *r) { memset(r, 0, sizeof *r); }

void rad_rec_free(rad_rec *r)
{
	free(r->buf);
	rad_rec_init(r);
}

void rad_rec_reset(rad_rec *r, uint32_t type)
{
	r->type = type;
	r->len = 0;
	r->nfields = 0;
}

/* Grows the buffer, keeping it 8-byte aligned; field pointers are re-derived after. */
static void reserve(rad_rec *r, size_t need)
{
	if (r->len + need <= r->cap) return;
	size_t cap = r->cap ? r->cap : 256;
	while (cap < r->len + need) cap *= 2;
	unsigned char *old = r->buf;
	r->buf = rad_realloc(r->buf, cap);   /* malloc alignment is at least 16 */
	r->cap = cap;
	if (old != r->buf)
		for (int i = 0; i < r->nfields; i++)
			r->fields[i].data = r->buf + ((const unsigned char *)r->fields[i].data - old);
}

unsigned char *rad_rec_prepare(rad_rec *r, uint32_t type, size_t len)
{
	rad_rec_reset(r, type);
	reserve(r, len ? len : 1);   /* never a NULL buffer, even for an empty record */
	r->len = len;
	return r->buf;
}

unsigned char *rad_rec_prepare_more(rad_rec *r, size_t n)
{
	reserve(r, n ? n : 1);
	r->len += n;
	return r->buf + r->len - n;
}

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }
static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static uint32_t get_u32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Starts a field: writes its header and returns where its data goes. */
static unsigned char *begin_field(rad_rec *r, const char *name, int dtype, uint32_t count, size_t bytes)
{
	size_t nl = strlen(name);
	if (nl == 0 || nl > RAD_FIELD_NAME_MAX || r->nfields >= RAD_MAX_FIELDS || rad_rec_get(r, name)) {
		fprintf(stderr, "%s: internal error: bad or duplicate record field '%s'\n", rad_prog, name);
		abort();
	}
	size_t hdr = pad8(pad4(2 + nl) + 4);
	reserve(r, hdr + pad8(bytes));
	unsigned char *p = r->buf + r->len;
	memset(p, 0, hdr);
	p[0] = dtype;
	p[1] = nl;
	memcpy(p + 2, name, nl);
	put_u32(p + pad4(2 + nl), count);
	unsigned char *data = p + hdr;
	memset(data + bytes, 0, pad8(bytes) - bytes);
	rad_field *f = &r->fields[r->nfields];
	memcpy(r->names[r->nfields], name, nl + 1);
	f->name = r->names[r->nfields];
	f->dtype = dtype;
	f->count = count;
	f->data = data;
	f->bytes = bytes;
	r->nfields++;
	r->len += hdr + pad8(bytes);
	return data;
}

/* Data is stored little-endian; this project targets little-endian hosts (checked at
 * build time below), so arrays are copied as they are. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "rad's stream format assumes a little-endian host");

void rad_rec_put(rad_rec *r, const char *name, int dtype, const void *data, uint32_t count)
{
	size_t bytes = (size_t)count * dtype_size(dtype);
	unsigned char *d = begin_field(r, name, dtype, count, bytes);
	if (bytes) memcpy(d, data, bytes);
}

void rad_rec_put_i32s(rad_rec *r, const char *n, const int32_t *v, uint32_t c) { rad_rec_put(r, n, RAD_I32, v, c); }
void rad_rec_put_f32s(rad_rec *r, const char *n, const float *v, uint32_t c) { rad_rec_put(r, n, RAD_F32, v, c); }
void rad_rec_put_f64s(rad_rec *r, const char *n, const double *v, uint32_t c) { rad_rec_put(r, n, RAD_F64, v, c); }
void rad_rec_put_u8s(rad_rec *r, const char *n, const uint8_t *v, uint32_t c) { rad_rec_put(r, n, RAD_U8, v, c); }
void rad_rec_put_int(rad_rec *r, const char *n, int64_t v) { rad_rec_put(r, n, RAD_INT, &v, 1); }
void rad_rec_put_num(rad_rec *r, const char *n, double v) { rad_rec_put(r, n, RAD_NUM, &v, 1); }
void rad_rec_put_strn(rad_rec *r, const char *n, const char *s, size_t len) { rad_rec_put(r, n, RAD_STR, s, len); }
void rad_rec_put_str(rad_rec *r, const char *n, const char *s) { rad_rec_put_strn(r, n, s ? s : "", s ? strlen(s) : 0); }

void rad_rec_put_strs(rad_rec *r, const char *name, const char *const *v, uint32_t n)
{
	size_t bytes = 0;
	for (uint32_t i = 0; i < n; i++) bytes += 4 + strlen(v[i] ? v[i] : "");
	unsigned char *d = begin_field(r, name, RAD_STRS, n, bytes);
	for (uint32_t i = 0; i < n; i++) {
		const char *s = v[i] ? v[i] : "";
		size_t l = strlen(s);
		put_u32(d, l);
		memcpy(d + 4, s, l);
		d += 4 + l;
	}
}

const char *rad_rec_parse(rad_rec *r)
{
	r->nfields = 0;
	size_t off = 0;
	while (off < r->len) {
		if (r->nfields >= RAD_MAX_FIELDS) return "too many fields";
		if (r->len - off < 8) return "field header runs past the record";
		const unsigned char *p = r->buf + off;
		int dtype = p[0];
		size_t nl = p[1];
		size_t esize = dtype_size(dtype);
		if (!esize) return "unknown field type";
		if (nl == 0) return "empty field name";
		size_t hdr = pad8(pad4(2 + nl) + 4);
		if (r->len - off < hdr) return "field header runs past the record";
		for (size_t i = 0; i < nl; i++)
			if (p[2 + i] < 0x20 || p[2 + i] >= 0x7f) return "field name is not printable ASCII";
		uint32_t count = get_u32(p + pad4(2 + nl));
		size_t bytes;
		if (dtype == RAD_STRS) {
			/* Walk the packed strings to find the length, checking each. */
			size_t q = off + hdr;
			for (uint32_t i = 0; i < count; i++) {
				if (r->len - q < 4) return "string list runs past the record";
				uint32_t l = get_u32(r->buf + q);
				if (r->len - q - 4 < l) return "string list runs past the record";
				q += 4 + l;
			}
			bytes = q - off - hdr;
		} else {
			if ((dtype == RAD_INT || dtype == RAD_NUM) && count != 1) return "scalar field with count != 1";
			bytes = (size_t)count * esize;
			if (bytes / esize != count || r->len - off - hdr < bytes) return "field data runs past the record";
		}
		if (r->len - off - hdr < pad8(bytes)) return "field data runs past the record";
		rad_field *f = &r->fields[r->nfields];
		memcpy(r->names[r->nfields], p + 2, nl);
		r->names[r->nfields][nl] = 0;
		for (int i = 0; i < r->nfields; i++)
			if (!strcmp(r->fields[i].name, r->names[r->nfields])) return "duplicate field name";
		f->name = r->names[r->nfields];
		f->dtype = dtype;
		f->count = count;
		f->data = r->buf + off + hdr;
		f->bytes = bytes;
		r->nfields++;
		off += hdr + pad8(bytes);
	}
	return NULL;
}

const rad_field *rad_rec_get(const rad_rec *r, const char *name)
{
	for (int i = 0; i < r->nfields; i++)
		if (!strcmp(r->fields[i].name, name)) return &r->fields[i];
	return NULL;
}

static const void *typed(const rad_rec *r, const char *name, int dtype, uint32_t *n)
{
	const rad_field *f = rad_rec_get(r, name);
	if (!f || f->dtype != dtype) {
		if (n) *n = 0;
		return NULL;
	}
	if (n) *n = f->count;
	return f->data;
}

const int32_t *rad_rec_i32s(const rad_rec *r, const char *name, uint32_t *n) { return typed(r, name, RAD_I32, n); }
const float *rad_rec_f32s(const rad_rec *r, const char *name, uint32_t *n) { return typed(r, name, RAD_F32, n); }
const double *rad_rec_f64s(const rad_rec *r, const char *name, uint32_t *n) { return typed(r, name, RAD_F64, n); }
const uint8_t *rad_rec_u8s(const rad_rec *r, const char *name, uint32_t *n) { return typed(r, name, RAD_U8, n); }

const char *rad_rec_str(const rad_rec *r, const char *name, char *out, size_t outsz)
{
	uint32_t n;
	const char *s = typed(r, name, RAD_STR, &n);
	if (!s || !outsz) return NULL;
	size_t k = n < outsz - 1 ? n : outsz - 1;
	memcpy(out, s, k);
	out[k] = 0;
	return out;
}

const char *rad_rec_strs_at(const rad_field *f, uint32_t i, uint32_t *len)
{
	if (!f || f->dtype != RAD_STRS || i >= f->count) return NULL;
	const unsigned char *p = f->data;
	for (uint32_t j = 0; j < i; j++) p += 4 + get_u32(p);
	*len = get_u32(p);
	return (const char *)p + 4;
}

int64_t rad_rec_int(const rad_rec *r, const char *name, int64_t fallback)
{
	const int64_t *v = typed(r, name, RAD_INT, NULL);
	return v ? *v : fallback;
}

double rad_rec_num(const rad_rec *r, const char *name, double fallback)
{
	const double *v = typed(r, name, RAD_NUM, NULL);
	return v ? *v : fallback;
}

void rad_rec_copy_fields(rad_rec *dst, const rad_rec *src, const char *const *skip)
{
	for (int i = 0; i < src->nfields; i++) {
		const rad_field *f = &src->fields[i];
		int skipped = 0;
		for (const char *const *s = skip; s && *s; s++)
			if (!strcmp(*s, f->name)) skipped = 1;
		if (skipped) continue;
		unsigned char *d = begin_field(dst, f->name, f->dtype, f->count, f->bytes);
		if (f->bytes) memcpy(d, f->data, f->bytes);
	}
}
