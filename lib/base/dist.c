/* base/dist.c — ranks and collective operations over Open MPI (dist.h).  Built without
 * RAD_MPI (no Open MPI headers) it is the single process only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/cli.h"
#include "base/dist.h"

#ifdef RAD_MPI
#include <mpi.h>
#endif

static int rank_, size_ = 1;
static double comm_s;

int rad_dist_rank(void) { return rank_; }
int rad_dist_size(void) { return size_; }
double rad_dist_comm_seconds(void) { return comm_s; }

void rad_dist_slices(size_t n, size_t *off)
{
	/* equal parts, the first n % R one longer */
	size_t q = n / size_, r = n % size_;
	off[0] = 0;
	for (int k = 0; k < size_; k++) off[k + 1] = off[k] + q + ((size_t)k < r);
}

#ifndef RAD_MPI

void rad_dist_init(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	const char *n = getenv("OMPI_COMM_WORLD_SIZE");
	if (n && atoi(n) > 1)
		rad_die(RAD_EXIT_USAGE, NULL, "launched by mpirun with %s processes, but built without MPI (install "
		        "libopenmpi-dev and rebuild)", n);
}
void rad_dist_bcast(void *buf, size_t n) { (void)buf; (void)n; }
void rad_dist_sum_f32(float *x, size_t n) { (void)x; (void)n; }
void rad_dist_sum_f64(double *x, size_t n) { (void)x; (void)n; }
void rad_dist_sum_slice_f32(float *x, const size_t *off) { (void)x; (void)off; }
void rad_dist_gather_slices_f32(float *x, const size_t *off) { (void)x; (void)off; }
void rad_dist_collect_f32(const float *slice, float *whole, const size_t *off)
{
	if (whole != slice) memcpy(whole, slice, sizeof(float) * off[1]);
}
void rad_dist_spread_f32(const float *whole, float *slice, const size_t *off)
{
	if (whole != slice) memcpy(slice, whole, sizeof(float) * off[1]);
}
void rad_dist_send(int to, const void *buf, size_t n) { (void)to; (void)buf; (void)n; abort(); }
size_t rad_dist_recv(int from, void **buf, size_t *cap) { (void)from; (void)buf; (void)cap; abort(); }

#else

static float *stage_, *mine_;   /* the slices' staging buffers (rounds_init) */

/* Exit status 0 is a rank that finished its part: it says so to MPI.  Any other status
 * leaves without MPI_Finalize, which may wait for the other ranks, so that mpirun sees a
 * failed process and ends the job. */
static void finish(int status, void *arg)
{
	(void)arg;
	int done = 1;
	free(stage_);
	free(mine_);
	if (status == 0 && !MPI_Finalized(&done) && !done) MPI_Finalize();
}

void rad_dist_init(int *argc, char ***argv)
{
	if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK")) return;
	int level;
	/* only the main thread calls MPI; OpenMP's threads compute between the calls */
	if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &level) != MPI_SUCCESS)
		rad_die(RAD_EXIT_DATA, NULL, "MPI could not start");
	MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
	MPI_Comm_size(MPI_COMM_WORLD, &size_);
	on_exit(finish, NULL);
}

enum { CHUNK = 1 << 30 };   /* bytes per message: MPI counts are ints */

static void check(int rc, const char *what)
{
	if (rc != MPI_SUCCESS) rad_die(RAD_EXIT_DATA, NULL, "rank %d: MPI %s failed", rank_, what);
}

void rad_dist_bcast(void *buf, size_t n)
{
	if (size_ == 1) return;
	double t0 = rad_seconds();
	for (size_t at = 0; at < n; at += CHUNK) {
		size_t k = n - at < CHUNK ? n - at : CHUNK;
		check(MPI_Bcast((char *)buf + at, (int)k, MPI_BYTE, 0, MPI_COMM_WORLD), "broadcast");
	}
	comm_s += rad_seconds() - t0;
}

static void sum(void *x, size_t n, size_t elem, MPI_Datatype t)
{
	if (size_ == 1) return;
	double t0 = rad_seconds();
	for (size_t at = 0; at < n; at += RAD_DIST_BUCKET) {
		size_t k = n - at < RAD_DIST_BUCKET ? n - at : RAD_DIST_BUCKET;
		check(MPI_Allreduce(MPI_IN_PLACE, (char *)x + at * elem, (int)k, t, MPI_SUM, MPI_COMM_WORLD), "all-reduce");
	}
	comm_s += rad_seconds() - t0;
}

void rad_dist_sum_f32(float *x, size_t n) { sum(x, n, sizeof *x, MPI_FLOAT); }
void rad_dist_sum_f64(double *x, size_t n) { sum(x, n, sizeof *x, MPI_DOUBLE); }

/* The slices go in rounds: round j takes up to RAD_DIST_BUCKET / R elements of every
 * slice, from j times that on, packed in rank order into one staging buffer.  The buffers
 * live as long as the process: Open MPI pays for the first use of every buffer it moves,
 * and fresh ones at every step made the exchanges of a step of 16M weights on 2 ranks
 * take 1.4 s, against 0.3 to 0.9 s with these (tests/bench/mpi.sh, small). */
