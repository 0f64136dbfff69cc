/* rad-merge — a LoRA adapter merged into its base model: one plain checkpoint. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/ompenv.h"
#include "nn/lora.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "train/checkpoint.h"

static const char usage[] =
"Usage: rad-merge --model DIR --adapter DIR -o DIR [OPTION]...\n"
"Merge the PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors, as\n"
"rad-train-step --lora-rank or PEFT writes it) into the model DIR: every adapted weight\n"
"becomes W + s B A.  The result is a plain Hugging Face checkpoint (config.json +\n"
"model.safetensors, and the model's tokenizer files) that computes what the model with\n"
"the adapter does.\n"
"\n"
"  -m, --model DIR       the base model the adapter was trained on\n"
"      --adapter DIR     the adapter\n"
"  -o, --output DIR      the merged checkpoint (created if absent)\n"
"      --dtype T         fp32 (default) or bf16 weights on disk\n"
"      --threads N       threads (default: all cores)\n"
"      --verbose         a summary line on standard error\n"
"      --help            show this help and exit\n"
"      --version         show the version and exit\n"
"\n"
"Exit status: 0 success, 1 bad model or adapter, or a write failure, 2 bad usage.\n"
"See rad-merge(1).\n";

enum { OPT_ADAPTER = RAD_OPT_FIRST_TOOL, OPT_DTYPE, OPT_THREADS };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"adapter", required_argument, 0, OPT_ADAPTER},
		{"output", required_argument, 0, 'o'},
		{"dtype", required_argument, 0, OPT_DTYPE},
		{"threads", required_argument, 0, OPT_THREADS},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *mdir = NULL, *adir = NULL, *out = NULL;
	int dtype = RAD_ST_F32, threads = 0;
	rad_omp_passive(argv);
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "m:o:", opts, NULL)) != -1;) {
		switch (c) {
		case 'm': mdir = optarg; break;
		case 'o': out = optarg; break;
		case OPT_ADAPTER: adir = optarg; break;
		case OPT_DTYPE:
			dtype = rad_st_dtype_arg("--dtype", optarg);
			break;
		case OPT_THREADS: threads = (int)rad_parse_int("threads", optarg, 1, 1024); break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (optind < argc) rad_usage_error("unexpected argument \"%s\"", argv[optind]);
	if (!mdir || !adir || !out) rad_usage_error("--model DIR, --adapter DIR and --output DIR are required");
	if (!*out) rad_usage_error("--output: an empty name");
	rad_model *m = NULL;
	rad_lora *lo = NULL;
	const char *e = rad_model_load(&m, mdir);
	if (e) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
	rad_model_set_threads(m, threads);
	if ((e = rad_lora_load(&lo, &m->cfg, adir))) rad_die(RAD_EXIT_DATA, NULL, "%s", e);
	uint64_t base = rad_model_fingerprint(m);
	rad_lora_merge(lo, m);
	/* the weights and the configuration appear together (rad_model_save), the tokenizer
	 * files each whole; a directory this run made goes again on failure */
	int made = mkdir(out, 0777) == 0;
	if (!made && errno != EEXIST) rad_die(RAD_EXIT_DATA, out, "%s", strerror(errno));
	if ((e = rad_model_save(m, out, dtype)) || (e = rad_checkpoint_copy_extras(mdir, out))) {
		if (made) rmdir(out);
		rad_die(RAD_EXIT_DATA, NULL, "%s", e);
	}
	if (rad_verbose)
		rad_warn(NULL, "%s: %d modules of rank %d merged (scale %g) into %s (%016" PRIx64 "), now %016" PRIx64, out,
		         lo->nmod, lo->o.rank, lo->scale, mdir, base, rad_model_fingerprint(m));
	rad_lora_free(lo);
	rad_model_free(m);
	return 0;
}
