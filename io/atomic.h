/* atomic.h - write a file so that it appears whole or not at all
 * (docs/formats.md: "Every file nodeoracle writes is written atomically").
 *
 * The data go to PATH.tmp.XXXXXX (mkstemp) in the same directory, since
 * rename(2) is atomic only within one file system; commit flushes, fsyncs
 * (so that a crash after the rename cannot leave an empty file under the
 * final name) and renames.  Any failure, and abort, unlinks the temporary,
 * so a failed run leaves no file behind.
 *
 *   no_atomic w;
 *   if (no_atomic_open(&w, path, err, len)) return -1;
 *   fprintf(w.f, ...);
 *   return no_atomic_commit(&w, err, len);   // or no_atomic_abort(&w)
 */
#ifndef NO_ATOMIC_H
#define NO_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

#include "path.h"

typedef struct {
    FILE *f;                  /* write here */
    char path[NO_PATH_MAX];   /* final name */
    char tmp[NO_PATH_MAX];    /* temporary name, unlinked on failure */
} no_atomic;

/* Create the temporary file.  Returns 0, or -1 with err filled ("PATH: why"). */
int no_atomic_open(no_atomic *w, const char *path, char *err, size_t len);

/* no_atomic_open of the file name inside directory dir (no_path_join). */
int no_atomic_open_in(no_atomic *w, const char *dir, const char *name, char *err, size_t len);

/* Flush, fsync, close and rename into place.  Also reports an earlier write
 * error on w->f.  Returns 0, or -1 with err filled (the temporary is gone). */
int no_atomic_commit(no_atomic *w, char *err, size_t len);

/* Close and unlink the temporary; the final name is untouched. */
void no_atomic_abort(no_atomic *w);

/* The whole file in one call: n bytes of data. */
int no_atomic_write(const char *path, const void *data, size_t n, char *err, size_t len);

/* The same without the fsync, for a caller that writes many files and then
 * flushes their file system once (nodeoracle-mpi's trees, nm_tree_flush):
 * still whole or absent under the final name. */
int no_atomic_write_nosync(const char *path, const void *data, size_t n, char *err,
                           size_t len);

#endif
