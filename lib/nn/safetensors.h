/* nn/safetensors.h — the safetensors file format: read by mapping, write fp32 or bf16.
 *
 * File: u64 LE header length, a JSON header {name: {"dtype", "shape", "data_offsets":
 * [begin, end]}, "__metadata__": {str: str}}, then the tensor bytes (offsets relative to
 * the end of the header). */
#ifndef RAD_SAFETENSORS_H
#define RAD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

enum { RAD_ST_F32 = 0, RAD_ST_F16 = 1, RAD_ST_BF16 = 2 };

typedef struct rad_st_tensor {
	char *name;
	int dtype;                 /* RAD_ST_*, -1 for any other dtype (refused on conversion) */
	char dtype_name[16];
	int ndim;
	int64_t shape[8];
	int64_t numel;
	const void *data;          /* into the mapping */
	size_t bytes;
} rad_st_tensor;

typedef struct rad_st {
	void *map;
	size_t size;
	int n;
	rad_st_tensor *t;
	char *meta;                /* "__metadata__" as JSON text, or NULL */
} rad_st;

/* Maps path and parses the header, checking every offset lies inside the file and matches
 * dtype x shape.  Returns NULL or a message. */
const char *rad_st_open(rad_st *st, const char *path);
const rad_st_tensor *rad_st_find(const rad_st *st, const char *name);
/* Converts the tensor to fp32 into dst[numel]; NULL or a message (unsupported dtype). */
const char *rad_st_to_f32(const rad_st_tensor *t, float *dst);
/* The same into bf16 (rounded to nearest even from F32 and F16, copied from BF16). */
const char *rad_st_to_bf16(const rad_st_tensor *t, uint16_t *dst);
/* Gives back the mapped pages that lie wholly inside t's bytes once they are converted:
 * a loader that copies every tensor then holds the weights once, not twice (the mapping's
 * pages count in the resident set until dropped).  Reading t again stays correct. */
void rad_st_release(const rad_st_tensor *t);
void rad_st_close(rad_st *st);

/* A command-line option's dtype: "fp32" RAD_ST_F32 or "bf16" RAD_ST_BF16; anything else
 * is a usage error naming option (e.g. "--dtype"). */
int rad_st_dtype_arg(const char *option, const char *arg);

float rad_bf16_to_f32(uint16_t h);
uint16_t rad_f32_to_bf16(float f);     /* round to nearest even; NaN stays NaN */
float rad_f16_to_f32(uint16_t h);

/* One tensor to write: HF shape, and where its values are.  Source element (i, j) of the
 * internal [rows, cols] block is src[i * cols + j] (or src_bf16[i * cols + j] when the
 * values are held in bf16: src is then NULL); transposed means the file holds the
 * [cols, rows] transpose (GPT-2 Conv1D). */
typedef struct rad_st_out {
	const char *name;
	int ndim;
	int64_t shape[2];
	const float *src;
	int64_t rows, cols;
	int transposed;
	const uint16_t *src_bf16;
} rad_st_out;

/* Writes the tensors (in the order given) to path in dtype RAD_ST_F32 or RAD_ST_BF16,
 * with metadata {"format": "pt"} plus meta_kv (NULL-terminated key, value list, may be
 * NULL).  Writes path directly (callers rename); fsyncs.  NULL or a message; on failure
 * (a full disk) the partial file is removed. */
const char *rad_st_write(const char *path, const rad_st_out *t, int n, int dtype, const char *const *meta_kv);

/* A checkpoint's weights and its configuration appear together or not at all: writes the
 * tensors to path.tmp, then renames it to path and cfg_tmp (a configuration already
 * written) to cfg.  On failure both temporaries are removed.  NULL or a message. */
const char *rad_st_write_beside(const char *path, const rad_st_out *t, int n, int dtype, const char *cfg_tmp,
                                const char *cfg);

#endif
