/* path.c - see path.h. */
/* renameat2 (<stdio.h>, glibc 2.28+) and flock (<sys/file.h>) are Linux/BSD,
 * not POSIX: asked for here only, before any #include, so that the rest of
 * the project keeps building with -D_POSIX_C_SOURCE alone. */
#define _GNU_SOURCE
#include "path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "problem.h"

int no_path_join(char *buf, size_t n, const char *dir, const char *name, char *err, size_t len)
{
    int w;
    if (!dir[0] || name[0] == '/')
        w = snprintf(buf, n, "%s", name);
    else if (dir[strlen(dir) - 1] == '/')
        w = snprintf(buf, n, "%s%s", dir, name);
    else
        w = snprintf(buf, n, "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= n)
        return no_errorf(err, len, "%s/%s: path longer than %zu bytes", dir, name, n - 1);
    return 0;
}

/* mkdir that accepts an existing directory (created by us earlier, or by a
 * concurrent writer between our stat and mkdir). */
static int mkdir_one(const char *path, char *err, size_t len)
{
    if (mkdir(path, 0777) == 0)
        return 0;
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        return no_errorf(err, len, "%s: exists and is not a directory", path);
    }
    return no_errorf(err, len, "%s: cannot create directory: %s", path, strerror(e));
}

int no_path_mkdirs(const char *dir, char *err, size_t len)
{
    char buf[NO_PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0)
        return no_errorf(err, len, "empty directory name");
    if (n >= sizeof buf)
        return no_errorf(err, len, "%.64s...: path longer than %zu bytes", dir, sizeof buf - 1);
    memcpy(buf, dir, n + 1);
    /* Create each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i < n; i++) {
        if (buf[i] != '/' || buf[i - 1] == '/')
            continue;
        buf[i] = 0;
        int rc = mkdir_one(buf, err, len);
        buf[i] = '/';
        if (rc)
            return -1;
    }
    return mkdir_one(buf, err, len);
}

int no_path_rmtree(const char *path, char *err, size_t len)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : no_errorf(err, len, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return no_errorf(err, len, "%s: cannot open directory: %s", path, strerror(errno));
        struct dirent *e;
        int rc = 0;
        while (!rc && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char child[NO_PATH_MAX];
            rc = no_path_join(child, sizeof child, path, e->d_name, err, len) ||
                 no_path_rmtree(child, err, len);
        }
        closedir(d);
        if (rc)
            return -1;
        if (rmdir(path) != 0)
            return no_errorf(err, len, "%s: cannot remove: %s", path, strerror(errno));
        return 0;
    }
    if (unlink(path) != 0)
        return no_errorf(err, len, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

int no_path_rename_dir(const char *from, const char *to, no_rename_mode mode, char *err,
                       size_t len)
{
    /* The tests' way to reach the fallback on a file system that can swap
     * (tests/test_gen_safety.c); not a user setting. */
    if (mode == NO_RENAME_EXCHANGE && getenv("NODEORACLE_TEST_NO_RENAME_EXCHANGE"))
        return 1;
#ifdef RENAME_EXCHANGE
    unsigned flags = mode == NO_RENAME_EXCHANGE ? RENAME_EXCHANGE : RENAME_NOREPLACE;
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, flags) == 0)
        return 0;
    int e = errno;
    /* EINVAL: the file system does not implement the flag (some network and
     * FUSE file systems); ENOSYS: a kernel before 3.15. */
    if (e != EINVAL && e != ENOSYS && e != ENOTSUP) {
        if (mode == NO_RENAME_EXCHANGE)
            return no_errorf(err, len, "%s: cannot replace it: %s", to, strerror(e));
        return no_errorf(err, len, "%s: cannot rename %s into place: %s", to, from,
                         strerror(e));
    }
#endif
    if (mode == NO_RENAME_EXCHANGE)
        return 1;
    /* No RENAME_NOREPLACE: rename(2), which would also replace an empty
     * directory that appeared at `to` meanwhile (nothing is lost). */
    if (rename(from, to) != 0)
        return no_errorf(err, len, "%s: cannot rename %s into place: %s", to, from,
                         strerror(errno));
    return 0;
}

int no_path_lock_dir(const char *dir, int *fd, char *err, size_t len)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return no_errorf(err, len, "%s: cannot open directory: %s", dir, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    int e = errno;
    close(*fd);
    *fd = -1;
    /* Otherwise e.g. ENOLCK, or EBADF on NFS, which emulates flock with
     * fcntl locks that need a file open for writing: no lock to be had. */
    return e == EWOULDBLOCK ? 1 : 2;
}

