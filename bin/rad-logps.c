/* rad-logps — reference log-probs: each batch's sequences scored by a frozen model. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/batch.h"
#include "base/cli.h"
#include "base/dist.h"
#include "base/ompenv.h"
#include "eval/batch_farm.h"
#include "eval/batches.h"
#include "nn/lora.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "stream/stream.h"

static const char usage[] =
"Usage: rad-logps --model DIR [OPTION]... [FILE]...\n"
"Read a stream of batches (rad-pack), run the model DIR on every sequence and write the\n"
"same batches with ref_logp (each sequence's summed completion log-prob) and ref_ntok\n"
"(its completion token count) filled in.  The output header records the model's\n"
"fingerprint as meta.ref_model, which rad-train-step checks.  With no FILE, or when\n"
"FILE is -, read standard input.  Records other than batches pass through unchanged.\n"
"For LoRA training the reference is the base model itself: no second model is needed.\n"
"\n"
"  -m, --model DIR       the reference model (config.json + model.safetensors)\n"
"      --adapter DIR     score with the PEFT LoRA adapter in DIR merged into --model\n"
"  -o, --output FILE     write to FILE instead of standard output\n"
"      --threads N       threads for the model (default: all cores)\n"
"      --compute T       matrix products in fp32 (default) or bf16 (bf16 inputs, fp32\n"
"                        sums)\n"
"      --base-dtype T    hold the model's matrices in fp32 (default) or bf16, as\n"
"                        rad-train-step --base-dtype does (an adapter is then applied\n"
"                        beside the base, not merged into it)\n"
"      --level N         zstd level of the output stream (default 1)\n"
"      --verbose         a summary line of counts on standard error\n"
"      --progress        progress on standard error even when it is not a terminal\n"
"      --help            show this help and exit\n"
"      --version         show the version and exit\n"
"\n"
"Exit status: 0 success, 1 bad input or model, 2 bad usage.\n"
"Under mpirun the ranks score the batches in turn; rank 0 reads and writes.\n"
"See rad-logps(1).\n";

enum { OPT_THREADS = RAD_OPT_FIRST_TOOL, OPT_LEVEL, OPT_COMPUTE, OPT_ADAPTER, OPT_BASE_DTYPE };

/* What the scoring needs and counts. */
typedef struct logps {
	rad_model *m;
	const char *mdir, *adapter;
	const char *output;
	int level;
	uint64_t fp;
	rad_writer *w;
	double *lp;
	int32_t *nt;
	long long seqs, tokens, other;
} logps;

