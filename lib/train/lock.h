/* train/lock.h — one trainer per output directory.
 *
 * The lock is an flock on DIR.lock, beside the directory (the directory itself is replaced
 * at every save, so a lock inside it would not hold).  It lasts as long as the process;
 * the kernel drops it when the process dies, however it dies.  A lock file this process
 * made is removed at exit; a file of that name that was already there and is not a rad
 * lock file is used as it is and left alone. */
#ifndef RAD_LOCK_H
#define RAD_LOCK_H

/* Takes the lock of dir, or returns why not (another process holds it: its pid when the
 * file names one). */
const char *rad_dir_lock(const char *dir);

#endif
