/* path.c - see path.h. */
#include "path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
