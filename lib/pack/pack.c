/* pack/pack.c — truncation, shuffling, length grouping, batch cutting and batch layout. */
#include "pack/pack.h"
#include "base/cli.h"

#include <stdlib.h>
#include <string.h>

/* ---- truncation ------------------------------------------------------------------- */

int rad_pack_truncate(const rad_trunc_opts *o, uint32_t np, uint32_t nc, uint32_t nr, rad_trunc *t)
{
	uint32_t np0 = np, nc0 = nc, nr0 = nr;
	uint32_t L = o->max_length > 0 ? (uint32_t)o->max_length : 0;
	uint32_t mpl = o->max_prompt_length > 0 ? (uint32_t)o->max_prompt_length : 0;
	uint32_t mcl = o->max_completion_length > 0 ? (uint32_t)o->max_completion_length : 0;
	uint32_t off = 0;
	int pcut = 0, ccut = 0;

	memset(t, 0, sizeof *t);
	if (mcl) {
		if (nc > mcl) nc = mcl, ccut = 1;
		if (nr > mcl) nr = mcl, ccut = 1;
	}
	uint32_t longer = nc > nr ? nc : nr;
	int cut_prompt = L ? (uint64_t)np + longer > L : 0;
	if (!L && mpl && np > mpl) cut_prompt = 1;
	if (cut_prompt && mpl && np > mpl) {
		off = o->keep_start ? 0 : np - mpl;
		np = mpl;
		pcut = 1;
	}
	if (L && (uint64_t)np + longer > L) {
		/* TRL cuts both completions to max_length - max_prompt_length, whatever the
		 * prompt's length; without a prompt limit, to what the prompt leaves. */
		uint32_t lim = mpl ? (L > mpl ? L - mpl : 0) : (L > np ? L - np : 0);
		if (nc > lim) nc = lim, ccut = 1;
		if (nr > lim) nr = lim, ccut = 1;
	}

	int long_ = pcut || ccut;
	if (long_ && o->drop) return RAD_TRUNC_DROP_LONG;
	int empty0 = nc0 < 1 || nr0 < 1 || np0 + nc0 < 2 || np0 + nr0 < 2;
	int empty = nc < 1 || nr < 1 || np + nc < 2 || np + nr < 2;
	if (empty) return empty0 ? RAD_TRUNC_DROP_EMPTY : RAD_TRUNC_DROP_LONG;
	t->prompt_off = off;
	t->n_prompt = np; t->n_chosen = nc; t->n_rejected = nr;
	t->prompt_cut = pcut; t->completion_cut = ccut;
	return long_ ? RAD_TRUNC_CUT : RAD_TRUNC_KEEP;
}

/* ---- items ------------------------------------------------------------------------ */

rad_pack_item *rad_pack_item_new(const rad_pair *p, const rad_trunc *t)
{
	rad_pack_item *it = rad_calloc(1, sizeof *it);
	it->id = rad_strdup(p->id ? p->id : "");
	it->goal = rad_strdup(p->goal ? p->goal : "");
	it->score_chosen = p->score_chosen;
	it->score_rejected = p->score_rejected;
	it->n_prompt = t->n_prompt; it->n_chosen = t->n_chosen; it->n_rejected = t->n_rejected;
	size_t n = (size_t)t->n_prompt + t->n_chosen + t->n_rejected;
	it->prompt = rad_malloc((n ? n : 1) * sizeof(int32_t));
	it->chosen = it->prompt + t->n_prompt;
	it->rejected = it->chosen + t->n_chosen;
	if (t->n_prompt) memcpy(it->prompt, p->prompt + t->prompt_off, t->n_prompt * sizeof(int32_t));
	if (t->n_chosen) memcpy(it->chosen, p->chosen, t->n_chosen * sizeof(int32_t));
	if (t->n_rejected) memcpy(it->rejected, p->rejected, t->n_rejected * sizeof(int32_t));
	return it;
}

void rad_pack_item_free(rad_pack_item *it)
{
	if (!it) return;
	free(it->id); free(it->goal); free(it->prompt);
	free(it);
}

