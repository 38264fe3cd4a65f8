/* path.c - see path.h. */
#include "path.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
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

int no_path_publish_dir(const char *tmp, const char *dest, const char *marker, char *err,
                        size_t len)
{
    char mark[NO_PATH_MAX], ignore[64];
    struct stat st;
    int rc = 0;
    if (lstat(dest, &st) == 0) {
        if (!S_ISDIR(st.st_mode) || no_path_join(mark, sizeof mark, dest, marker, err, len) ||
            stat(mark, &st) != 0)
            rc = no_errorf(err, len, "%s: exists and is not an earlier output (no %s); "
                                     "remove it or choose another directory",
                           dest, marker);
        else
            rc = no_path_rmtree(dest, err, len);
    }
    /* mkdtemp made tmp private (0700); give it what mkdir(2) would have. */
    mode_t um = umask(0);
    umask(um);
    if (!rc && chmod(tmp, 0777 & ~um) != 0)
        rc = no_errorf(err, len, "%s: cannot set permissions: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, dest) != 0)
        rc = no_errorf(err, len, "%s: cannot rename into place: %s", dest, strerror(errno));
    if (rc)
        no_path_rmtree(tmp, ignore, sizeof ignore);
    return rc;
}
