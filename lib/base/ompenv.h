/* base/ompenv.h — OpenMP threads that sleep instead of spinning while they wait.
 *
 * On a few shared cores, spinning OpenMP workers compete with the other processes of a
 * job (mpirun ranks, GNU Parallel's jobs) and with other work (measured when the products
 * ran on OpenBLAS's threads: 1.4-1.8x more CPU per training step at 2 threads).  libgomp
 * reads OMP_WAIT_POLICY once, before main, so a tool that wants PASSIVE sets it and
 * re-executes itself; a value the user set is left alone. */
#ifndef RAD_OMPENV_H
#define RAD_OMPENV_H

/* Call first thing in main; returns only in the process that will do the work. */
void rad_omp_passive(char **argv);

#endif
