/* train/checkpoint.c — atomic training checkpoints, and what may be replaced (see checkpoint.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "train/checkpoint.h"
#include "base/cli.h"
#include "nn/lora.h"
#include "nn/safetensors.h"

#define MARK ".rad-checkpoint"
#define MARK_SIGNATURE "rad-train-step checkpoint"

static __thread char msg[2400];

/* The files a save writes itself, whatever it was trained from: a model's, an adapter's. */
static const char *const core_model[] = {"config.json", "model.safetensors", "optimizer.safetensors",
                                         "trainer_state.json", NULL};
static const char *const core_adapter[] = {"adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors",
                                           "trainer_state.json", NULL};

/* A list of file names. */
typedef struct names { char **v; int n; } names;

static void names_add(names *l, const char *s)
{
	l->v = rad_realloc(l->v, sizeof *l->v * (l->n + 1));
	l->v[l->n++] = rad_strdup(s);
}

static int names_has(const names *l, const char *s)
{
	for (int i = 0; i < l->n; i++) if (!strcmp(l->v[i], s)) return 1;
	return 0;
}

static void names_free(names *l)
{
	for (int i = 0; i < l->n; i++) free(l->v[i]);
	free(l->v);
	*l = (names){0};
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* 1 when dir holds the mark; *listed gets the names it lists. */
static int mark_read(const char *dir, names *listed)
{
	char p[1200];
	snprintf(p, sizeof p, "%s/" MARK, dir);
	*listed = (names){0};
	FILE *f = fopen(p, "r");
	if (!f) return 0;
	char line[1100];
	int ok = fgets(line, sizeof line, f) && !strcmp(line, MARK_SIGNATURE "\n");
	while (ok && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (*line) names_add(listed, line);
	}
	fclose(f);
	return ok;
}

static const char *mark_write(const char *dir, const names *files)
{
	char p[1200];
	snprintf(p, sizeof p, "%s/" MARK, dir);
	FILE *f = fopen(p, "w");
	if (!f) { snprintf(msg, sizeof msg, "%s: %s", p, strerror(errno)); return msg; }
	fputs(MARK_SIGNATURE "\n", f);
	for (int i = 0; i < files->n; i++) fprintf(f, "%s\n", files->v[i]);
	int bad = ferror(f) || fflush(f) || fsync(fileno(f));
	if (fclose(f) || bad) {
		snprintf(msg, sizeof msg, "%s: write failed: %s", p, strerror(errno));
		unlink(p);   /* the directory is empty again, and so removable */
		return msg;
	}
	return NULL;
}

/* The regular files in dir (the mark among them); *n_other counts everything else, *other
 * names the first. */
static int list_dir(const char *dir, names *files, int *n_other, char other[256])
{
	*files = (names){0};
	*n_other = 0;
	DIR *d = opendir(dir);
	if (!d) return -1;
	struct dirent *e;
	char p[1400];
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
		struct stat sb;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (lstat(p, &sb) == 0 && S_ISREG(sb.st_mode)) names_add(files, e->d_name);
		else if ((*n_other)++ == 0) snprintf(other, 256, "%s", e->d_name);
	}
	closedir(d);
	return 0;
}

const char *rad_checkpoint_replaceable(const char *dir)
{
	struct stat sb;
	if (lstat(dir, &sb) != 0) return NULL;
	if (!S_ISDIR(sb.st_mode)) { snprintf(msg, sizeof msg, "%s: exists and is not a directory", dir); return msg; }
	names files, listed;
	int n_other;
	char other[256];
	if (list_dir(dir, &files, &n_other, other) != 0) {
		snprintf(msg, sizeof msg, "%s: %s", dir, strerror(errno));
		return msg;
	}
	int empty = files.n == 0 && n_other == 0, marked = mark_read(dir, &listed);
	names_free(&files);
	names_free(&listed);
	if (empty) return NULL;
	if (!marked) {
		snprintf(msg, sizeof msg, "%s: not empty, and not a checkpoint rad-train-step wrote (it has no " MARK "): "
		         "not replacing it; give another --output, or empty it", dir);
		return msg;
	}
	if (n_other) {
		snprintf(msg, sizeof msg, "%s: holds \"%s\", which is not a file rad-train-step writes: not replacing the "
		         "directory; move it away", dir, other);
		return msg;
	}
	return NULL;
}