/* splitmix64's finaliser: spreads FNV's weak low bits over the whole word. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t rad_pack_key(const char *id, uint64_t seed, int epoch)
{
	uint64_t h = rad_hash64(id, strlen(id), RAD_HASH_SEED ^ mix64(seed) ^ mix64(0x5eed0000ULL + (uint64_t)epoch));
	return mix64(h);
}

const char *rad_pack_check_pair(const rad_pair *p)
{
	static char msg[96];
	const int32_t *a[3] = {p->prompt, p->chosen, p->rejected};
	uint32_t n[3] = {p->n_prompt, p->n_chosen, p->n_rejected};
	static const char *const names[3] = {"prompt", "chosen", "rejected"};
	for (int k = 0; k < 3; k++)
		for (uint32_t i = 0; i < n[k]; i++)
			if (a[k][i] < 0) {
				snprintf(msg, sizeof msg, "negative token id %d in '%s' at %u", a[k][i], names[k], i);
				return msg;
			}
	return NULL;
}

/* ---- the packer ------------------------------------------------------------------- */

struct rad_packer {
	rad_packer_opts o;
	rad_pack_emit_fn emit;
	rad_pack_release_fn release;
	void *ctx;
	rad_pack_item **sbuf; size_t sn, scap;    /* shuffle buffer */
	rad_pack_item **win; size_t wn, wcap;     /* length-grouping window */
	rad_pack_item **cur; size_t cn, ccap;     /* the batch being filled */
	uint64_t cur_tokens;
	long long dropped_last;
};

static void push(rad_pack_item ***a, size_t *n, size_t *cap, rad_pack_item *it)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*a = rad_realloc(*a, *cap * sizeof **a);
	}
	(*a)[(*n)++] = it;
}

static uint32_t pair_tokens(const rad_pack_item *it) { return rad_pack_len_chosen(it) + rad_pack_len_rejected(it); }

static int by_key(const void *pa, const void *pb)
{
	const rad_pack_item *a = *(rad_pack_item *const *)pa, *b = *(rad_pack_item *const *)pb;
	if (a->key != b->key) return a->key < b->key ? -1 : 1;
	return a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
}

/* Length grouping sorts by the longer sequence (what sets a padded batch's width), then
 * by total tokens, then by key. */
static int by_length(const void *pa, const void *pb)
{
	const rad_pack_item *a = *(rad_pack_item *const *)pa, *b = *(rad_pack_item *const *)pb;
	uint32_t la = rad_pack_len_chosen(a) > rad_pack_len_rejected(a) ? rad_pack_len_chosen(a) : rad_pack_len_rejected(a);
	uint32_t lb = rad_pack_len_chosen(b) > rad_pack_len_rejected(b) ? rad_pack_len_chosen(b) : rad_pack_len_rejected(b);
	if (la != lb) return la < lb ? -1 : 1;
	if (pair_tokens(a) != pair_tokens(b)) return pair_tokens(a) < pair_tokens(b) ? -1 : 1;
	return by_key(pa, pb);
}

rad_packer *rad_packer_new(const rad_packer_opts *o, rad_pack_emit_fn emit, rad_pack_release_fn release, void *ctx)
{
	rad_packer *p = rad_calloc(1, sizeof *p);
	p->o = *o;
	p->emit = emit; p->release = release; p->ctx = ctx;
	return p;
}

static void emit_items(rad_packer *p, rad_pack_item *const *items, size_t n)
{
	if (!n) return;
	p->emit(p->ctx, items, (int)n);
	for (size_t i = 0; i < n; i++) p->release(p->ctx, items[i]);
}

static void emit_cur(rad_packer *p)
{
	emit_items(p, p->cur, p->cn);
	p->cn = 0;
	p->cur_tokens = 0;
}

/* Does a batch holding n pairs and `tokens` tokens have room for `it`? */
static int has_room(const rad_packer *p, size_t n, uint64_t tokens, const rad_pack_item *it)
{
	if (p->o.pairs > 0) return n < (size_t)p->o.pairs;
	return n == 0 || tokens + pair_tokens(it) <= (uint64_t)p->o.max_tokens;
}

static void batch_put(rad_packer *p, rad_pack_item *it)
{
	if (!has_room(p, p->cn, p->cur_tokens, it)) emit_cur(p);
	push(&p->cur, &p->cn, &p->ccap, it);
	p->cur_tokens += pair_tokens(it);
	if (p->o.pairs > 0 && p->cn == (size_t)p->o.pairs) emit_cur(p);
}

typedef struct { size_t a, b; uint64_t key; } plan;

static int plan_by_key(const void *pa, const void *pb)
{
	const plan *a = pa, *b = pb;
	if (a->key != b->key) return a->key < b->key ? -1 : 1;
	return a->a < b->a ? -1 : a->a > b->a;
}

