/* rad-dump — any rad binary stream as JSON Lines a person (or jq) can read. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "stream/dump.h"
#include "base/jsonl.h"
#include "stream/stream.h"
#include "tok/tokenizer.h"

static const char usage[] =
"Usage: rad-dump [OPTION]... [FILE]...\n"
"Print the records of rad binary streams (rad-stream(5)) as JSON Lines.\n"
"With no FILE, or when FILE is -, read standard input.\n"
"\n"
"  -n, --head N        print only the first N records (of all inputs together)\n"
"  -H, --header        print each input's stream header first, as a HEAD line\n"
"  -s, --stats         print one JSON object of statistics instead of the records:\n"
"                      records by type, length summaries of token arrays, padding\n"
"  -k, --kind KIND     fail unless the streams are of this kind (pairs, batches)\n"
"  -t, --tokenizer FILE  add the decoded text of token arrays (prompt_text,\n"
"                      chosen_text, rejected_text; seq_text for batches)\n"
"  -e, --encode        the way back: read JSON Lines as rad-dump --header writes\n"
"                      them (a HEAD line, then records) and write a binary stream;\n"
"                      with --kind the HEAD line may be left out\n"
"      --level N       zstd level of the stream --encode writes (default 1)\n"
"  -o, --output FILE   write to FILE instead of standard output\n"
"  -z, --zstd          compress the output with zstd\n"
"      --verbose       a summary line of counts on standard error\n"
"      --help          show this help and exit\n"
"      --version       show the version and exit\n"
"\n"
"Exit status: 0 success, 1 bad or truncated input, 2 bad usage.\n"
"See rad-dump(1) and rad-stream(5).\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"head", required_argument, 0, 'n'},
		{"header", no_argument, 0, 'H'},
		{"stats", no_argument, 0, 's'},
		{"kind", required_argument, 0, 'k'},
		{"tokenizer", required_argument, 0, 't'},
		{"output", required_argument, 0, 'o'},
		{"zstd", no_argument, 0, 'z'},
		{"encode", no_argument, 0, 'e'},
		{"level", required_argument, 0, RAD_OPT_FIRST_TOOL},
		RAD_COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	long long head = -1;
	int show_header = 0, stats = 0, zstd = 0, encode = 0, level = 1;
	const char *kind = NULL, *output = "-", *tokenizer = NULL;
	rad_cli_init(argc, argv);
	for (int c; (c = getopt_long(argc, argv, "n:Hsk:t:o:ze", opts, NULL)) != -1;) {
		switch (c) {
		case 'n': head = rad_parse_int("head", optarg, 0, (1LL << 62)); break;
		case 'H': show_header = 1; break;
		case 's': stats = 1; break;
		case 'k': kind = optarg; break;
		case 't': tokenizer = optarg; break;
		case 'o': output = optarg; break;
		case 'z': zstd = 1; break;
		case 'e': encode = 1; break;
		case RAD_OPT_FIRST_TOOL: level = rad_parse_int("level", optarg, 1, 19); break;
		default: if (!rad_common_option(c, usage)) rad_usage_error("unknown option");
		}
	}
	char *stdin_only[] = {"-"};
	char **inputs = optind < argc ? argv + optind : stdin_only;
	int ninputs = optind < argc ? argc - optind : 1;

	if (kind && (!*kind || strlen(kind) >= sizeof ((rad_header *)0)->kind || strspn(kind, "abcdefghijklmnopqrstuvwxyz_-0123456789") != strlen(kind)))
		rad_usage_error("--kind: '%s' is not a stream kind (pairs, batches)", kind);
	if (encode) {
		long long n = rad_dump_encode(inputs, ninputs, kind, output, level);
		if (rad_verbose) rad_warn(NULL, "%lld records encoded", n);
		return 0;
	}

	rad_tokenizer *tok = tokenizer ? rad_tokenizer_open(tokenizer, NULL) : NULL;
	rad_sink *out = rad_sink_open(output, zstd ? 3 : 0, 0);
	rad_stats *st = stats ? rad_stats_new() : NULL;
	rad_rec rec;
	rad_rec_init(&rec);
	long long shown = 0;
	for (int i = 0; i < ninputs && (head < 0 || shown < head); i++) {
		rad_reader *rd = rad_reader_open(inputs[i], kind);
		if (show_header && !stats) {
			json_t *h = rad_header_to_json(rad_reader_header(rd));
			rad_jsonl_write(out, h);
			json_decref(h);
		}
		while ((head < 0 || shown < head) && rad_reader_next(rd, &rec)) {
			shown++;
			if (st) {
				rad_stats_add(st, &rec);
			} else {
				json_t *j = rad_rec_to_json(&rec);
				if (tok) rad_dump_add_text(j, &rec, tok);
				rad_jsonl_write(out, j);
				json_decref(j);
			}
			rad_progress("%lld records", shown);
		}
		rad_reader_close(rd);
	}
	if (st) {
		json_t *j = rad_stats_json(st);
		rad_jsonl_write(out, j);
		json_decref(j);
		rad_stats_free(st);
	}
	rad_progress_done();
	rad_rec_free(&rec);
	rad_sink_close(out);
	if (tok) rad_tokenizer_free(tok);
	if (rad_verbose)
		rad_warn(NULL, "%lld records from %d input%s", shown, ninputs, ninputs == 1 ? "" : "s");
	return 0;
}
