/* plot.c - see plot.h. */
#include "plot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "path.h"
#include "problem.h"

/* gnuplot on PATH? (popen would only say so through a shell's message.) */
static int have_gnuplot(void)
{
    const char *path = getenv("PATH");
    char buf[4096];
    while (path && *path) {
        size_t l = strcspn(path, ":");
        if (l && l < sizeof buf - 10) {
            memcpy(buf, path, l);
            strcpy(buf + l, "/gnuplot");
            if (!access(buf, X_OK))
                return 1;
        }
        path += l + (path[l] == ':');
    }
    return 0;
}

int no_plot_png(const char *dir, const char *csv_name, const char *png_name, no_plot_body body,
                const void *ctx, char *err, size_t len)
{
    /* the paths go into gnuplot's single-quoted strings */
    if (!have_gnuplot() || strchr(dir, '\'') || strchr(dir, '\n'))
        return 0;
    char csv[NO_PATH_MAX], png[NO_PATH_MAX], tmp[NO_PATH_MAX + 32];
    if (no_path_join(csv, sizeof csv, dir, csv_name, err, len) ||
        no_path_join(png, sizeof png, dir, png_name, err, len))
        return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", png, (long)getpid());
    FILE *g = popen("gnuplot", "w");
    if (!g)
        return 0;
    fprintf(g, "set terminal png size 900,600\nset output '%s'\nset datafile separator ','\n",
            tmp);
    body(g, csv, ctx);
    int st = pclose(g);
    if (st != 0 || access(tmp, F_OK)) {
        unlink(tmp); /* ours, if gnuplot left it */
        return 0;
    }
    if (rename(tmp, png)) {
        unlink(tmp);
        return no_errorf(err, len, "%s: %s", png, strerror(errno));
    }
    return 0;
}