/* Removes a marked directory of ours: the files its mark lists, their ".tmp" names, and
 * links to files that live on under another name; the mark last, then the directory.
 * An empty directory goes too.  NULL, or why something stays. */
static const char *remove_ours(const char *dir)
{
	names files, listed;
	int n_other;
	char other[256], p[1400];
	if (list_dir(dir, &files, &n_other, other) != 0) {
		if (errno == ENOENT) return NULL;
		snprintf(msg, sizeof msg, "%s: %s", dir, strerror(errno));
		return msg;
	}
	int marked = mark_read(dir, &listed);
	const char *kept = n_other ? other : NULL;
	for (int i = 0; marked && i < files.n; i++) {
		const char *f = files.v[i];
		char base[1100];   /* the name a temporary ("config.json.tmp.tmp") was written for */
		snprintf(base, sizeof base, "%s", f);
		for (size_t n = strlen(base); n > 4 && !strcmp(base + n - 4, ".tmp"); n -= 4) base[n - 4] = 0;
		struct stat sb;
		snprintf(p, sizeof p, "%s/%s", dir, f);
		if (!strcmp(f, MARK)) continue;
		if (names_has(&listed, f) || names_has(&listed, base) || (lstat(p, &sb) == 0 && sb.st_nlink > 1)) unlink(p);
		else if (!kept) kept = f;
	}
	if (!marked && files.n && !kept) kept = files.v[0];
	if (!kept) {
		snprintf(p, sizeof p, "%s/" MARK, dir);
		unlink(p);
		if (rmdir(dir) != 0) kept = "?";
	}
	if (kept) snprintf(msg, sizeof msg, "%s: holds \"%s\", which rad-train-step did not write: %s", dir, kept,
	                   marked ? "left in place; move it away" : "not a temporary checkpoint of rad-train-step; "
	                   "remove it or give another --output");
	names_free(&files);
	names_free(&listed);
	return kept ? msg : NULL;
}

const char *rad_checkpoint_clear_tmp(const char *dir)
{
	char tmp[1100];
	snprintf(tmp, sizeof tmp, "%s.tmp", dir);
	struct stat sb;
	if (lstat(tmp, &sb) != 0) return NULL;
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(msg, sizeof msg, "%s: exists and is not a directory of rad-train-step; remove it or give another "
		         "--output", tmp);
		return msg;
	}
	return remove_ours(tmp);
}

/* Files a model directory carries besides weights: tokenizer, generation config, ... */
static int copyable(const char *name)
{
	static const char *skip[] = {"config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json",
	                             "model.safetensors.index.json", "adapter_config.json", NULL};
	static const char *ext[] = {".safetensors", ".bin", ".pt", ".pth", ".msgpack", ".h5", ".onnx", ".tmp", ".gguf", NULL};
	if (name[0] == '.') return 0;
	for (int i = 0; skip[i]; i++) if (!strcmp(name, skip[i])) return 0;
	size_t n = strlen(name);
	for (int i = 0; ext[i]; i++) {
		size_t k = strlen(ext[i]);
		if (n >= k && !strcmp(name + n - k, ext[i])) return 0;
	}
	return 1;
}

static const char *copy_file(const char *from, const char *to)
{
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
	bad |= ferror(out) || fflush(out) || fsync(fileno(out));
	if (fclose(out) || bad) {
		snprintf(msg, sizeof msg, "%s: write failed: %s", to, strerror(errno));
		return msg;
	}
	return NULL;
}

static void hex64(char out[17], uint64_t v) { snprintf(out, 17, "%016" PRIx64, v); }