static char *meta_with_ref(const char *meta, uint64_t fp, const char *dir, const char *adapter)
{
	json_t *j = json_loads(meta ? meta : "{}", 0, NULL);
	if (!json_is_object(j)) { json_decref(j); j = json_object(); }
	char h[17];
	snprintf(h, sizeof h, "%016" PRIx64, fp);
	json_object_set_new(j, "ref_model", json_string(h));
	json_object_set_new(j, "ref_model_dir", json_string(dir));
	if (adapter) json_object_set_new(j, "ref_adapter_dir", json_string(adapter));
	else json_object_del(j, "ref_adapter_dir");
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

static const char *const skip[] = {"ref_logp", "ref_ntok", NULL};

/* Any rank: the batch with its log-probs. */
static void score(void *ctx, const rad_rec *in, const rad_batch *b, const char *where, rad_rec *out)
{
	logps *L = ctx;
	const char *err;
	char msg[400];
	L->lp = rad_realloc(L->lp, sizeof *L->lp * (b->nseq + 1));
	L->nt = rad_realloc(L->nt, sizeof *L->nt * (b->nseq + 1));
	if ((err = rad_model_forward(L->m, b, L->lp, L->nt)) || (err = rad_batch_check_logps(b, L->lp, "the model's", msg, sizeof msg)))
		rad_die(RAD_EXIT_DATA, where, "%s", err);
	rad_rec_reset(out, RAD_REC_BATCH);
	rad_rec_copy_fields(out, in, skip);
	rad_rec_put_f64s(out, "ref_logp", L->lp, b->nseq);
	rad_rec_put_i32s(out, "ref_ntok", L->nt, b->nseq);
}

/* Rank 0: the output opens with the first input's header, the model named in it. */
static void begin(void *ctx, const rad_reader *rd, int index)
{
	logps *L = ctx;
	(void)index;
	if (L->w) return;
	const rad_header *h = rad_reader_header(rd);
	rad_header oh = *h;
	oh.meta = meta_with_ref(h->meta, L->fp, L->mdir, L->adapter);
	L->w = rad_writer_open(L->output, &oh, L->level, 0);
	free(oh.meta);
}

/* Rank 0, in input order. */
static void put(void *ctx, const rad_rec *out, const char *where)
{
	logps *L = ctx;
	(void)where;
	uint32_t n;
	const int32_t *len = rad_rec_i32s(out, "seq_len", &n);
	for (uint32_t s = 0; len && s < n; s++) L->tokens += len[s];
	L->seqs += n;
	rad_writer_put(L->w, out);
	rad_progress("%lld sequences", L->seqs);
}

static void other(void *ctx, const rad_rec *r)
{
	logps *L = ctx;
	rad_writer_put(L->w, r);
	L->other++;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"output", required_argument, 0, 'o'},
		{"threads", required_argument, 0, OPT_THREADS},
		{"level", required_argument, 0, OPT_LEVEL},
		{"compute", required_argument, 0, OPT_COMPUTE},
		{"adapter", required_argument, 0, OPT_ADAPTER},
		{"base-dtype", required_argument, 0, OPT_BASE_DTYPE},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *mdir = NULL, *output = "-", *adapter = NULL;
	int threads = 0, level = 1, compute = RAD_COMPUTE_F32, base_dtype = RAD_ST_F32;
	rad_omp_passive(argv);
	rad_dist_init(&argc, &argv);
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "m:o:", opts, NULL)) != -1;) {
		switch (c) {
		case 'm': mdir = optarg; break;
		case 'o': output = optarg; break;
		case OPT_THREADS: threads = (int)rad_parse_int("threads", optarg, 1, 1024); break;
		case OPT_LEVEL: level = (int)rad_parse_int("level", optarg, 1, 19); break;
		case OPT_COMPUTE:
			if ((compute = rad_compute_parse(optarg)) < 0) rad_usage_error("--compute: fp32 or bf16, not \"%s\"", optarg);
			break;
		case OPT_ADAPTER: adapter = optarg; break;
		case OPT_BASE_DTYPE:
			base_dtype = rad_st_dtype_arg("--base-dtype", optarg);
			break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (!mdir) rad_usage_error("--model DIR is required");
	if (!*mdir) rad_usage_error("--model: an empty name");
	if (!*output) rad_usage_error("--output: an empty name");
	/* every rank loads the model (as GNU Parallel's hosts do: the same path everywhere) */
	logps L = {.mdir = mdir, .adapter = adapter, .output = output, .level = level};
	const char *err = rad_model_load_adapted(&L.m, mdir, adapter, base_dtype);
	if (err) rad_die(RAD_EXIT_DATA, NULL, "%s", err);
	rad_model_set_threads(L.m, threads);
	rad_model_set_compute(L.m, compute);
	if (rad_dist_rank() == 0) {
		L.fp = rad_model_fingerprint(L.m);
		/* an adapter beside the base (not merged) is part of the model that scored */
		if (L.m->lora) L.fp = rad_hash64(L.m->lora->params, L.m->lora->nparams * sizeof(float), L.fp);
	}
	char *stdin_only[] = {"-"};
	char **inputs = optind < argc ? argv + optind : stdin_only;
	int ninputs = optind < argc ? argc - optind : 1;
	rad_batch_job job = {score, put, other, begin, &L};
	long long batches = rad_batch_farm_run(&job, inputs, ninputs);
	if (rad_dist_rank() == 0) {
		rad_progress_done();
		/* scoring nothing is never what was meant: the stage before dropped every pair */
		if (!batches)
			rad_die(RAD_EXIT_DATA, NULL, "no batches in the input (%lld other records): nothing to score", L.other);
		rad_writer_close(L.w);
		if (rad_verbose)
			rad_warn(NULL, "%lld batches, %lld sequences, %lld tokens scored, %lld other records passed; model %016" PRIx64,
			         batches, L.seqs, L.tokens, L.other, L.fp);
	}
	free(L.lp);
	free(L.nt);
	rad_model_free(L.m);
	return 0;
}
