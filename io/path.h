/* path.h - file names of the io/ module: joining a directory and a file name,
 * and creating a directory with its parents.
 *
 * Paths are bounded (NO_PATH_MAX) so that every caller can keep them in a
 * stack buffer; a longer path is an error message, never a truncated name
 * that would silently point at another file. */
#ifndef NO_PATH_H
#define NO_PATH_H

#include <stddef.h>

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

/* Make the directory tmp (complete, written by us) appear as dest: rename(2)
 * when dest is absent; when dest exists it must hold the file `marker` (it
 * is an earlier output of ours, not a user's directory), and is removed
 * first.  On failure tmp is removed.  Returns 0, or -1 with err filled. */
int no_path_publish_dir(const char *tmp, const char *dest, const char *marker, char *err,
                        size_t len);

#endif
