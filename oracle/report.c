/* report.c - see report.h. */
#include "report.h"

#include <math.h>
#include <string.h>

static const char *format_of(double u)
{
    return u == 0x1.0p-24 ? "float32" : u == 0x1.0p-8 ? "bfloat16" : u == 0x1.0p-53 ? "float64"
                                                                                     : "this";
}

/* The array names whose verdict is v, comma-separated. */
static void names_with(const no_cmp_report *rep, no_verdict v, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < rep->nrows && used < n; i++)
        if (rep->rows[i].verdict == v)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? "," : "",
                                     rep->rows[i].name);
}

/* Why rows could not be judged, in words: the first law forbids a pass, and
 * a user needs to know whether more precision or another problem helps. */
static void print_unjudged(FILE *f, const no_cmp_report *rep)
{
    char names[256];
    double worst_tol = 0, best_bits = INFINITY;
    int ref_out = 0;
    for (int i = 0; i < rep->nrows; i++) {
        const no_cmp_row *r = &rep->rows[i];
        if (r->verdict != NO_VERDICT_UNVERIFIABLE)
            continue;
        if ((r->bad.index >= 0 && r->bad.in_ref) || rep->tol.out_name[0])
            ref_out = 1;
        else
            worst_tol = isnan(r->tol) || r->tol > worst_tol ? r->tol : worst_tol;
        best_bits = fmin(best_bits, r->ref_bits);
    }
    names_with(rep, NO_VERDICT_UNVERIFIABLE, names, sizeof names);
    const char *fmt = format_of(rep->tol.u);
    if (names[0] && !ref_out)
        fprintf(f,
                "      unverifiable (%s): their tolerance %.3g exceeds %.3g (2^%d): this "
                "problem loses all %s digits (growth exp(Lambda)=exp(%.3g), kappa_r=%.3g); "
                "the reference at %ld bits is certified to %.1f bits, but no %s candidate can "
                "be judged\n",
                names, worst_tol, no_tol_meaningful_max(rep->tol.u),
                (int)log2(no_tol_meaningful_max(rep->tol.u)), fmt, rep->tol.lambda,
                rep->tol.kappa_r, rep->prec, best_bits, fmt);
    else if (names[0])
        fprintf(f,
                "      unverifiable (%s): the reference leaves the range a %s computation can "
                "hold: %s (flat index %ld) = %g (above %g, the square root of the format's overflow "
                "threshold); no %s output can be judged\n",
                names, fmt, rep->tol.out_name, rep->tol.out_index, rep->tol.out_value,
                no_tol_range_max(rep->tol.u), fmt);
    names_with(rep, NO_VERDICT_REF_WEAK, names, sizeof names);
    if (names[0]) {
        double need = 0, have = INFINITY;
        for (int i = 0; i < rep->nrows; i++)
            if (rep->rows[i].verdict == NO_VERDICT_REF_WEAK) {
                need = fmax(need, rep->rows[i].need_bits);
                have = fmin(have, rep->rows[i].ref_bits);
            }
        fprintf(f,
                "      ref too weak (%s): certified to %.1f bits at %ld bits of precision, "
                "the tolerance needs %.1f; the cap is %ld bits (raise --max-prec)\n",
                names, have, rep->prec, need, rep->prec_cap);
        if (rep->raise_note[0])
            fprintf(f, "      the raise %s\n", rep->raise_note);
    }
}

void no_report_print(FILE *f, const no_cmp_report *rep, int index, int total)
{
    char desc[256];
    no_spec_describe(&rep->spec, desc, sizeof desc);
    fprintf(f, "[%d/%d] %s\n", index, total, desc);
    fprintf(f, "      ref %ld bits", rep->prec);
    if (rep->prec_asked && rep->prec > rep->prec_asked)
        fprintf(f, " (raised from %ld to certify the bits the tolerances need)", rep->prec_asked);
    fprintf(f, " | tolerance model: Lambda=%.3g work=%.0f/%.0f kappa_r=%.3g\n", rep->tol.lambda,
            rep->tol.work_fwd, rep->tol.work_bwd, rep->tol.kappa_r);
    fprintf(f, "      %-10s %11s %11s %9s %8s %8s %9s  %s\n", "array", "max rel", "rms rel",
            "max ulps", "ref bits", "(min)", "tol", "verdict");
    for (int i = 0; i < rep->nrows; i++) {
        const no_cmp_row *r = &rep->rows[i];
        fprintf(f, "      %-10s %11.3e %11.3e %9.3g %8.1f %8.1f %9.2e  %s\n", r->name, r->max_rel,
                r->rms_rel, r->max_ulps, r->ref_bits, r->ref_min_bits, r->tol,
                no_verdict_name(r->verdict));
    }
    for (int i = 0; i < rep->nrows; i++) {
        const no_cmp_row *r = &rep->rows[i];
        if (r->bad.index < 0)
            continue;
        char where[128];
        no_compare_index_str(r, r->bad.index, where, sizeof where);
        fprintf(f, "      first non-finite value: %s %s = %g\n",
                r->bad.in_ref ? "reference" : "candidate", where, r->bad.value);
    }
    if (rep->outcome == NO_OUTCOME_UNJUDGED || !rep->pass)
        print_unjudged(f, rep);
}
