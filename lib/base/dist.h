/* base/dist.h — the processes of one job under mpirun (Open MPI): ranks and the few
 * collective operations the model tools need.
 *
 * A tool launched by mpirun (found from OMPI_COMM_WORLD_SIZE or PMIX_RANK in the
 * environment) starts MPI and is one rank of R.  Launched any other way it is rank 0 of 1:
 * MPI is never initialised (a singleton start costs half a second, may probe the network
 * and is refused to root by default), and every operation below is a no-op or a copy, so
 * the single-process path is the plain one and prints nothing extra.
 *
 * The collective operations are called by every rank in the same order with the same
 * sizes.  Sums are MPI_SUM over MPI_FLOAT or MPI_DOUBLE: for a fixed R, message size and
 * Open MPI, the algorithm and so the order of the additions are fixed, and every
 * algorithm leaves all ranks the same bits (each element is added up once and then
 * copied, or added in mirrored order, a + b = b + a); a different R adds in another
 * order.  Large arrays go in buckets (RAD_DIST_BUCKET floats), which bounds the MPI
 * library's own buffers and keeps every count within an int.
 *
 * A rank that fails exits non-zero without MPI_Finalize: mpirun then ends the whole job
 * (exit status non-zero).  A rank that ends with status 0 finalises (rad_dist_init
 * arranges it with on_exit). */
#ifndef RAD_DIST_H
#define RAD_DIST_H

#include <stddef.h>

#define RAD_DIST_BUCKET ((size_t)1 << 22)

/* Starts MPI when launched by mpirun; call first thing in main, after rad_omp_passive
 * (which may re-execute the process).  A build without MPI launched by mpirun with more
 * than one process stops with a message (exit 2) rather than run R copies. */
void rad_dist_init(int *argc, char ***argv);
int rad_dist_rank(void);      /* 0 .. R-1 */
int rad_dist_size(void);      /* R */

/* The bytes of rank 0's buf[n] into every rank's buf. */
void rad_dist_bcast(void *buf, size_t n);
/* Element-wise sums over the ranks, in place, every rank getting the result. */
void rad_dist_sum_f32(float *x, size_t n);
void rad_dist_sum_f64(double *x, size_t n);

/* Slices of an array of n elements, one per rank, contiguous and in rank order: rank r
 * owns [off[r], off[r+1]), off[0] = 0, off[R] = n (off has R + 1 entries). */
void rad_dist_slices(size_t n, size_t *off);
/* Sums x[n] over the ranks into the caller's own slice only (the rest of x is left
 * undefined): the first half of an all-reduce, moving 1/R of its data per rank. */
void rad_dist_sum_slice_f32(float *x, const size_t *off);
/* Every rank's slice of x copied to all ranks (the second half of an all-reduce). */
void rad_dist_gather_slices_f32(float *x, const size_t *off);
/* Rank 0's whole[] gets every rank's slice (slice[] holds the caller's, off[r+1] - off[r]
 * elements); whole is only read on rank 0. */
void rad_dist_collect_f32(const float *slice, float *whole, const size_t *off);
/* The reverse: every rank's slice[] gets its part of rank 0's whole[]. */
void rad_dist_spread_f32(const float *whole, float *slice, const size_t *off);

/* Point to point, for handing work out (base/farm.h): n bytes to rank `to`; from rank
 * `from`, into a buffer that grows as needed (*buf from malloc, *cap its size), returning
 * the count. */
void rad_dist_send(int to, const void *buf, size_t n);
size_t rad_dist_recv(int from, void **buf, size_t *cap);

/* Wall seconds spent in the sums and slice exchanges above since the start (rank-local):
 * how much of a step communication takes. */
double rad_dist_comm_seconds(void);

#endif