static const char *write_state(const char *tmp, const rad_model *m, const rad_adamw *opt, const rad_train_state *st)
{
	char p[1200], h[17];
	json_t *j = json_object(), *rng = json_array();
	json_object_set_new(j, "step", json_integer(st->step));
	json_object_set_new(j, "batches", json_integer(st->batches));
	hex64(h, st->input);
	json_object_set_new(j, "input", json_string(h));
	json_object_set_new(j, "adam_step", json_integer(opt->step));
	for (int i = 0; i < 4; i++) { hex64(h, st->rng.s[i]); json_array_append_new(rng, json_string(h)); }
	json_object_set_new(j, "rng", rng);
	hex64(h, st->ref_model);
	json_object_set_new(j, "ref_model", json_string(st->ref_model ? h : ""));
	hex64(h, rad_model_fingerprint(m));
	json_object_set_new(j, "model", json_string(h));
	if (m->lora) {   /* the adapter needs its base: which one, and where */
		hex64(h, st->base_model);
		json_object_set_new(j, "base_model", json_string(h));
		json_object_set_new(j, "base_model_dir", json_string(st->base_dir ? st->base_dir : ""));
	}
	json_object_set(j, "options", st->options ? st->options : json_null());
	snprintf(p, sizeof p, "%s/trainer_state.json", tmp);
	int rc = json_dump_file(j, p, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	json_decref(j);
	if (rc != 0 || fsync_path(p) != 0) { snprintf(msg, sizeof msg, "%s: cannot write", p); return msg; }
	return NULL;
}

/* What a save writes (*plan, listed in its mark), copies from from_dir (*copies) and
 * carries over from the checkpoint it replaces (*carry). */
static void plan_save(const char *dir, const char *from_dir, const char *const *core, names *plan, names *copies,
                      names *carry)
{
	*plan = *copies = *carry = (names){0};
	for (int i = 0; core[i]; i++) names_add(plan, core[i]);
	int fresh = from_dir && strcmp(from_dir, dir);   /* from a model, not from dir itself */
	names files, listed;
	int n_other;
	char other[256];
	if (fresh && list_dir(from_dir, &files, &n_other, other) == 0) {
		for (int i = 0; i < files.n; i++)
			if (copyable(files.v[i])) { names_add(plan, files.v[i]); names_add(copies, files.v[i]); }
		names_free(&files);
	}
	int marked = mark_read(dir, &listed);
	if (list_dir(dir, &files, &n_other, other) == 0) {
		for (int i = 0; i < files.n; i++) {
			const char *f = files.v[i];
			int ours = marked && names_has(&listed, f);
			if (!strcmp(f, MARK) || names_has(plan, f) || (fresh && ours)) continue;
			names_add(carry, f);
			if (ours) names_add(plan, f);
		}
		names_free(&files);
	}
	names_free(&listed);
}

/* Everything of the checkpoint into tmp, the mark first. */
static const char *fill(const char *tmp, const char *dir, const char *from_dir, const rad_model *m,
                        const rad_adamw *opt, const rad_train_state *st, int dtype)
{
	char p[1400], q[1400];
	const char *e;
	names plan, copies, carry;
	plan_save(dir, from_dir, m->lora ? core_adapter : core_model, &plan, &copies, &carry);
	if ((e = mark_write(tmp, &plan))) goto out;
	if ((e = m->lora ? rad_lora_save(m->lora, &m->cfg, tmp, dtype, st->base_dir) : rad_model_save(m, tmp, dtype)))
		goto out;
	snprintf(p, sizeof p, "%s/optimizer.safetensors", tmp);
	int64_t n = (int64_t)rad_model_trainable(m).n;
	rad_st_out o[2] = {
		{"exp_avg", 1, {n, 1}, opt->m, n, 1, 0, NULL},
		{"exp_avg_sq", 1, {n, 1}, opt->v, n, 1, 0, NULL},
	};
	if ((e = rad_st_write(p, o, 2, RAD_ST_F32, NULL))) goto out;
	if ((e = write_state(tmp, m, opt, st))) goto out;
	snprintf(p, sizeof p, "%s/config.json", tmp);
	fsync_path(p);
	for (int i = 0; i < copies.n; i++) {
		snprintf(p, sizeof p, "%s/%s", from_dir, copies.v[i]);
		snprintf(q, sizeof q, "%s/%s", tmp, copies.v[i]);
		if ((e = copy_file(p, q))) goto out;
	}
	for (int i = 0; i < carry.n; i++) {   /* a second name for the same file: nothing is copied */
		snprintf(p, sizeof p, "%s/%s", dir, carry.v[i]);
		snprintf(q, sizeof q, "%s/%s", tmp, carry.v[i]);
		if (link(p, q) != 0 && (e = copy_file(p, q))) goto out;
	}
out:
	names_free(&plan);
	names_free(&copies);
	names_free(&carry);
	return e;
}

const char *rad_checkpoint_save(const char *dir, const rad_model *m, const rad_adamw *opt,
                                const rad_train_state *st, int dtype, const char *from_dir)
{
	char tmp[1100];
	const char *e;
	snprintf(tmp, sizeof tmp, "%s.tmp", dir);
	if ((e = rad_checkpoint_clear_tmp(dir)) || (e = rad_checkpoint_replaceable(dir))) return e;
	if (mkdir(tmp, 0777) != 0) { snprintf(msg, sizeof msg, "%s: %s", tmp, strerror(errno)); return msg; }
	if ((e = fill(tmp, dir, from_dir, m, opt, st, dtype))) {
		char keep[sizeof msg];
		snprintf(keep, sizeof keep, "%s", e);
		remove_ours(tmp);   /* a failed save (a full disk) leaves nothing behind */
		snprintf(msg, sizeof msg, "%s", keep);
		return msg;
	}
	fsync_path(tmp);
	struct stat sb;
	if (stat(dir, &sb) == 0) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) != 0) {
			snprintf(msg, sizeof msg, "%s: cannot replace the checkpoint: %s", dir, strerror(errno));
			remove_ours(tmp);
			return msg;
		}
		if ((e = remove_ours(tmp))) rad_warn(NULL, "%s", e);   /* the old checkpoint */
	} else if (rename(tmp, dir) != 0) {
		snprintf(msg, sizeof msg, "%s: %s", dir, strerror(errno));
		return msg;
	}
	/* make the rename durable */
	char parent[1100];
	snprintf(parent, sizeof parent, "%s", dir);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) *slash = 0; else snprintf(parent, sizeof parent, "%s", slash ? "/" : ".");
	fsync_path(parent);
	return NULL;
}

