/* rad-init — a freshly initialised model in an HF checkpoint directory. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/ompenv.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "tok/vocab.h"

static const char usage[] =
"Usage: rad-init [OPTION]... -o DIR\n"
"Write a new model, initialised as GPT-2 is, to the checkpoint directory DIR\n"
"(config.json + model.safetensors, Hugging Face layout).\n"
"\n"
"  -o, --output DIR      the checkpoint directory (created if absent)\n"
"      --arch A          gpt2 (default), llama (also SmolLM2, Llama-3.x), qwen2 (Qwen2,\n"
"                        Qwen2.5: q/k/v biases) or qwen3 (per-head q/k norms)\n"
"      --tokenizer FILE  tokenizer.json or encoder.json: sets the vocabulary size and is\n"
"                        copied into DIR (with vocab.bpe beside an encoder.json)\n"
"      --vocab N         vocabulary size (instead of, or checked against, --tokenizer)\n"
"      --layers N        transformer layers (default 4)\n"
"      --heads N         attention heads (default 4)\n"
"      --dim N           model width, a multiple of --heads (default 256)\n"
"      --context N       maximum sequence length (default 1024)\n"
"      --kv-heads N      key/value heads, dividing --heads (llama, qwen2, qwen3;\n"
"                        default --heads)\n"
"      --head-dim N      per-head width (llama, qwen2, qwen3; default dim / heads)\n"
"      --ffn N           MLP width (default 4 x dim for gpt2, 8/3 x dim rounded up to\n"
"                        a multiple of 32 otherwise)\n"
"      --rope-theta X    rotary base (default 10000)\n"
"      --untied          a separate output embedding (lm_head.weight)\n"
"      --reward-head L   a reward model (...ForSequenceClassification): a score head\n"
"                        instead of the LM head; L is the number of labels (named\n"
"                        LABEL_0...) or their names, comma-separated\n"
"      --seed N          seed of the initialisation (default 0)\n"
"      --dtype T         fp32 (default) or bf16 weights on disk\n"
"      --verbose         a summary line on standard error\n"
"      --help            show this help and exit\n"
"      --version         show the version and exit\n"
"\n"
"Exit status: 0 success, 1 bad tokenizer file or write failure, 2 bad usage.\n"
"See rad-init(1).\n";

enum { OPT_TOKENIZER = RAD_OPT_FIRST_TOOL, OPT_VOCAB, OPT_LAYERS, OPT_HEADS, OPT_DIM, OPT_CONTEXT, OPT_SEED, OPT_DTYPE,
       OPT_ARCH, OPT_KV_HEADS, OPT_HEAD_DIM, OPT_FFN, OPT_ROPE_THETA, OPT_UNTIED, OPT_REWARD_HEAD };

/* Copies the file from into dir under its own name plus ".tmp" (the caller renames it
 * once everything is written); *final gets that name.  NULL or a message, and then no
 * partial copy is left. */
static const char *copy_into(const char *from, const char *dir, char final[2048])
{
	static char msg[2200];
	char *base = rad_strdup(from), to[2100];
	snprintf(final, 2048, "%s/%s", dir, basename(base));
	snprintf(to, sizeof to, "%s.tmp", final);
	free(base);
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	if (!in || !out) {
		snprintf(msg, sizeof msg, "%s: %s", in ? to : from, strerror(errno));
		if (in) fclose(in);
		return msg;
	}
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
	int bad = ferror(in);
	fclose(in);
	bad |= ferror(out);
	if (fclose(out) || bad) {
		snprintf(msg, sizeof msg, "%s: write failed: %s", to, strerror(errno));
		unlink(to);
		return msg;
	}
	return NULL;
}

