/* report.c - see report.h. */
#include "report.h"

#include <math.h>

void no_report_print(FILE *f, const no_cmp_report *rep, int index, int total)
{
    char desc[256];
    no_spec_describe(&rep->spec, desc, sizeof desc);
    fprintf(f, "[%d/%d] %s\n", index, total, desc);
    fprintf(f, "      ref %ld bits | tolerance model: Lambda=%.3g work=%.0f/%.0f kappa_r=%.3g\n",
            rep->prec, rep->tol.lambda, rep->tol.work_fwd, rep->tol.work_bwd, rep->tol.kappa_r);
    fprintf(f, "      %-10s %11s %11s %9s %8s %8s %9s  %s\n", "array", "max rel", "rms rel",
            "max ulps", "ref bits", "(min)", "tol", "verdict");
    for (int i = 0; i < rep->nrows; i++) {
        const no_cmp_row *r = &rep->rows[i];
        fprintf(f, "      %-10s %11.3e %11.3e %9.3g %8.1f %8.1f %9.2e  %s\n", r->name, r->max_rel,
                r->rms_rel, r->max_ulps, r->ref_bits, r->ref_min_bits, r->tol,
                no_verdict_name(r->verdict));
    }
}
