/* path.h - file names of the io/ module: joining a directory and a file name,
 * creating a directory with its parents, removing a tree, renaming a
 * directory into place (or swapping it with the old one) and locking one;
 * opening an input file (regular files only) and confining a file name
 * found inside a directory to it.
 *
 * Paths are bounded (NO_PATH_MAX) so that every caller can keep them in a
 * stack buffer; a longer path is an error message, never a truncated name
 * that would silently point at another file. */
#ifndef NO_PATH_H
#define NO_PATH_H

#include <stddef.h>
#include <stdio.h>

#define NO_PATH_MAX 4096

/* buf = dir "/" name (or name alone if dir is empty or name is absolute).
 * Returns 0, or -1 with err filled if it does not fit in n bytes. */
int no_path_join(char *buf, size_t n, const char *dir, const char *name, char *err, size_t len);

/* mkdir -p: create dir and its missing parents (mode 0777 & ~umask).  An
 * existing directory is fine; an existing non-directory is an error.
 * Returns 0, or -1 with err filled ("DIR: why"). */
int no_path_mkdirs(const char *dir, char *err, size_t len);

/* rm -r: remove path and, if it is a directory, everything below it
 * (symbolic links are removed, never followed).  A missing path is fine.
 * Returns 0, or -1 with err filled ("PATH: why"). */
int no_path_rmtree(const char *path, char *err, size_t len);

/* How no_path_rename_dir moves a directory. */
typedef enum {
    NO_RENAME_NOREPLACE, /* `to` must not exist */
    NO_RENAME_EXCHANGE   /* `to` exists; the two names swap in one step */
} no_rename_mode;

/* Rename the directory `from` to `to` (same file system) with renameat2(2):
 * a reader of `to` sees the old or the new tree, never neither.  Returns 0;
 * 1 when mode is NO_RENAME_EXCHANGE and the kernel or file system cannot
 * swap (EINVAL, ENOSYS, ENOTSUP, or no renameat2): the caller falls back to
 * renames; -1 with err filled.  Without RENAME_NOREPLACE support a
 * NOREPLACE rename is a plain rename(2).  The environment variable
 * NODEORACLE_TEST_NO_RENAME_EXCHANGE (set: any value) makes EXCHANGE return
 * 1, so that tests reach the fallback on any file system. */
int no_path_rename_dir(const char *from, const char *to, no_rename_mode mode, char *err,
                       size_t len);

/* Take an exclusive advisory lock (flock(2), non-blocking) on directory dir,
 * held until close(*fd) or exit (a killed process releases it).  Returns 0
 * with *fd open; otherwise *fd = -1 and 1 when another process holds it, 2
 * when the file system has no such locks, -1 with err filled. */
int no_path_lock_dir(const char *dir, int *fd, char *err, size_t len);

/* No size limit for no_path_open_regular. */
#define NO_PATH_ANY_SIZE ((unsigned long long)-1)

/* Open path for reading if it is a regular file of at most max_bytes bytes
 * (symbolic links followed).  Everything that reads an input file goes
 * through here: a FIFO, a device, a socket or a directory is refused
 * ("PATH: not a regular file (a FIFO)") without ever blocking in open(2) or
 * read(2), and an absurd size before a byte is read.  Returns the stream
 * (blocking, close-on-exec; the caller fcloses it), or NULL with err filled:
 * "PATH: cannot open: why", "PATH: not a regular file (a KIND)",
 * "PATH: N bytes, more than the limit of M bytes for this file". */
FILE *no_path_open_regular(const char *path, unsigned long long max_bytes, char *err,
                           size_t len);

/* Confine a file name read from a file inside directory dir (candidate.json's
 * "grid") to that directory: name must be relative, and the real path of
 * dir/name (symbolic links resolved) must lie below the real path of dir.
 * what names the directory in messages ("the candidate directory").  On
 * success buf = dir/name (as no_path_join) and 0.  Otherwise -1 and why holds
 * the reason as a predicate to follow the quoted name: "is an absolute path;
 * ...", "leads outside WHAT (it resolves to R)", "cannot be opened (P: why)".
 * The name is not in why: the caller quotes it, cleaned for a message. */
int no_path_confine(char *buf, size_t n, const char *dir, const char *name, const char *what,
                    char *why, size_t whylen);

/* 1 if nothing exists at path (ENOENT); 0 if something does, or if it
 * cannot be told (a permission error: the caller's open then says which). */
int no_path_absent(const char *path);

#endif