/* --reward-head: a number of labels (HF's names LABEL_0...) or the names themselves. */
static void reward_head(rad_model_config *c, const char *spec)
{
	char *end;
	long n = strtol(spec, &end, 10);
	if (!*end && end != spec) {
		if (n < 1 || n > RAD_MAX_LABELS) rad_usage_error("--reward-head: 1 to %d labels, not %ld", RAD_MAX_LABELS, n);
		c->num_labels = (int)n;
		for (int i = 0; i < c->num_labels; i++) snprintf(c->labels[i], RAD_LABEL_LEN, "LABEL_%d", i);
		return;
	}
	for (const char *p = spec;; p++) {
		size_t len = strcspn(p, ",");
		if (!len || len >= RAD_LABEL_LEN) rad_usage_error("--reward-head: label names of 1 to %d bytes, comma-separated, not \"%s\"", RAD_LABEL_LEN - 1, spec);
		if (c->num_labels == RAD_MAX_LABELS) rad_usage_error("--reward-head: at most %d labels", RAD_MAX_LABELS);
		memcpy(c->labels[c->num_labels], p, len);
		c->labels[c->num_labels][len] = 0;
		for (int j = 0; j < c->num_labels; j++)
			if (!strcmp(c->labels[j], c->labels[c->num_labels])) rad_usage_error("--reward-head: \"%s\" is named twice", c->labels[j]);
		c->num_labels++;
		p += len;
		if (!*p) break;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, 0, 'o'},
		{"tokenizer", required_argument, 0, OPT_TOKENIZER},
		{"vocab", required_argument, 0, OPT_VOCAB},
		{"layers", required_argument, 0, OPT_LAYERS},
		{"heads", required_argument, 0, OPT_HEADS},
		{"dim", required_argument, 0, OPT_DIM},
		{"context", required_argument, 0, OPT_CONTEXT},
		{"seed", required_argument, 0, OPT_SEED},
		{"dtype", required_argument, 0, OPT_DTYPE},
		{"arch", required_argument, 0, OPT_ARCH},
		{"kv-heads", required_argument, 0, OPT_KV_HEADS},
		{"head-dim", required_argument, 0, OPT_HEAD_DIM},
		{"ffn", required_argument, 0, OPT_FFN},
		{"rope-theta", required_argument, 0, OPT_ROPE_THETA},
		{"untied", no_argument, 0, OPT_UNTIED},
		{"reward-head", required_argument, 0, OPT_REWARD_HEAD},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *out = NULL, *tok = NULL, *reward = NULL;
	int vocab = 0, layers = 4, heads = 4, dim = 256, ctx = 1024, dtype = RAD_ST_F32;
	int kv_heads = 0, head_dim = 0, ffn = 0, untied = 0;
	double rope_theta = 10000.0;
	const char *arch = "gpt2";
	unsigned long long seed = 0;
	rad_omp_passive(argv);
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "o:", opts, NULL)) != -1;) {
		switch (c) {
		case 'o': out = optarg; break;
		case OPT_TOKENIZER: tok = optarg; break;
		case OPT_VOCAB: vocab = (int)rad_parse_int("vocab", optarg, 1, 1 << 24); break;
		case OPT_LAYERS: layers = (int)rad_parse_int("layers", optarg, 1, 1024); break;
		case OPT_HEADS: heads = (int)rad_parse_int("heads", optarg, 1, 1024); break;
		case OPT_DIM: dim = (int)rad_parse_int("dim", optarg, 1, 1 << 16); break;
		case OPT_CONTEXT: ctx = (int)rad_parse_int("context", optarg, 1, 1 << 20); break;
		case OPT_SEED: seed = (unsigned long long)rad_parse_int("seed", optarg, 0, (1LL << 62)); break;
		case OPT_DTYPE:
			dtype = rad_st_dtype_arg("--dtype", optarg);
			break;
		case OPT_ARCH:
			if (strcmp(optarg, "gpt2") && strcmp(optarg, "llama") && strcmp(optarg, "qwen2") && strcmp(optarg, "qwen3"))
				rad_usage_error("--arch: gpt2, llama, qwen2 or qwen3, not \"%s\"", optarg);
			arch = optarg;
			break;
		case OPT_KV_HEADS: kv_heads = (int)rad_parse_int("kv-heads", optarg, 1, 1024); break;
		case OPT_HEAD_DIM: head_dim = (int)rad_parse_int("head-dim", optarg, 2, 4096); break;
		case OPT_FFN: ffn = (int)rad_parse_int("ffn", optarg, 1, 1 << 20); break;
		case OPT_ROPE_THETA: {
			char *end;
			rope_theta = strtod(optarg, &end);
			if (*end || !(rope_theta > 0)) rad_usage_error("--rope-theta: a positive number, not \"%s\"", optarg);
			break;
		}
		case OPT_UNTIED: untied = 1; break;
		case OPT_REWARD_HEAD: reward = optarg; break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	if (optind < argc) rad_usage_error("unexpected argument \"%s\"", argv[optind]);
	if (!out) rad_usage_error("--output DIR is required");
	if (!tok && !vocab) rad_usage_error("give --tokenizer FILE or --vocab N");
	int gpt2 = !strcmp(arch, "gpt2");
	if (gpt2 && dim % heads) rad_usage_error("--dim %d is not a multiple of --heads %d", dim, heads);
	if (gpt2 && (kv_heads || head_dim))
		rad_usage_error("--kv-heads and --head-dim are for --arch llama, qwen2 or qwen3");
	if (!kv_heads) kv_heads = heads;
	if (heads % kv_heads) rad_usage_error("--heads %d is not a multiple of --kv-heads %d", heads, kv_heads);
	if (!gpt2 && !head_dim) {
		if (dim % heads) rad_usage_error("--dim %d is not a multiple of --heads %d (or give --head-dim)", dim, heads);
		head_dim = dim / heads;
	}
	if (!gpt2 && head_dim % 2) rad_usage_error("--head-dim %d: rotary positions need an even head width", head_dim);
	if (tok) {
		const char *err;
		int v = rad_vocab_size_of(tok, &err);
		if (v < 0) rad_die(RAD_EXIT_DATA, NULL, "%s", err);
		if (vocab && vocab < v) rad_usage_error("--vocab %d is smaller than the tokenizer's %d ids", vocab, v);
		if (!vocab) vocab = v;
	}
	rad_model_config cfg;
	rad_model_config_gpt2(&cfg, vocab, ctx, layers, heads, dim);
	if (ffn) cfg.ffn_dim = ffn;
	if (!gpt2) {
		/* the Llama block; the variants differ in biases and q/k norms only */
		snprintf(cfg.model_type, sizeof cfg.model_type, "%s", arch);
		cfg.n_kv_heads = kv_heads;
		cfg.head_dim = head_dim;
		cfg.ffn_dim = ffn ? ffn : (8 * dim / 3 + 31) / 32 * 32;
		cfg.norm = RAD_NORM_RMS;
		cfg.pos = RAD_POS_ROPE;
		cfg.mlp = RAD_MLP_SWIGLU;
		cfg.norm_eps = 1e-6f;
		cfg.qkv_bias = !strcmp(arch, "qwen2");
		cfg.out_bias = cfg.mlp_bias = cfg.norm_bias = 0;
		cfg.qk_norm = !strcmp(arch, "qwen3");
		cfg.rope_theta = (float)rope_theta;
		cfg.bos_id = cfg.eos_id = -1;
	}
	cfg.tied = !untied;
	if (reward) reward_head(&cfg, reward);
	const char *err = NULL;
	rad_model *m = rad_model_new_as(&cfg, dtype, &err);   /* bf16: a 7B model in 14 GiB, not 28 */
	if (!m) rad_usage_error("%s", err);
	rad_model_init(m, seed);
	/* Everything is written under temporary names and renamed when all is complete: a
	 * failure (a full disk) leaves no partial file, and no directory this run made. */
	int made = mkdir(out, 0777) == 0;
	if (!made && errno != EEXIST) rad_die(RAD_EXIT_DATA, out, "%s", strerror(errno));
	char copies[2][2048];
	int ncopies = 0;
	if (tok) {
		err = copy_into(tok, out, copies[ncopies]);
		if (!err) ncopies++;
		size_t n = strlen(tok);
		if (!err && n >= 12 && !strcmp(tok + n - 12, "encoder.json")) {
			char bpe[2048];
			snprintf(bpe, sizeof bpe, "%.*svocab.bpe", (int)(n - 12), tok);
			if (access(bpe, R_OK) == 0 && !(err = copy_into(bpe, out, copies[ncopies]))) ncopies++;
		}
	}
	if (!err) err = rad_model_save(m, out, dtype);
	for (int i = 0; i < ncopies; i++) {
		char tmp[2100];
		snprintf(tmp, sizeof tmp, "%s.tmp", copies[i]);
		if (err) unlink(tmp);
		else if (rename(tmp, copies[i]) != 0) err = strerror(errno);
	}
	if (err) {
		if (made) rmdir(out);
		rad_die(RAD_EXIT_DATA, NULL, "%s", err);
	}
	if (rad_verbose) {
		char head[48] = "";
		if (cfg.num_labels) snprintf(head, sizeof head, "a score head of %d labels, ", cfg.num_labels);
		rad_warn(NULL, "%s: %s, %zu parameters (vocab %d, %d layers, %d heads, %d kv heads, dim %d, ffn %d, context %d), "
		         "%sfingerprint %016llx", out, arch, m->nparams, vocab, layers, heads, cfg.n_kv_heads, dim, cfg.ffn_dim, ctx,
		         head, (unsigned long long)rad_model_fingerprint(m));
	}
	rad_model_free(m);
	return 0;
}