int rad_checkpoint_exists(const char *dir)
{
	char p[1200];
	names listed;
	int marked = mark_read(dir, &listed);
	names_free(&listed);
	snprintf(p, sizeof p, "%s/trainer_state.json", dir);
	return marked && access(p, R_OK) == 0;
}

static int parse_hex(const char *s, uint64_t *v)
{
	char *end;
	if (!s) return 0;
	if (!*s) { *v = 0; return 1; }
	errno = 0;
	*v = strtoull(s, &end, 16);
	return !errno && !*end;
}

const char *rad_checkpoint_load_state(const char *dir, const rad_model *m, rad_adamw *opt, rad_train_state *st)
{
	char p[1200];
	json_error_t je;
	snprintf(p, sizeof p, "%s/trainer_state.json", dir);
	json_t *j = json_load_file(p, 0, &je);
	if (!j) { snprintf(msg, sizeof msg, "%s:%d: %s", p, je.line, je.text); return msg; }
	memset(st, 0, sizeof *st);
	json_t *rng = json_object_get(j, "rng"), *opts = json_object_get(j, "options");
	int ok = json_is_integer(json_object_get(j, "step")) && json_is_integer(json_object_get(j, "batches")) &&
	         json_is_integer(json_object_get(j, "adam_step")) && json_is_array(rng) && json_array_size(rng) == 4 &&
	         parse_hex(json_string_value(json_object_get(j, "ref_model")), &st->ref_model) &&
	         parse_hex(json_string_value(json_object_get(j, "input")), &st->input) && json_is_object(opts);
	for (int i = 0; ok && i < 4; i++) ok = parse_hex(json_string_value(json_array_get(rng, i)), &st->rng.s[i]);
	if (!ok) {
		json_decref(j);
		snprintf(msg, sizeof msg, "%s: malformed trainer state (or one from an older rad, which cannot be resumed)", p);
		return msg;
	}
	if (m->lora && !parse_hex(json_string_value(json_object_get(j, "base_model")), &st->base_model)) {
		json_decref(j);
		snprintf(msg, sizeof msg, "%s: an adapter checkpoint without its base model's fingerprint", p);
		return msg;
	}
	const char *bd = json_string_value(json_object_get(j, "base_model_dir"));
	st->base_dir = m->lora && bd ? rad_strdup(bd) : NULL;
	st->step = (long)json_integer_value(json_object_get(j, "step"));
	st->batches = (long)json_integer_value(json_object_get(j, "batches"));
	opt->step = (long)json_integer_value(json_object_get(j, "adam_step"));
	st->options = json_incref(opts);
	json_decref(j);
	snprintf(p, sizeof p, "%s/optimizer.safetensors", dir);
	rad_st s;
	const char *e = rad_st_open(&s, p);
	if (e) return e;
	const rad_st_tensor *a = rad_st_find(&s, "exp_avg"), *b = rad_st_find(&s, "exp_avg_sq");
	int64_t n = (int64_t)rad_model_trainable(m).n;
	if (!a || !b || a->numel != n || b->numel != n || a->dtype != RAD_ST_F32 || b->dtype != RAD_ST_F32) {
		rad_st_close(&s);
		snprintf(msg, sizeof msg, "%s: exp_avg and exp_avg_sq must be F32 [%lld]", p, (long long)n);
		return msg;
	}
	rad_st_to_f32(a, opt->m);
	rad_st_to_f32(b, opt->v);
	rad_st_close(&s);
	return NULL;
}