/* Sorts the window by length, cuts it into batches and emits the complete ones in an
 * order keyed by each batch's first pair.  The last, incomplete batch stays for the next
 * window, or goes on to the batch being filled when `final`. */
static void flush_window(rad_packer *p, int final)
{
	if (!p->wn) return;
	qsort(p->win, p->wn, sizeof *p->win, by_length);
	plan *plans = rad_malloc(p->wn * sizeof *plans);
	size_t np = 0, n = 0;
	uint64_t tokens = 0;
	for (size_t i = 0; i < p->wn; i++) {
		if (n && !has_room(p, n, tokens, p->win[i])) {
			plans[np - 1].b = i;
			n = 0; tokens = 0;
		}
		if (!n) plans[np++] = (plan){i, p->wn, p->win[i]->key};
		n++;
		tokens += pair_tokens(p->win[i]);
	}
	/* The last plan is complete only when it holds `pairs` pairs. */
	plan last = plans[np - 1];
	int last_complete = p->o.pairs > 0 && last.b - last.a == (size_t)p->o.pairs;
	size_t nemit = last_complete ? np : np - 1;
	qsort(plans, nemit, sizeof *plans, plan_by_key);
	for (size_t k = 0; k < nemit; k++) emit_items(p, p->win + plans[k].a, plans[k].b - plans[k].a);
	free(plans);
	size_t keep = last_complete ? 0 : last.b - last.a;
	if (final) {
		for (size_t i = 0; i < keep; i++) batch_put(p, p->win[last.a + i]);
		p->wn = 0;
	} else {
		memmove(p->win, p->win + last.a, keep * sizeof *p->win);
		p->wn = keep;
	}
}

static void after_shuffle(rad_packer *p, rad_pack_item *it)
{
	if (p->o.group > 0) {
		push(&p->win, &p->wn, &p->wcap, it);
		if (p->wn >= (size_t)p->o.group) flush_window(p, 0);
	} else {
		batch_put(p, it);
	}
}

void rad_packer_put(rad_packer *p, rad_pack_item *it)
{
	if (p->o.full_shuffle || (p->o.shuffle_buffer > 0 && p->sn < (size_t)p->o.shuffle_buffer)) {
		push(&p->sbuf, &p->sn, &p->scap, it);
	} else if (p->o.shuffle_buffer > 0) {
		/* The buffer is full: the arriving pair's key picks the slot it replaces. */
		size_t j = mix64(it->key ^ 0x5bd1e995ULL) % p->sn;
		rad_pack_item *out = p->sbuf[j];
		p->sbuf[j] = it;
		after_shuffle(p, out);
	} else {
		after_shuffle(p, it);
	}
}

void rad_packer_end_epoch(rad_packer *p)
{
	if (p->sn) {
		qsort(p->sbuf, p->sn, sizeof *p->sbuf, by_key);
		for (size_t i = 0; i < p->sn; i++) after_shuffle(p, p->sbuf[i]);
		p->sn = 0;
	}
	flush_window(p, 1);
	if (p->cn && p->o.drop_last && p->o.pairs > 0 && p->cn < (size_t)p->o.pairs) {
		for (size_t i = 0; i < p->cn; i++) p->release(p->ctx, p->cur[i]);
		p->dropped_last += p->cn;
		p->cn = 0;
		p->cur_tokens = 0;
	}
	emit_cur(p);
}

long long rad_packer_dropped_last(const rad_packer *p) { return p->dropped_last; }

void rad_packer_free(rad_packer *p)
{
	if (!p) return;
	for (size_t i = 0; i < p->sn; i++) p->release(p->ctx, p->sbuf[i]);
	for (size_t i = 0; i < p->wn; i++) p->release(p->ctx, p->win[i]);
	for (size_t i = 0; i < p->cn; i++) p->release(p->ctx, p->cur[i]);
	free(p->sbuf); free(p->win); free(p->cur);
	free(p);
}

/* ---- layout and filling ----------------------------------------------------------- */

static int round_up(int n, int m) { return m > 1 ? (n + m - 1) / m * m : n; }

