/* nm.h - what the commands of nodeoracle-mpi share (mpi/nm.c): the ranks,
 * the static split of a command's items (problems, or the cells of a width
 * sweep) over them, moving bytes, and the collective exit status.
 * docs/mpi.md.
 *
 * The pattern of every command: each rank computes its share of the items
 * with the library's own per-item step (oracle/suite.h, oracle/width.h) and
 * turns each outcome into bytes; rank 0 takes the outcomes in the order
 * i = 0, 1, ... (its own, kept, and the others', received) and does exactly
 * what the serial command does with them: so the files, the text and the
 * JSON are the serial command's, whatever the number of ranks.  Only rank 0
 * writes outputs and prints on stdout; the other ranks' stdout is
 * /dev/null.  Every rank ends with the exit status rank 0 decided. */
#ifndef NM_H
#define NM_H

#include <stddef.h>

#include "bytes.h"

extern int nm_rank, nm_size;

/* Not an exit status: the command goes on. */
#define NM_GO (-100)

/* Parsing options on every rank: on ranks other than 0 stderr goes to a
 * scratch file meanwhile (rank 0 prints the errors, once).  nm_agree then
 * decides for all: status is this rank's (NM_GO to go on); a rank other than
 * 0 that failed where rank 0 went on (a check that depends on the node, such
 * as its memory) has its line printed by rank 0, "nodeoracle: rank R: ...",
 * and every rank gets NO_EXIT_USAGE.  Returns the common status. */
void nm_quiet_begin(void);
void nm_quiet_end(void);
int nm_agree(int status);

/* Rank 0's value of x, on every rank. */
int nm_bcast_int(int x);

/* The owner of each of n items of estimated costs cost[] (rank 0's array;
 * the result is rank 0's, broadcast): the longest item first to the rank
 * with the least work so far (ties: the lower index, the lower rank).
 * Static: it depends on the costs only, never on timing. */
void nm_assign(const double *cost, int n, int *owner);

/* An item's outcome as bytes (malloc'd). */
typedef struct {
    char *data;
    size_t len;
} nm_blob;

/* work: compute item i (called on its owner, in increasing i) into *out;
 * 0, or -1 when not even an outcome could be made (out of memory: the job
 * is aborted).  take: on rank 0, item i's outcome, in the order i = 0..n-1;
 * takes over out.data. */
typedef int (*nm_work_fn)(void *ctx, int i, nm_blob *out);
typedef void (*nm_take_fn)(void *ctx, int i, nm_blob *in);

/* Every item computed on its owner and taken on rank 0 in order.  Rank 0
 * computes its own items first, then takes all; the others send each
 * outcome as it is made (non-blocking: they go on with the next). */
void nm_run(int n, const int *owner, nm_work_fn work, nm_take_fn take, void *ctx);

/* Bytes from rank 0 to every rank: *data (rank 0's; malloc'd elsewhere). */
void nm_bcast_bytes(char **data, size_t *len);

/* Outcomes are built with io/bytes.h (no_bytes) and read with no_reader.
 * A work function's end: b's bytes become *out (0), or, when b ran out of
 * memory, b is freed and -1 returned (the job cannot go on). */
int nm_buf_give(no_bytes *b, nm_blob *out);

/* The whole tree below dir (directories and regular files; names starting
 * with '.' at its top skipped: the manifest), as bytes appended to b; and
 * back below dir (which exists): directories made with mode 0777 and each
 * file written under a temporary name beside it and renamed, mode 0666,
 * both less the umask, as gen's own.  The files are not flushed one by one
 * (gen's writers fsync each file): nm_tree_flush flushes dir's whole file
 * system once (syncfs), before anything is published.  0, or -1 with err. */
int nm_tree_pack(const char *dir, no_bytes *b, char *err, size_t len);
int nm_tree_unpack(no_reader *r, const char *dir, char *err, size_t len);
int nm_tree_flush(const char *dir, char *err, size_t len);

/* Where a rank writes what it sends: $TMPDIR, else /dev/shm (memory: the
 * writers' fsyncs cost nothing there), else /tmp. */
const char *nm_private_base(void);

/* Abort every rank: "nodeoracle: rank R: MSG" on stderr, then MPI_Abort. */
void nm_die(const char *msg);

/* The commands (mpi/nm_cmds.c); argv after the command's name. */
int nm_gen(int argc, char **argv);
int nm_check(int argc, char **argv);
int nm_width(int argc, char **argv);
/* One problem split across the ranks by data points (mpi/nm_run.c). */
int nm_run_problem(int argc, char **argv);

#endif
