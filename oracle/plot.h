/* plot.h - PNG plots through gnuplot, for the commands that write curves
 * (train, width).  gnuplot is optional (make deps installs gnuplot-nox): a
 * plot is skipped, not an error, when it is missing or fails. */
#ifndef NO_PLOT_H
#define NO_PLOT_H

#include <stddef.h>
#include <stdio.h>

/* Writes the plot commands after the terminal, output and CSV separator
 * are set; csv is the path of the data file to plot. */
typedef void (*no_plot_body)(FILE *g, const char *csv, const void *ctx);

/* dir/png_name drawn by body from dir/csv_name: written to a temporary name
 * and renamed into place.  0 also when skipped (no gnuplot on PATH, a
 * directory name gnuplot cannot quote, gnuplot failing); -1 with err only
 * when the finished plot cannot be renamed into place. */
int no_plot_png(const char *dir, const char *csv_name, const char *png_name, no_plot_body body,
                const void *ctx, char *err, size_t len);

#endif