int rad_pack_layout(const uint32_t *len, int nseq, int max_tokens, int pad_multiple,
                    int32_t *seq_row, int32_t *seq_start, int *rows, int *cols)
{
	int longest = 0;
	if (max_tokens <= 0) {
		for (int s = 0; s < nseq; s++) {
			seq_row[s] = s;
			seq_start[s] = 0;
			if ((int)len[s] > longest) longest = len[s];
		}
		*rows = nseq;
		*cols = round_up(longest, pad_multiple);
		return 0;
	}
	/* First-fit decreasing: the longest sequence first, each into the first row with room. */
	int *order = rad_malloc((nseq ? nseq : 1) * sizeof *order);
	uint32_t *used = rad_calloc(nseq ? nseq : 1, sizeof *used);
	for (int s = 0; s < nseq; s++) order[s] = s;
	for (int i = 1; i < nseq; i++) {   /* insertion sort: stable, batches are small */
		int s = order[i], j = i;
		for (; j > 0 && len[order[j - 1]] < len[s]; j--) order[j] = order[j - 1];
		order[j] = s;
	}
	int nrows = 0, rc = 0;
	for (int i = 0; i < nseq; i++) {
		int s = order[i], r = 0;
		if (len[s] > (uint32_t)max_tokens) { rc = -1; break; }
		while (r < nrows && used[r] + len[s] > (uint32_t)max_tokens) r++;
		if (r == nrows) nrows++;
		seq_row[s] = r;
		used[r] += len[s];
	}
	if (!rc) {
		/* Within a row, sequences sit in order of s. */
		for (int r = 0; r < nrows; r++) used[r] = 0;
		for (int s = 0; s < nseq; s++) {
			seq_start[s] = used[seq_row[s]];
			used[seq_row[s]] += len[s];
			if ((int)used[seq_row[s]] > longest) longest = used[seq_row[s]];
		}
		*rows = nrows;
		*cols = round_up(longest, pad_multiple);
		if (*cols > max_tokens) *cols = max_tokens;
	}
	free(order);
	free(used);
	return rc;
}

/* Writes sequence s (prompt then completion) at row r, column c of b. */
static void fill_seq(rad_batch *b, int s, const int32_t *prompt, uint32_t np, const int32_t *comp, uint32_t nc)
{
	size_t base = (size_t)b->seq_row[s] * b->cols + b->seq_start[s];
	uint32_t n = np + nc;
	for (uint32_t t = 0; t < n; t++) {
		size_t i = base + t;
		b->tokens[i] = t < np ? prompt[t] : comp[t - np];
		b->segment[i] = s;
		b->position[i] = (int32_t)t;
		if (t + 1 < n) {
			b->targets[i] = t + 1 < np ? prompt[t + 1] : comp[t + 1 - np];
			b->loss_mask[i] = t + 1 >= np;
		} else {
			b->targets[i] = -1;
			b->loss_mask[i] = 0;
		}
	}
}

int rad_pack_fill(rad_batch *b, rad_pack_item *const *items, int n, int max_tokens, int pad_multiple)
{
	int nseq = 2 * n, rows, cols;
	uint32_t *len = rad_malloc((nseq ? nseq : 1) * sizeof *len);
	int32_t *row = rad_malloc((nseq ? nseq : 1) * sizeof *row);
	int32_t *start = rad_malloc((nseq ? nseq : 1) * sizeof *start);
	for (int i = 0; i < n; i++) {
		len[2 * i] = rad_pack_len_chosen(items[i]);
		len[2 * i + 1] = rad_pack_len_rejected(items[i]);
	}
	if (rad_pack_layout(len, nseq, max_tokens, pad_multiple, row, start, &rows, &cols)) {
		free(len); free(row); free(start);
		return -1;
	}
	rad_batch_alloc(b, rows, cols, nseq, n);
	size_t cells = (size_t)rows * cols;
	for (size_t i = 0; i < cells; i++) {   /* padding: token 0, target -1, segment -1, mask 0 */
		b->targets[i] = -1;
		b->segment[i] = -1;
	}
	for (int s = 0; s < nseq; s++) {
		const rad_pack_item *it = items[s / 2];
		int chosen = !(s & 1);
		b->seq_row[s] = row[s];
		b->seq_start[s] = start[s];
		b->seq_len[s] = (int32_t)len[s];
		b->seq_pair[s] = s / 2;
		b->seq_chosen[s] = (uint8_t)chosen;
		fill_seq(b, s, it->prompt, it->n_prompt, chosen ? it->chosen : it->rejected,
		         chosen ? it->n_chosen : it->n_rejected);
	}
	for (int i = 0; i < n; i++) {
		b->pair_id[i] = rad_strdup(items[i]->id);
		b->goal[i] = rad_strdup(items[i]->goal);
		b->score_chosen[i] = items[i]->score_chosen;
		b->score_rejected[i] = items[i]->score_rejected;
	}
	free(len); free(row); free(start);
	return 0;
}
