/* atomic.c - see atomic.h. */
#include "atomic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "problem.h"

int no_atomic_open(no_atomic *w, const char *path, char *err, size_t len)
{
    memset(w, 0, sizeof *w);
    size_t n = strlen(path);
    if (n == 0)
        return no_errorf(err, len, "empty file name");
    if (n + sizeof ".tmp.XXXXXX" > sizeof w->tmp)
        return no_errorf(err, len, "%.64s...: path longer than %zu bytes", path,
                         sizeof w->tmp - sizeof ".tmp.XXXXXX");
    memcpy(w->path, path, n + 1);
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(w->tmp);
    if (fd < 0)
        return no_errorf(err, len, "%s: cannot create a temporary file: %s", path,
                         strerror(errno));
    /* mkstemp creates mode 0600; the final file gets the usual 0666 & ~umask
     * like any file created with fopen.  (umask can only be read by setting
     * it; the CLI is single-threaded.) */
    mode_t mask = umask(022);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || !(w->f = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        unlink(w->tmp);
        return no_errorf(err, len, "%s: cannot open a temporary file: %s", path, strerror(e));
    }
    return 0;
}

void no_atomic_abort(no_atomic *w)
{
    if (w->f) {
        fclose(w->f);
        w->f = NULL;
        unlink(w->tmp);
    }
}

/* no_atomic_commit; sync 0 leaves the fsync to the caller (many files). */
static int commit(no_atomic *w, int sync, char *err, size_t len)
{
    if (!w->f)
        return no_errorf(err, len, "%s: not open for writing", w->path);
    const char *what = NULL;
    int e = 0;
    if (ferror(w->f))
        what = "write error", e = EIO;
    else if (fflush(w->f) != 0)
        what = "write error", e = errno;
    else if (sync && fsync(fileno(w->f)) != 0)
        what = "fsync failed", e = errno;
    if (what) {
        no_atomic_abort(w);
        return no_errorf(err, len, "%s: %s: %s", w->path, what, strerror(e));
    }
    FILE *f = w->f;
    w->f = NULL;
    if (fclose(f) != 0) {
        e = errno;
        unlink(w->tmp);
        return no_errorf(err, len, "%s: close failed: %s", w->path, strerror(e));
    }
    if (rename(w->tmp, w->path) != 0) {
        e = errno;
        unlink(w->tmp);
        return no_errorf(err, len, "%s: cannot rename into place: %s", w->path, strerror(e));
    }
    return 0;
}

int no_atomic_commit(no_atomic *w, char *err, size_t len)
{
    return commit(w, 1, err, len);
}

static int write_whole(const char *path, const void *data, size_t n, int sync, char *err,
                       size_t len)
{
    no_atomic w;
    if (no_atomic_open(&w, path, err, len))
        return -1;
    if (n && fwrite(data, 1, n, w.f) != n) {
        int e = errno;
        no_atomic_abort(&w);
        return no_errorf(err, len, "%s: write error: %s", path, strerror(e));
    }
    return commit(&w, sync, err, len);
}

int no_atomic_write(const char *path, const void *data, size_t n, char *err, size_t len)
{
    return write_whole(path, data, n, 1, err, len);
}

int no_atomic_write_nosync(const char *path, const void *data, size_t n, char *err, size_t len)
{
    return write_whole(path, data, n, 0, err, len);
}

int no_atomic_open_in(no_atomic *w, const char *dir, const char *name, char *err, size_t len)
{
    char path[NO_PATH_MAX];
    if (no_path_join(path, sizeof path, dir, name, err, len))
        return -1;
    return no_atomic_open(w, path, err, len);
}
