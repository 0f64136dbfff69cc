/* train/checkpoint.c — atomic training checkpoints (see checkpoint.h). */
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
#include "nn/safetensors.h"

static __thread char msg[2048];

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) return;
	struct dirent *e;
	char p[1200];
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* Files a model directory carries besides weights: tokenizer, generation config, ... */
static int copyable(const char *name)
{
	static const char *skip[] = {"config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json", NULL};
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
	fclose(in);
	int bad = ferror(out) || fflush(out) || fsync(fileno(out));
	if (fclose(out) || bad) {
		snprintf(msg, sizeof msg, "%s: write failed: %s", to, strerror(errno));
		return msg;
	}
	return NULL;
}

static void hex64(char out[17], uint64_t v) { snprintf(out, 17, "%016" PRIx64, v); }

const char *rad_checkpoint_save(const char *dir, const rad_model *m, const rad_adamw *opt,
                                const rad_train_state *st, int dtype, const char *from_dir)
{
	char tmp[1100], p[1200], q[1400];
	const char *e;
	snprintf(tmp, sizeof tmp, "%s.tmp", dir);
	rm_rf(tmp);
	if (mkdir(tmp, 0777) != 0) { snprintf(msg, sizeof msg, "%s: %s", tmp, strerror(errno)); return msg; }
	if ((e = rad_model_save(m, tmp, dtype))) return e;
	snprintf(p, sizeof p, "%s/optimizer.safetensors", tmp);
	rad_st_out o[2] = {
		{"exp_avg", 1, {(int64_t)m->nparams, 1}, opt->m, (int64_t)m->nparams, 1, 0},
		{"exp_avg_sq", 1, {(int64_t)m->nparams, 1}, opt->v, (int64_t)m->nparams, 1, 0},
	};
	if ((e = rad_st_write(p, o, 2, RAD_ST_F32, NULL))) return e;
	json_t *j = json_object(), *rng = json_array();
	char h[17];
	json_object_set_new(j, "step", json_integer(st->step));
	json_object_set_new(j, "batches", json_integer(st->batches));
	json_object_set_new(j, "adam_step", json_integer(opt->step));
	for (int i = 0; i < 4; i++) { hex64(h, st->rng.s[i]); json_array_append_new(rng, json_string(h)); }
	json_object_set_new(j, "rng", rng);
	hex64(h, st->ref_model);
	json_object_set_new(j, "ref_model", json_string(st->ref_model ? h : ""));
	json_object_set_new(j, "loss", json_string(st->loss));
	hex64(h, rad_model_fingerprint(m));
	json_object_set_new(j, "model", json_string(h));
	snprintf(p, sizeof p, "%s/trainer_state.json", tmp);
	int rc = json_dump_file(j, p, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (rc != 0 || fsync_path(p) != 0) { snprintf(msg, sizeof msg, "%s: cannot write", p); return msg; }
	snprintf(p, sizeof p, "%s/config.json", tmp);
	fsync_path(p);
	if (from_dir) {
		DIR *d = opendir(from_dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!copyable(de->d_name)) continue;
			struct stat sb;
			snprintf(p, sizeof p, "%s/%s", from_dir, de->d_name);
			if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
			snprintf(q, sizeof q, "%s/%s", tmp, de->d_name);
			if ((e = copy_file(p, q))) { closedir(d); return e; }
		}
		if (d) closedir(d);
	}
	fsync_path(tmp);
	struct stat sb;
	if (stat(dir, &sb) == 0) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) != 0) {
			snprintf(msg, sizeof msg, "%s: cannot replace the checkpoint: %s", dir, strerror(errno));
			return msg;
		}
		rm_rf(tmp);   /* the old checkpoint */
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
	snprintf(p, sizeof p, "%s/trainer_state.json", dir);
	return access(p, R_OK) == 0;
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
	json_t *rng = json_object_get(j, "rng");
	int ok = json_is_integer(json_object_get(j, "step")) && json_is_integer(json_object_get(j, "batches")) &&
	         json_is_integer(json_object_get(j, "adam_step")) && json_is_array(rng) && json_array_size(rng) == 4 &&
	         parse_hex(json_string_value(json_object_get(j, "ref_model")), &st->ref_model);
	for (int i = 0; ok && i < 4; i++) ok = parse_hex(json_string_value(json_array_get(rng, i)), &st->rng.s[i]);
	if (!ok) { json_decref(j); snprintf(msg, sizeof msg, "%s: malformed trainer state", p); return msg; }
	st->step = (long)json_integer_value(json_object_get(j, "step"));
	st->batches = (long)json_integer_value(json_object_get(j, "batches"));
	opt->step = (long)json_integer_value(json_object_get(j, "adam_step"));
	const char *ls = json_string_value(json_object_get(j, "loss"));
	snprintf(st->loss, sizeof st->loss, "%s", ls ? ls : "");
	json_decref(j);
	snprintf(p, sizeof p, "%s/optimizer.safetensors", dir);
	rad_st s;
	const char *e = rad_st_open(&s, p);
	if (e) return e;
	const rad_st_tensor *a = rad_st_find(&s, "exp_avg"), *b = rad_st_find(&s, "exp_avg_sq");
	if (!a || !b || a->numel != (int64_t)m->nparams || b->numel != (int64_t)m->nparams || a->dtype != RAD_ST_F32 ||
	    b->dtype != RAD_ST_F32) {
		rad_st_close(&s);
		snprintf(msg, sizeof msg, "%s: exp_avg and exp_avg_sq must be F32 [%zu]", p, m->nparams);
		return msg;
	}
	rad_st_to_f32(a, opt->m);
	rad_st_to_f32(b, opt->v);
	rad_st_close(&s);
	return NULL;
}
