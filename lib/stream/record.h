/* stream/record.h — one typed record of the binary stream: a 4-byte type and named fields.
 *
 * Every record is self-describing: a sequence of named, typed fields, so rad-dump can
 * print any record and new fields never break old readers.  Layout (man 5 rad-stream):
 *
 *   record  := type:u32  length:u32  field*                (length = bytes of field*)
 *   field   := dtype:u8  namelen:u8  name[namelen]  pad to 4  count:u32  pad to 8  data
 *              data is count elements of dtype, then pad to 8.
 *
 * All integers little-endian.  Offsets are relative to the start of field*, which
 * readers keep 8-byte aligned, so arrays can be used in place. */
#ifndef RAD_RECORD_H
#define RAD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define RAD_TYPE(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define RAD_REC_HEADER RAD_TYPE('H', 'E', 'A', 'D')
#define RAD_REC_PAIR   RAD_TYPE('P', 'A', 'I', 'R')   /* one tokenized preference pair */
#define RAD_REC_BATCH  RAD_TYPE('B', 'T', 'C', 'H')   /* one training batch */

enum rad_dtype {
	RAD_I32 = 1,   /* int32_t[count] */
	RAD_F32 = 2,   /* float[count] */
	RAD_F64 = 3,   /* double[count] */
	RAD_U8 = 4,    /* uint8_t[count] */
	RAD_STR = 5,   /* one UTF-8 string of count bytes (no NUL stored) */
	RAD_STRS = 6,  /* count strings, each u32 length + bytes, packed */
	RAD_INT = 7,   /* int64_t, count = 1 */
	RAD_NUM = 8,   /* double, count = 1 */
};

#define RAD_FIELD_NAME_MAX 255
#define RAD_MAX_FIELDS 64

typedef struct rad_field {
	const char *name;      /* NUL-terminated copy */
	int dtype;
	uint32_t count;
	const void *data;      /* into the record buffer, 8-byte aligned */
	size_t bytes;
} rad_field;

typedef struct rad_rec {
	uint32_t type;
	unsigned char *buf;    /* field* bytes (8-byte aligned) */
	size_t len, cap;
	int nfields;
	rad_field fields[RAD_MAX_FIELDS];
	char names[RAD_MAX_FIELDS][RAD_FIELD_NAME_MAX + 1];
} rad_rec;

void rad_rec_init(rad_rec *r);
void rad_rec_free(rad_rec *r);
/* Starts building a new record of the given type (keeps the buffer). */
void rad_rec_reset(rad_rec *r, uint32_t type);

/* Appending fields.  Names are unique within a record; a second put of a name is a
 * programming error (abort). */
void rad_rec_put(rad_rec *r, const char *name, int dtype, const void *data, uint32_t count);
void rad_rec_put_i32s(rad_rec *r, const char *name, const int32_t *v, uint32_t n);
void rad_rec_put_f32s(rad_rec *r, const char *name, const float *v, uint32_t n);
void rad_rec_put_f64s(rad_rec *r, const char *name, const double *v, uint32_t n);
void rad_rec_put_u8s(rad_rec *r, const char *name, const uint8_t *v, uint32_t n);
void rad_rec_put_str(rad_rec *r, const char *name, const char *s);   /* NULL = "" */
void rad_rec_put_strn(rad_rec *r, const char *name, const char *s, size_t n);
void rad_rec_put_strs(rad_rec *r, const char *name, const char *const *v, uint32_t n);
void rad_rec_put_int(rad_rec *r, const char *name, int64_t v);
void rad_rec_put_num(rad_rec *r, const char *name, double v);

/* For readers: resets r to `type` with room for len bytes of fields, sets r->len = len and
 * returns r->buf to fill before rad_rec_parse. */
unsigned char *rad_rec_prepare(rad_rec *r, uint32_t type, size_t len);
/* Extends r->len by n bytes and returns where they go (for reading in pieces). */
unsigned char *rad_rec_prepare_more(rad_rec *r, size_t n);
/* Parses r->buf[r->len] into r->fields.  Returns NULL on success or
 * a static message saying what is malformed. */
const char *rad_rec_parse(rad_rec *r);

/* Looking fields up: NULL / fallback when absent.  The typed getters also return NULL
 * when the field exists with another dtype. */
const rad_field *rad_rec_get(const rad_rec *r, const char *name);
const int32_t *rad_rec_i32s(const rad_rec *r, const char *name, uint32_t *n);
const float *rad_rec_f32s(const rad_rec *r, const char *name, uint32_t *n);
const double *rad_rec_f64s(const rad_rec *r, const char *name, uint32_t *n);
const uint8_t *rad_rec_u8s(const rad_rec *r, const char *name, uint32_t *n);
/* A string field as a fresh NUL-terminated copy written into out[outsz] (truncated);
 * returns out, or NULL if absent. */
const char *rad_rec_str(const rad_rec *r, const char *name, char *out, size_t outsz);
/* The i-th string of a RAD_STRS field: pointer and length, or NULL. */
const char *rad_rec_strs_at(const rad_field *f, uint32_t i, uint32_t *len);
int64_t rad_rec_int(const rad_rec *r, const char *name, int64_t fallback);
double rad_rec_num(const rad_rec *r, const char *name, double fallback);

/* Copies every field of src into dst (dst must have been reset), except those named in
 * `skip` (NULL-terminated list, may be NULL): how a filter passes a record through while
 * adding fields. */
void rad_rec_copy_fields(rad_rec *dst, const rad_rec *src, const char *const *skip);

const char *rad_type_name(uint32_t type, char out[5]);
const char *rad_dtype_name(int dtype);

#endif
