/* nn/rope.c — rotary position embeddings (rotate-half, as Hugging Face's Llama and Qwen),
 * with the Llama-3 frequency rescaling.  The rotation is orthogonal, so the backward is
 * the same rotation by the opposite angle. */
#include <math.h>
#include "nn/llama_layers.h"

void rad_rope_inv_freq(float *inv_freq, int d, float theta, int scaling, float factor, float low,
                       float high, int orig_ctx)
{
	int half = d / 2;
	for (int i = 0; i < half; i++) {
		/* as HF: 1 / theta^(2i/d), in fp32 */
		float f = (float)(1.0 / pow((double)theta, (double)(2 * i) / d));
		if (scaling == 1) {
			double wavelen = 2 * M_PI / f, lo_wl = orig_ctx / low, hi_wl = orig_ctx / high;
			if (wavelen > lo_wl) {
				f = (float)(f / factor);
			} else if (wavelen >= hi_wl) {   /* between: interpolate */
				double smooth = (orig_ctx / wavelen - low) / (high - low);
				f = (float)((1 - smooth) * f / factor + smooth * f);
			}
		}
		inv_freq[i] = f;
	}
}

void rad_rope_table(float *cs, const int32_t *pos, int n, const float *inv_freq, int d)
{
	int half = d / 2;
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
		float *r = cs + (size_t)t * d;
		for (int i = 0; i < half; i++) {
			float a = (float)pos[t] * inv_freq[i];   /* the product in fp32, as HF */
			r[i] = (float)cos((double)a);
			r[half + i] = (float)sin((double)a);
		}
	}
}

static void rotate(float *qkv, const float *cs, int n, int h, int g, int d, float sign)
{
	int w = (h + 2 * g) * d, half = d / 2;
	#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
		const float *co = cs + (size_t)t * d, *si = co + half;
		float *row = qkv + (size_t)t * w;
		for (int k = 0; k < h + g; k++) {
			float *x = row + (size_t)k * d;
			#pragma omp simd
			for (int i = 0; i < half; i++) {
				float a = x[i], b = x[i + half], s = sign * si[i];
				x[i] = a * co[i] - b * s;
				x[i + half] = b * co[i] + a * s;
			}
		}
	}
}

void rad_rope_forward(float *qkv, const float *cs, int n, int h, int g, int d)
{
	rotate(qkv, cs, n, h, g, d, 1.0f);
}

void rad_rope_backward(float *dqkv, const float *cs, int n, int h, int g, int d)
{
	rotate(dqkv, cs, n, h, g, d, -1.0f);
}