/* What a non-regular file is, for "not a regular file (a FIFO)". */
static const char *file_kind(mode_t m)
{
    return S_ISFIFO(m)   ? "a FIFO"
           : S_ISDIR(m)  ? "a directory"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a file";
}

FILE *no_path_open_regular(const char *path, unsigned long long max_bytes, char *err,
                           size_t len)
{
    /* stat before open: opening a device can act by itself (a tape rewinds,
     * a watchdog arms), so a non-regular file is refused unopened. */
    struct stat st;
    if (stat(path, &st) != 0) {
        no_errorf(err, len, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        no_errorf(err, len, "%s: not a regular file (%s)", path, file_kind(st.st_mode));
        return NULL;
    }
    /* O_NONBLOCK: should the name be swapped for a FIFO after the stat, the
     * open still returns at once and the fstat below refuses it.  O_NOCTTY:
     * nor may a terminal become ours. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        no_errorf(err, len, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    int fl;
    FILE *f = NULL;
    if (fstat(fd, &st) != 0)
        no_errorf(err, len, "%s: cannot open: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        no_errorf(err, len, "%s: not a regular file (%s)", path, file_kind(st.st_mode));
    else if (st.st_size < 0 || (unsigned long long)st.st_size > max_bytes)
        no_errorf(err, len, "%s: %lld bytes, more than the limit of %llu bytes for this file",
                  path, (long long)st.st_size, max_bytes);
    else if ((fl = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1 ||
             !(f = fdopen(fd, "rb")))
        no_errorf(err, len, "%s: cannot open: %s", path, strerror(errno));
    if (!f)
        close(fd);
    return f;
}

/* s with every control byte replaced by '?', in place: a symlink's target
 * may hold any byte, and the message must stay one line. */
static char *printable(char *s)
{
    for (char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return s;
}

/* realpath of the directory part of path ("." if it has none), malloc'd. */
static char *parent_realpath(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return realpath(".", NULL);
    if (slash == path)
        return realpath("/", NULL);
    char parent[NO_PATH_MAX];
    size_t k = (size_t)(slash - path);
    if (k >= sizeof parent) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    memcpy(parent, path, k);
    parent[k] = 0;
    return realpath(parent, NULL);
}

int no_path_confine(char *buf, size_t n, const char *dir, const char *name, const char *what,
                    char *why, size_t whylen)
{
    if (!name[0])
        return no_errorf(why, whylen, "is an empty file name");
    if (name[0] == '/')
        return no_errorf(why, whylen, "is an absolute path; only names inside %s are read",
                         what);
    if (no_path_join(buf, n, dir, name, why, whylen))
        return -1;
    /* Compare real paths, not names: "..", "sub/../..", a symlink (to a file
     * or a directory, relative or absolute) all show there. */
    char *rdir = realpath(dir, NULL), *rfile = NULL;
    int rc = 0;
    struct stat st;
    if (!rdir) {
        rc = no_errorf(why, whylen, "cannot be checked (%s: %s)", dir, strerror(errno));
    } else if (!(rfile = realpath(buf, NULL))) {
        /* A missing file is the reader's to report ("cannot open"), as for
         * any name; its directory must still be inside.  A symlink to
         * nothing is refused: its target could appear outside later. */
        int e = errno;
        if (e != ENOENT || lstat(buf, &st) == 0)
            rc = no_errorf(why, whylen, "cannot be opened (%s: %s)", buf, strerror(e));
        else if (!(rfile = parent_realpath(buf)))
            rc = no_errorf(why, whylen, "cannot be opened (%s: %s)", buf, strerror(errno));
        else if (!strcmp(rfile, rdir))
            rfile[0] = 0; /* directly in dir: inside */
    }
    if (!rc && rfile[0]) {
        size_t k = strlen(rdir);
        /* below: rdir, then '/', then more (rdir "/" is itself the slash) */
        int below = !strncmp(rfile, rdir, k) &&
                    (k == 1 ? rfile[1] != 0 : rfile[k] == '/' && rfile[k + 1] != 0);
        if (!below)
            rc = no_errorf(why, whylen, "leads outside %s (it resolves to %s)", what,
                           printable(rfile));
    }
    free(rdir);
    free(rfile);
    return rc;
}

int no_path_absent(const char *path)
{
    return access(path, F_OK) != 0 && errno == ENOENT;
}
