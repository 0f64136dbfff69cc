/* rad-logps — reference log-probs: each batch's sequences scored by a frozen model. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/batch.h"
#include "base/cli.h"
#include "base/ompenv.h"
#include "eval/batches.h"
#include "nn/lora.h"
#include "nn/model.h"
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
"      --level N         zstd level of the output stream (default 1)\n"
"      --verbose         a summary line of counts on standard error\n"
"      --progress        progress on standard error even when it is not a terminal\n"
"      --help            show this help and exit\n"
"      --version         show the version and exit\n"
"\n"
"Exit status: 0 success, 1 bad input or model, 2 bad usage.\n"
"See rad-logps(1).\n";

enum { OPT_THREADS = RAD_OPT_FIRST_TOOL, OPT_LEVEL, OPT_ADAPTER };

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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"output", required_argument, 0, 'o'},
		{"threads", required_argument, 0, OPT_THREADS},
		{"level", required_argument, 0, OPT_LEVEL},
		{"adapter", required_argument, 0, OPT_ADAPTER},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *mdir = NULL, *output = "-", *adapter = NULL;
	int threads = 0, level = 1;
	rad_omp_passive(argv);
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "m:o:", opts, NULL)) != -1;) {
		switch (c) {
		case 'm': mdir = optarg; break;
		case 'o': output = optarg; break;
		case OPT_THREADS: threads = (int)rad_parse_int("threads", optarg, 1, 1024); break;
		case OPT_LEVEL: level = (int)rad_parse_int("level", optarg, 1, 19); break;
		case OPT_ADAPTER: adapter = optarg; break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (!mdir) rad_usage_error("--model DIR is required");
	if (!*mdir) rad_usage_error("--model: an empty name");
	if (!*output) rad_usage_error("--output: an empty name");
	rad_model *m = NULL;
	const char *err = rad_model_load_adapted(&m, mdir, adapter);
	if (err) rad_die(RAD_EXIT_DATA, NULL, "%s", err);
	rad_model_set_threads(m, threads);
	uint64_t fp = rad_model_fingerprint(m);
	char *stdin_only[] = {"-"};
	char **inputs = optind < argc ? argv + optind : stdin_only;
	int ninputs = optind < argc ? argc - optind : 1;
	static const char *const skip[] = {"ref_logp", "ref_ntok", NULL};
	rad_writer *w = NULL;
	rad_rec in, out;
	rad_rec_init(&in);
	rad_rec_init(&out);
	rad_batch b = {0};
	long long batches = 0, seqs = 0, tokens = 0, other = 0;
	double *lp = NULL;
	int32_t *nt = NULL;
	for (int i = 0; i < ninputs; i++) {
		rad_reader *rd = rad_reader_open(inputs[i], RAD_KIND_BATCHES);
		if (!w) {
			const rad_header *h = rad_reader_header(rd);
			rad_header oh = *h;
			oh.meta = meta_with_ref(h->meta, fp, mdir, adapter);
			w = rad_writer_open(output, &oh, level, 0);
			free(oh.meta);
		}
		while (rad_reader_next(rd, &in)) {
			if (in.type != RAD_REC_BATCH) { rad_writer_put(w, &in); other++; continue; }
			char where[1200];
			snprintf(where, sizeof where, "%s: record %lld", rad_reader_name(rd), rad_reader_record_no(rd));
			if ((err = rad_batch_from_rec(&in, &b))) rad_die(RAD_EXIT_DATA, where, "%s", err);
			lp = rad_realloc(lp, sizeof *lp * (b.nseq + 1));
			nt = rad_realloc(nt, sizeof *nt * (b.nseq + 1));
			char msg[400];
			if ((err = rad_model_forward(m, &b, lp, nt)) || (err = rad_batch_check_logps(&b, lp, "the model's", msg, sizeof msg)))
				rad_die(RAD_EXIT_DATA, where, "%s", err);
			rad_rec_reset(&out, RAD_REC_BATCH);
			rad_rec_copy_fields(&out, &in, skip);
			rad_rec_put_f64s(&out, "ref_logp", lp, b.nseq);
			rad_rec_put_i32s(&out, "ref_ntok", nt, b.nseq);
			rad_writer_put(w, &out);
			batches++;
			seqs += b.nseq;
			for (int s = 0; s < b.nseq; s++) tokens += b.seq_len[s];
			rad_progress("%lld batches, %lld sequences", batches, seqs);
		}
		rad_reader_close(rd);
	}
	rad_progress_done();
	/* scoring nothing is never what was meant: the stage before dropped every pair */
	if (!batches)
		rad_die(RAD_EXIT_DATA, NULL, "no batches in the input (%lld other records): nothing to score", other);
	rad_writer_close(w);
	if (rad_verbose)
		rad_warn(NULL, "%lld batches, %lld sequences, %lld tokens scored, %lld other records passed; model %016" PRIx64,
		         batches, seqs, tokens, other, fp);
	rad_batch_free(&b);
	rad_rec_free(&in);
	rad_rec_free(&out);
	free(lp);
	free(nt);
	rad_model_free(m);
	return 0;
}
