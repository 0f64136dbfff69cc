/* prefs/scores.c — score text, scales, rounding, histograms (see scores.h). */
#include "prefs/scores.h"
#include "base/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int rad_score_text(char out[40], double v)
{
	if (!isfinite(v)) return snprintf(out, 40, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
	if (v == 0) return snprintf(out, 40, "0");   /* also -0 */
	if (v == floor(v) && fabs(v) < 1e15) return snprintf(out, 40, "%.0f", v);
	if (fabs(v) >= 1e15 || fabs(v) < 1e-6) return snprintf(out, 40, "%.17g", v);
	int len = 0;
	for (int prec = 1; prec <= 24; prec++) {
		len = snprintf(out, 40, "%.*f", prec, v);
		if (strtod(out, NULL) == v) break;
	}
	return len;
}

void rad_scale_init(rad_scale *s)
{
	memset(s, 0, sizeof *s);
	s->mode = RAD_SCALE_NONE;
	s->lo = 1;
	s->hi = 10;
}

void rad_scale_free(rad_scale *s)
{
	free(s->sorted);
	s->sorted = NULL;
	s->n = s->cap = 0;
}

int rad_parse_range(const char *text, double *lo, double *hi)
{
	char *end;
	double a = strtod(text, &end);
	if (end == text || *end != ':') return 0;
	const char *b_text = end + 1;
	double b = strtod(b_text, &end);
	if (end == b_text || *end || !isfinite(a) || !isfinite(b) || !(a < b)) return 0;
	*lo = a;
	*hi = b;
	return 1;
}

/* The most decimals a step is printed with; smaller steps are used unprinted. */
#define MAX_STEP_DECIMALS 30

int rad_scale_set_step(rad_scale *s, double step)
{
	if (!isfinite(step) || step < 0) return 0;
	s->step = step;
	/* The fewest decimals that print the step to within a billionth of itself (0.5 -> 1,
	 * 0.25 -> 2, 1e-12 -> 12): relative, so that a tiny step is not taken for 0. */
	s->step_decimals = 0;
	for (;;) {
		char buf[64];
		snprintf(buf, sizeof buf, "%.*f", s->step_decimals, step);
		if (fabs(strtod(buf, NULL) - step) <= 1e-9 * step) break;
		if (++s->step_decimals > MAX_STEP_DECIMALS) { s->step_decimals = -1; break; }
	}
	return 1;
}

double rad_round_step(double v, double step, int decimals)
{
	if (!(step > 0)) return v;
	double q = v / step;
	if (!isfinite(q) || fabs(q) >= 0x1p52) return v;   /* no multiple of step lies between v's neighbours */
	double r = round(q) * step;
	if (decimals < 0) return r;
	char buf[400];   /* 309 digits before the point, MAX_STEP_DECIMALS after */
	snprintf(buf, sizeof buf, "%.*f", decimals, r);
	return strtod(buf, NULL);
}

void rad_scale_rank_add(rad_scale *s, double v)
{
	if (s->mode == RAD_SCALE_MINMAX) {   /* the ends are all it needs */
		if (!s->n || v < s->seen_lo) s->seen_lo = v;
		if (!s->n || v > s->seen_hi) s->seen_hi = v;
		s->n++;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->sorted = rad_realloc(s->sorted, s->cap * sizeof *s->sorted);
	}
	s->sorted[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void rad_scale_rank_ready(rad_scale *s)
{
	if (s->mode == RAD_SCALE_MINMAX) {
		s->from_lo = s->seen_lo;
		s->from_hi = s->seen_hi;
		return;
	}
	if (s->n) qsort(s->sorted, s->n, sizeof *s->sorted, cmp_double);
}

/* The number of sorted values < v (strict = 1) or <= v (strict = 0). */
static size_t count_below(const double *a, size_t n, double v, int strict)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strict ? a[mid] < v : a[mid] <= v) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

int rad_scale_accepts(const rad_scale *s, double v)
{
	switch (s->mode) {
	case RAD_SCALE_LINEAR: return v >= s->from_lo && v <= s->from_hi;
	case RAD_SCALE_NONE: return v >= s->lo && v <= s->hi;
	default: return 1;
	}
}

const char *rad_scale_source_text(const rad_scale *s, char out[96])
{
	char a[40], b[40];
	int linear = s->mode == RAD_SCALE_LINEAR;
	rad_score_text(a, linear ? s->from_lo : s->lo);
	rad_score_text(b, linear ? s->from_hi : s->hi);
	snprintf(out, 96, "%s %s:%s", linear ? "--from" : "--scale", a, b);
	return out;
}

double rad_scale_clamp(const rad_scale *s, double v)
{
	if (s->mode == RAD_SCALE_RANK || s->mode == RAD_SCALE_MINMAX) return v;
	double lo = s->mode == RAD_SCALE_LINEAR ? s->from_lo : s->lo, hi = s->mode == RAD_SCALE_LINEAR ? s->from_hi : s->hi;
	return v < lo ? lo : v > hi ? hi : v;
}

/* lo + t (hi - lo); when hi - lo is too wide for a double, a weighted sum instead, which
 * cannot overflow for t in [0, 1]. */
static double lerp(double lo, double hi, double t)
{
	double d = hi - lo;
	return isfinite(d) ? lo + t * d : lo * (1 - t) + hi * t;
}

double rad_scale_apply(const rad_scale *s, double v)
{
	double r = v;
	switch (s->mode) {
	case RAD_SCALE_MINMAX:
		if (!(s->from_hi > s->from_lo)) {   /* one value seen (or none): the middle */
			r = lerp(s->lo, s->hi, 0.5);
			break;
		}
		/* linear from the lowest and highest seen */
		__attribute__((fallthrough));
	case RAD_SCALE_LINEAR: {
		/* The plain formula where the ranges fit a double (its roundings are the ones people
		 * check by hand); a --from wider than that is measured in halves. */
		double w = s->from_hi - s->from_lo;
		double t = isfinite(w) ? (v - s->from_lo) / w : (v / 2 - s->from_lo / 2) / (s->from_hi / 2 - s->from_lo / 2);
		r = lerp(s->lo, s->hi, t);
		break;
	}
	case RAD_SCALE_RANK: {
		double q = 0.5;
		if (s->n > 1) {
			size_t less = count_below(s->sorted, s->n, v, 1);
			size_t le = count_below(s->sorted, s->n, v, 0);
			/* mean 0-based rank of the values equal to v (v's own rank if unseen) */
			double rank = le > less ? less + (le - less - 1) / 2.0 : less - 0.5;
			if (rank < 0) rank = 0;
			if (rank > s->n - 1) rank = s->n - 1;
			q = rank / (double)(s->n - 1);
		}
		r = lerp(s->lo, s->hi, q);
		break;
	}
	default:
		break;
	}
	return rad_round_step(r, s->step, s->step_decimals);
}

void rad_hist_init(rad_hist *h, double lo, double hi)
{
	memset(h, 0, sizeof *h);
	h->lo = lo;
	h->hi = hi;
	h->min = INFINITY;
	h->max = -INFINITY;
}

void rad_hist_add(rad_hist *h, double v)
{
	h->n++;
	h->sum += v;
	if (v < h->min) h->min = v;
	if (v > h->max) h->max = v;
	int b = (int)floor((v - h->lo) / (h->hi - h->lo) * RAD_HIST_BINS);
	if (!(b >= 0)) b = 0;   /* also NaN */
	if (b >= RAD_HIST_BINS) b = RAD_HIST_BINS - 1;
	h->bins[b]++;
	if (h->overflow) return;
	for (int i = 0; i < h->ndistinct; i++)
		if (h->values[i] == v) { h->value_counts[i]++; return; }
	if (h->ndistinct == RAD_HIST_DISTINCT) { h->overflow = 1; return; }
	int i = h->ndistinct++;
	while (i > 0 && h->values[i - 1] > v) {   /* keep the values sorted */
		h->values[i] = h->values[i - 1];
		h->value_counts[i] = h->value_counts[i - 1];
		i--;
	}
	h->values[i] = v;
	h->value_counts[i] = 1;
}

void rad_hist_add_null(rad_hist *h) { h->nulls++; }

void rad_hist_print(const rad_hist *h, FILE *f, const char *prefix)
{
	char a[40], b[40];
	if (h->n) {
		rad_score_text(a, h->min);
		rad_score_text(b, h->max);
		fprintf(f, "%sscores: %lld, min %s, max %s, mean %.3f, null %lld\n", prefix, h->n, a, b,
			h->sum / h->n, h->nulls);
	} else {
		fprintf(f, "%sscores: 0, null %lld\n", prefix, h->nulls);
	}
	long long top = 1;
	if (!h->overflow) {
		for (int i = 0; i < h->ndistinct; i++) if (h->value_counts[i] > top) top = h->value_counts[i];
		for (int i = 0; i < h->ndistinct; i++) {
			rad_score_text(a, h->values[i]);
			fprintf(f, "%s  %6s %9lld %.*s\n", prefix, a, h->value_counts[i],
				(int)(40 * h->value_counts[i] / top), "########################################");
		}
		return;
	}
	for (int i = 0; i < RAD_HIST_BINS; i++) if (h->bins[i] > top) top = h->bins[i];
	double w = (h->hi - h->lo) / RAD_HIST_BINS;
	for (int i = 0; i < RAD_HIST_BINS; i++) {
		rad_score_text(a, h->lo + i * w);
		rad_score_text(b, h->lo + (i + 1) * w);
		fprintf(f, "%s  [%s, %s%s %9lld %.*s\n", prefix, a, b, i == RAD_HIST_BINS - 1 ? "]" : ")",
			h->bins[i], (int)(40 * h->bins[i] / top), "########################################");
	}
}