int rad_checkpoint_has_adapter(const char *dir)
{
	char p[1200];
	snprintf(p, sizeof p, "%s/adapter_config.json", dir);
	return access(p, F_OK) == 0;
}

const char *rad_checkpoint_base(const char *dir, uint64_t *fp, char **base_dir)
{
	char p[1200];
	json_error_t je;
	*base_dir = NULL;
	snprintf(p, sizeof p, "%s/trainer_state.json", dir);
	json_t *j = json_load_file(p, 0, &je);
	if (!j) { snprintf(msg, sizeof msg, "%s:%d: %s", p, je.line, je.text); return msg; }
	const char *bd = json_string_value(json_object_get(j, "base_model_dir"));
	int ok = parse_hex(json_string_value(json_object_get(j, "base_model")), fp) && bd;
	if (ok) *base_dir = rad_strdup(bd);
	json_decref(j);
	if (!ok) { snprintf(msg, sizeof msg, "%s: an adapter checkpoint without its base model (base_model, base_model_dir)", p); return msg; }
	return NULL;
}

const char *rad_checkpoint_copy_extras(const char *from_dir, const char *dir)
{
	names files;
	int n_other;
	char other[256], p[1400], q[1400], qt[1500];
	if (list_dir(from_dir, &files, &n_other, other) != 0) {
		snprintf(msg, sizeof msg, "%s: %s", from_dir, strerror(errno));
		return msg;
	}
	const char *e = NULL;
	for (int i = 0; i < files.n && !e; i++) {
		if (!copyable(files.v[i])) continue;
		snprintf(p, sizeof p, "%s/%s", from_dir, files.v[i]);
		snprintf(q, sizeof q, "%s/%s", dir, files.v[i]);
		snprintf(qt, sizeof qt, "%s.tmp", q);
		if (!(e = copy_file(p, qt)) && rename(qt, q) != 0) {
			snprintf(msg, sizeof msg, "%s: %s", q, strerror(errno));
			e = msg;
		}
		if (e) unlink(qt);
	}
	names_free(&files);
	return e;
}