typedef struct rounds {
	size_t per, at;
	int *count, *displ;
	float *stage, *mine;
} rounds;

static void rounds_init(rounds *r)
{
	r->per = RAD_DIST_BUCKET / size_;
	r->at = 0;
	r->count = rad_malloc(sizeof(int) * size_);
	r->displ = rad_malloc(sizeof(int) * size_);
	if (!stage_) {
		stage_ = rad_malloc(sizeof(float) * r->per * size_);
		mine_ = rad_malloc(sizeof(float) * r->per);
	}
	r->stage = stage_;
	r->mine = mine_;
}

/* This round's counts and offsets in the staging buffer; 0 when every slice is done. */
static int rounds_next(rounds *r, const size_t *off)
{
	int any = 0, d = 0;
	for (int k = 0; k < size_; k++) {
		size_t len = off[k + 1] - off[k], c = len > r->at ? len - r->at : 0;
		r->count[k] = (int)(c < r->per ? c : r->per);
		r->displ[k] = d;
		d += r->count[k];
		any |= r->count[k] > 0;
	}
	return any;
}

static void rounds_free(rounds *r)
{
	free(r->count); free(r->displ);
}

void rad_dist_sum_slice_f32(float *x, const size_t *off)
{
	if (size_ == 1) return;
	double t0 = rad_seconds();
	rounds r;
	rounds_init(&r);
	for (; rounds_next(&r, off); r.at += r.per) {
		for (int k = 0; k < size_; k++) memcpy(r.stage + r.displ[k], x + off[k] + r.at, sizeof(float) * r.count[k]);
		check(MPI_Reduce_scatter(r.stage, r.mine, r.count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "reduce-scatter");
		memcpy(x + off[rank_] + r.at, r.mine, sizeof(float) * r.count[rank_]);
	}
	rounds_free(&r);
	comm_s += rad_seconds() - t0;
}

void rad_dist_gather_slices_f32(float *x, const size_t *off)
{
	if (size_ == 1) return;
	double t0 = rad_seconds();
	rounds r;
	rounds_init(&r);
	for (; rounds_next(&r, off); r.at += r.per) {
		memcpy(r.stage + r.displ[rank_], x + off[rank_] + r.at, sizeof(float) * r.count[rank_]);
		check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, r.stage, r.count, r.displ, MPI_FLOAT, MPI_COMM_WORLD),
		      "all-gather");
		for (int k = 0; k < size_; k++) memcpy(x + off[k] + r.at, r.stage + r.displ[k], sizeof(float) * r.count[k]);
	}
	rounds_free(&r);
	comm_s += rad_seconds() - t0;
}

static void send_raw(int to, const void *buf, size_t n)
{
	for (size_t at = 0; at < n; at += CHUNK) {
		size_t k = n - at < CHUNK ? n - at : CHUNK;
		check(MPI_Send((const char *)buf + at, (int)k, MPI_BYTE, to, 0, MPI_COMM_WORLD), "send");
	}
}

static void recv_raw(int from, void *buf, size_t n)
{
	for (size_t at = 0; at < n; at += CHUNK) {
		size_t k = n - at < CHUNK ? n - at : CHUNK;
		check(MPI_Recv((char *)buf + at, (int)k, MPI_BYTE, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "receive");
	}
}

void rad_dist_collect_f32(const float *slice, float *whole, const size_t *off)
{
	if (size_ == 1) {
		if (whole != slice) memcpy(whole, slice, sizeof(float) * off[1]);
		return;
	}
	if (rank_ != 0) {
		send_raw(0, slice, sizeof(float) * (off[rank_ + 1] - off[rank_]));
		return;
	}
	memcpy(whole, slice, sizeof(float) * off[1]);
	for (int k = 1; k < size_; k++) recv_raw(k, whole + off[k], sizeof(float) * (off[k + 1] - off[k]));
}

void rad_dist_spread_f32(const float *whole, float *slice, const size_t *off)
{
	if (size_ == 1) {
		if (whole != slice) memcpy(slice, whole, sizeof(float) * off[1]);
		return;
	}
	if (rank_ != 0) {
		recv_raw(0, slice, sizeof(float) * (off[rank_ + 1] - off[rank_]));
		return;
	}
	for (int k = 1; k < size_; k++) send_raw(k, whole + off[k], sizeof(float) * (off[k + 1] - off[k]));
	memcpy(slice, whole, sizeof(float) * off[1]);
}

void rad_dist_send(int to, const void *buf, size_t n)
{
	uint64_t len = n;
	send_raw(to, &len, sizeof len);
	send_raw(to, buf, n);
}

size_t rad_dist_recv(int from, void **buf, size_t *cap)
{
	uint64_t len;
	recv_raw(from, &len, sizeof len);
	if (len + 1 > *cap) {
		*cap = len + 1;
		*buf = rad_realloc(*buf, *cap);
	}
	recv_raw(from, *buf, len);
	return len;
}

#endif
