/* report.h - the human-readable table of a comparison. */
#ifndef NO_REPORT_H
#define NO_REPORT_H

#include <stdio.h>

#include "compare.h"

/* Header line (problem, precision, tolerance model), then one row per array. */
void no_report_print(FILE *f, const no_cmp_report *rep, int index, int total);

#endif
