/* rad-train-step — optimizer steps on a checkpoint from a stream of batches. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/dist.h"
#include "base/ompenv.h"
#include "nn/engine.h"
#include "nn/safetensors.h"
#include "stream/batch.h"
#include "stream/stream.h"
#include "train/adamw.h"
#include "train/trainer.h"

static const char usage[] =
"Usage: rad-train-step --model DIR -o DIR [OPTION]... [FILE]...\n"
"Train the model DIR on a stream of batches (rad-pack; for preference losses with\n"
"reference log-probs from rad-logps) and write checkpoints to the output directory.\n"
"One JSON line of metrics per optimizer step goes to standard output.  With no FILE,\n"
"or when FILE is -, read standard input.\n"
"\n"
"  -m, --model DIR          the starting checkpoint (config.json + model.safetensors)\n"
"  -o, --output DIR         where checkpoints go (model, optimizer state, position); an\n"
"                           existing DIR must be empty or a checkpoint of this tool\n"
"      --resume             continue from the checkpoint in --output when there is one:\n"
"                           the batches it had read are passed over, and must be the\n"
"                           same, as must the options that shape training\n"
"      --loss L             sft, dpo (default), ipo or hinge\n"
"      --beta B             preference temperature (default 0.1)\n"
"      --label-smoothing E  conservative DPO: -(1-E) log s(z) - E log s(-z) (default 0)\n"
"      --sft-weight W       add W times the chosen NLL to a preference loss (default 0)\n"
"      --lr LR              peak learning rate (default 1e-5)\n"
"      --schedule S         constant (default), linear or cosine\n"
"      --warmup-steps N     linear warm-up over N steps (default 0)\n"
"      --warmup-ratio R     warm-up over R x total steps instead\n"
"      --total-steps N      steps the schedule spans (default --max-steps)\n"
"      --max-steps N        stop after N optimizer steps in all (default: end of input)\n"
"      --grad-accum K       batches per optimizer step (default 1)\n"
"      --clip C             clip the gradient's global norm to C; 0 = off (default 1)\n"
"      --adam-beta1 B1      (default 0.9)\n"
"      --adam-beta2 B2      (default 0.999)\n"
"      --adam-eps E         (default 1e-8)\n"
"      --weight-decay W     AdamW decay, not applied to biases and norms (default 0)\n"
"      --save-every N       also save every N steps (default: only at the end)\n"
"      --dtype T            model (or adapter) weights on disk: fp32 (default) or\n"
"                           bf16 (exact resume needs fp32)\n"
"      --lora-rank R        train a LoRA adapter of rank R on the frozen model (PEFT's\n"
"                           layout in --output); the reference is the model itself\n"
"      --lora-alpha A       scale A / R (default 8)\n"
"      --lora-dropout P     dropout on each adapted layer's input (default 0)\n"
"      --lora-targets LIST  modules to adapt, PEFT's names: q_proj,k_proj,v_proj,o_proj,\n"
"                           gate_proj,up_proj,down_proj (or q,k,v,o,gate,up,down), GPT-2's\n"
"                           c_attn,c_proj,c_fc, or all-linear (default q,v; GPT-2 c_attn)\n"
"      --lora-rslora        scale A / sqrt(R) (rank-stabilised LoRA)\n"
"      --adapter DIR        continue training the PEFT adapter in DIR on --model\n"
"      --base-dtype T       hold the frozen base's matrices in fp32 (default) or bf16:\n"
"                           half its memory; products still in --compute\n"
"      --ref-model DIR      the reference log-probs must come from DIR (default: the\n"
"                           starting model)\n"
"      --no-ref-check       accept reference log-probs from any model\n"
"      --no-save            write no checkpoint (benchmarks, dry runs; no --output)\n"
"      --log FILE           metrics to FILE instead of standard output (on --resume, the\n"
"                           lines of steps after the checkpoint are dropped from FILE)\n"
"      --dump-grads FILE    write the first step's gradient (before clipping) as a\n"
"                           safetensors file with the model's tensor names\n"
"      --shard-optimizer    under mpirun, each rank keeps the AdamW moments of 1/R of\n"
"                           the weights (ZeRO stage 1; checkpoints stay whole)\n"
"      --seed N             seed of the trainer's random state (default 0)\n"
"      --threads N          threads (default: all cores)\n"
"      --compute T          matrix products in fp32 (default) or bf16 (bf16 inputs,\n"
"                           fp32 sums; weights, optimizer, norms and loss stay fp32)\n"
"      --recompute          keep only each layer's input and recompute the layer in\n"
"                           the backward: less memory, about a third more work\n"
"      --verbose            a summary line on standard error\n"
"      --progress           progress on standard error even when it is not a terminal\n"
"      --help               show this help and exit\n"
"      --version            show the version and exit\n"
"\n"
"Exit status: 0 success, 1 bad input (no batches, another input than the resumed\n"
"checkpoint's), non-finite loss or gradient, write failure, an output directory that\n"
"is not a checkpoint or that another trainer holds, 2 bad usage.\n"
"Under mpirun (mpirun -np R rad-train-step ...) R processes train as one: rank 0\n"
"reads the batches and writes the output, every rank computes a part of each batch.\n"
"See rad-train-step(1): Data parallel, and SCALING.\n";

enum {
	OPT_RESUME = RAD_OPT_FIRST_TOOL, OPT_LOSS, OPT_BETA, OPT_LS, OPT_SFTW, OPT_LR, OPT_SCHED, OPT_WSTEPS, OPT_WRATIO,
	OPT_TOTAL, OPT_MAX, OPT_ACCUM, OPT_CLIP, OPT_B1, OPT_B2, OPT_EPS, OPT_WD, OPT_SAVE, OPT_DTYPE, OPT_REF,
	OPT_NOREF, OPT_NOSAVE, OPT_LOG, OPT_DUMP, OPT_SEED, OPT_THREADS, OPT_COMPUTE, OPT_RECOMPUTE, OPT_SHARD, OPT_LRANK,
	OPT_LALPHA, OPT_LDROP, OPT_LTARGETS, OPT_LRS, OPT_ADAPTER, OPT_BASE_DTYPE,
};

static double parse_pos(const char *opt, const char *s)
{
	double v = rad_parse_double(opt, s);
	if (!(v >= 0) || !isfinite(v)) rad_usage_error("--%s must be a finite non-negative number, not \"%s\"", opt, s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"output", required_argument, 0, 'o'},
		{"resume", no_argument, 0, OPT_RESUME},
		{"loss", required_argument, 0, OPT_LOSS},
		{"beta", required_argument, 0, OPT_BETA},
		{"label-smoothing", required_argument, 0, OPT_LS},
		{"sft-weight", required_argument, 0, OPT_SFTW},
		{"lr", required_argument, 0, OPT_LR},
		{"schedule", required_argument, 0, OPT_SCHED},
		{"warmup-steps", required_argument, 0, OPT_WSTEPS},
		{"warmup-ratio", required_argument, 0, OPT_WRATIO},
		{"total-steps", required_argument, 0, OPT_TOTAL},
		{"max-steps", required_argument, 0, OPT_MAX},
		{"grad-accum", required_argument, 0, OPT_ACCUM},
		{"clip", required_argument, 0, OPT_CLIP},
		{"adam-beta1", required_argument, 0, OPT_B1},
		{"adam-beta2", required_argument, 0, OPT_B2},
		{"adam-eps", required_argument, 0, OPT_EPS},
		{"weight-decay", required_argument, 0, OPT_WD},
		{"save-every", required_argument, 0, OPT_SAVE},
		{"dtype", required_argument, 0, OPT_DTYPE},
		{"ref-model", required_argument, 0, OPT_REF},
		{"no-ref-check", no_argument, 0, OPT_NOREF},
		{"no-save", no_argument, 0, OPT_NOSAVE},
		{"log", required_argument, 0, OPT_LOG},
		{"dump-grads", required_argument, 0, OPT_DUMP},
		{"seed", required_argument, 0, OPT_SEED},
		{"threads", required_argument, 0, OPT_THREADS},
		{"compute", required_argument, 0, OPT_COMPUTE},
		{"recompute", no_argument, 0, OPT_RECOMPUTE},
		{"shard-optimizer", no_argument, 0, OPT_SHARD},
		{"lora-rank", required_argument, 0, OPT_LRANK},
		{"lora-alpha", required_argument, 0, OPT_LALPHA},
		{"lora-dropout", required_argument, 0, OPT_LDROP},
		{"lora-targets", required_argument, 0, OPT_LTARGETS},
		{"lora-rslora", no_argument, 0, OPT_LRS},
		{"adapter", required_argument, 0, OPT_ADAPTER},
		{"base-dtype", required_argument, 0, OPT_BASE_DTYPE},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	rad_train_opts o;
	rad_train_opts_default(&o);
	rad_omp_passive(argv);
	rad_dist_init(&argc, &argv);
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "m:o:", opts, NULL)) != -1;) {
		switch (c) {
		case 'm': o.model_dir = optarg; break;
		case 'o': o.out_dir = optarg; break;
		case OPT_RESUME: o.resume = 1; break;
		case OPT_LOSS:
			if ((o.loss.kind = rad_loss_kind_parse(optarg)) < 0)
				rad_usage_error("--loss: sft, dpo, ipo or hinge, not \"%s\"", optarg);
			break;
		case OPT_BETA: o.loss.beta = parse_pos("beta", optarg); break;
		case OPT_LS: o.loss.label_smoothing = parse_pos("label-smoothing", optarg); break;
		case OPT_SFTW: o.loss.sft_weight = parse_pos("sft-weight", optarg); break;
		case OPT_LR: o.lr = parse_pos("lr", optarg); break;
		case OPT_SCHED:
			if ((o.schedule = rad_schedule_parse(optarg)) < 0)
				rad_usage_error("--schedule: constant, linear or cosine, not \"%s\"", optarg);
			break;
		case OPT_WSTEPS: o.warmup_steps = (long)rad_parse_int("warmup-steps", optarg, 0, 1L << 40); break;
		case OPT_WRATIO: o.warmup_ratio = parse_pos("warmup-ratio", optarg); break;
		case OPT_TOTAL: o.total_steps = (long)rad_parse_int("total-steps", optarg, 1, 1L << 40); break;
		case OPT_MAX: o.max_steps = (long)rad_parse_int("max-steps", optarg, 1, 1L << 40); break;
		case OPT_ACCUM: o.accum = (int)rad_parse_int("grad-accum", optarg, 1, 1 << 20); break;
		case OPT_CLIP: o.clip = parse_pos("clip", optarg); break;
		case OPT_B1: o.adam_beta1 = parse_pos("adam-beta1", optarg); break;
		case OPT_B2: o.adam_beta2 = parse_pos("adam-beta2", optarg); break;
		case OPT_EPS: o.adam_eps = parse_pos("adam-eps", optarg); break;
		case OPT_WD: o.weight_decay = parse_pos("weight-decay", optarg); break;
		case OPT_SAVE: o.save_every = (long)rad_parse_int("save-every", optarg, 0, 1L << 40); break;
		case OPT_DTYPE:
			o.dtype = rad_st_dtype_arg("--dtype", optarg);
			break;
		case OPT_REF: o.ref_dir = optarg; break;
		case OPT_NOREF: o.no_ref_check = 1; break;
		case OPT_NOSAVE: o.no_save = 1; break;
		case OPT_LOG: o.log = optarg; break;
		case OPT_DUMP: o.dump_grads = optarg; break;
		case OPT_SEED: o.seed = (unsigned long long)rad_parse_int("seed", optarg, 0, (1LL << 62)); break;
		case OPT_THREADS: o.threads = (int)rad_parse_int("threads", optarg, 1, 1024); break;
		case OPT_COMPUTE:
			if ((o.compute = rad_compute_parse(optarg)) < 0) rad_usage_error("--compute: fp32 or bf16, not \"%s\"", optarg);
			break;
		case OPT_RECOMPUTE: o.recompute = 1; break;
		case OPT_SHARD: o.shard_optimizer = 1; break;
		case OPT_LRANK: o.lora.rank = (int)rad_parse_int("lora-rank", optarg, 1, 1 << 16); break;
		case OPT_LALPHA: o.lora.alpha = parse_pos("lora-alpha", optarg); break;
		case OPT_LDROP: o.lora.dropout = parse_pos("lora-dropout", optarg); break;
		case OPT_LTARGETS: {
			const char *e = rad_lora_targets_parse(optarg, &o.lora.targets);
			if (e) rad_usage_error("--lora-targets: %s", e);
			break;
		}
		case OPT_LRS: o.lora.rslora = 1; break;
		case OPT_ADAPTER: o.adapter_dir = optarg; break;
		case OPT_BASE_DTYPE:
			o.base_dtype = rad_st_dtype_arg("--base-dtype", optarg);
			break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	const char *bad = rad_train_opts_check(&o);
	if (bad) rad_usage_error("%s", bad);

	rad_trainer *t = rad_trainer_open(&o);
	char *stdin_only[] = {"-"};
	char **inputs = optind < argc ? argv + optind : stdin_only;
	int ninputs = optind < argc ? argc - optind : 1;
	rad_rec rec;
	rad_rec_init(&rec);
	rad_batch b = {0};
	long others = 0;
	/* rank 0 reads; the trainer hands each batch to the other ranks (their finish takes them) */
	for (int i = 0; i < ninputs && rad_dist_rank() == 0 && !rad_trainer_done(t); i++) {
		rad_reader *rd = rad_reader_open(inputs[i], RAD_KIND_BATCHES);
		rad_trainer_begin_input(t, rd, i, ninputs);
		while (!rad_trainer_done(t) && rad_reader_next(rd, &rec)) {
			if (rec.type != RAD_REC_BATCH) { others++; continue; }
			char where[1200];
			snprintf(where, sizeof where, "%s: record %lld", rad_reader_name(rd), rad_reader_record_no(rd));
			const char *e = rad_batch_from_rec(&rec, &b);
			if (e) rad_die(RAD_EXIT_DATA, where, "%s", e);
			rad_trainer_feed(t, &b, where);
		}
		rad_reader_close(rd);
	}
	if (others) rad_warn(NULL, "%ld records that are not batches were passed over", others);
	rad_trainer_finish(t);
	rad_batch_free(&b);
	rad_rec_free(&rec);
	return 0;
}
