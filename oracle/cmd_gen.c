/* cmd_gen.c - `nodeoracle gen`: golden vectors (docs/check.md, docs/formats.md). */
#include <errno.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "golden.h"
#include "path.h"
#include "problem_dir.h"
#include "ref.h"
#include "suite.h"

const char no_cmd_gen_help[] =
    "NAME\n"
    "  nodeoracle gen - write golden reference vectors for a suite of problems\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle gen --suite NAME --out DIR [--prec BITS]\n"
    "\n"
    "DESCRIPTION\n"
    "  For each problem of the suite, writes DIR/NNN-<family>-<scheme>-<adjoint>/ with\n"
    "  problem.json and its arrays (.npy), and golden/: every output array correctly\n"
    "  rounded to float64 (NAME.npy), its per-element correct bits (NAME.bits.npy), the\n"
    "  values with 40 significant digits (NAME.txt) and provenance.json (versions,\n"
    "  precision, a hash of the inputs). Formats: docs/formats.md. Every value handed\n"
    "  out is known to at least 60 bits, or gen fails.\n"
    "\n"
    "OPTIONS\n"
    "  --suite NAME   smoke, default, deep (L up to 1024), wide (q, M up to 4096)\n"
    "  --out DIR      output directory (created)\n"
    "  --prec BITS    reference precision (default 192, so that the 40 digits are\n"
    "                 covered by the certified bits)\n";

/* The directory name of problem i: index and a short description. */
static void problem_name(char *buf, size_t n, int i, const no_spec *s)
{
    const char *fam = s->family == NO_FAMILY_LINEAR ? "linear"
                      : s->family == NO_FAMILY_RFF  ? (s->kernel == NO_KERNEL_GAUSSIAN
                                                           ? "rff-gaussian"
                                                           : "rff-matern")
                                                    : no_activation_name(s->activation);
    snprintf(buf, n, "%03d-%s%s-%s-%s-L%zu%s", i, s->family == NO_FAMILY_MLP ? "mlp-" : "",
             fam, no_scheme_name(s->scheme), no_adjoint_name(s->adjoint), s->L,
             s->scaling == NO_SCALING_SQRT ? "-sqrt" : "");
}

/* The 40-significant-digit strings of every element of the high result. */
static char ***digit_strings(const ref_result *hi)
{
    char ***d = calloc((size_t)hi->count, sizeof *d);
    for (int i = 0; d && i < hi->count; i++) {
        d[i] = calloc(hi->a[i].n, sizeof **d);
        for (size_t e = 0; d[i] && e < hi->a[i].n; e++)
            if (mpfr_asprintf(&d[i][e], "%.39Re", hi->a[i].v[e]) < 0)
                d[i][e] = NULL;
    }
    return d;
}

static void digit_strings_free(char ***d, const ref_result *hi)
{
    for (int i = 0; d && i < hi->count; i++) {
        for (size_t e = 0; d[i] && e < hi->a[i].n; e++)
            mpfr_free_str(d[i][e]);
        free(d[i]);
    }
    free(d);
}

static double min_bits(const no_arrays *bits)
{
    double mb = 1e300;
    for (int i = 0; i < bits->count; i++)
        for (size_t e = 0; e < bits->a[i].n; e++)
            mb = bits->a[i].v[e] < mb ? bits->a[i].v[e] : mb;
    return mb;
}

/* SPEC 6 hands out correctly rounded doubles.  The value x (the higher-
 * precision result, with at least c correct bits: |x - x*| <= 2^(EXP(x)-c))
 * determines RN(x*) when both ends of that interval, rounded outward, round
 * to the same double: round-to-nearest is monotone, so everything between
 * rounds there too.  (mpfr_can_round's RNDZ-and-one-more-bit test is
 * stricter: it refuses every exactly representable x, e.g. the states
 * z_0 = A x with A the identity.)  Exact zeros (claimed to full precision)
 * round to 0 exactly. */
static int correctly_rounded(mpfr_srcptr x, mpfr_exp_t c)
{
    if (mpfr_zero_p(x))
        return 1;
    mpfr_t lo, hi, e;
    mpfr_inits2(mpfr_get_prec(x) + 2, lo, hi, e, (mpfr_ptr)0);
    mpfr_set_ui_2exp(e, 1, mpfr_get_exp(x) - c, MPFR_RNDN);
    mpfr_sub(lo, x, e, MPFR_RNDD);
    mpfr_add(hi, x, e, MPFR_RNDU);
    int ok = mpfr_get_d(lo, MPFR_RNDN) == mpfr_get_d(hi, MPFR_RNDN);
    mpfr_clears(lo, hi, e, (mpfr_ptr)0);
    return ok;
}

static int check_correctly_rounded(const char *dir, const ref_result *hi, const no_arrays *bits,
                                   char *err, size_t len)
{
    for (int i = 0; i < hi->count; i++) {
        const no_array *b = no_arrays_get(bits, hi->a[i].name);
        for (size_t e = 0; b && e < hi->a[i].n; e++)
            if (!correctly_rounded(hi->a[i].v[e], (mpfr_exp_t)b->v[e]))
                return no_errorf(err, len,
                                 "%s: %s[%zu] is not provably correctly rounded to double "
                                 "with %.0f certified bits; raise --prec",
                                 dir, hi->a[i].name, e, b->v[e]);
    }
    return 0;
}

/* Write the problem and its golden/ into dir; messages name the problem by
 * label (dir is a temporary name). */
static int gen_one(const char *dir, const char *label, const no_spec *s, long prec, char *err,
                   size_t len)
{
    no_problem p;
    if (no_problem_generate(&p, s, err, len))
        return -1;
    int rc = no_problem_dir_write(dir, &p, err, len);
    no_arrays vals, bits;
    ref_result hi;
    ref_setup setup = {NULL, NULL, 0, &hi};
    if (!rc && !(rc = ref_certify_setup(&p, prec, &setup, &vals, &bits, err, len))) {
        uint64_t hash = 0;
        if (min_bits(&bits) < 60) {
            rc = no_errorf(err, len, "%s: the reference has only %.0f certified bits (< 60); "
                                     "raise --prec", label, min_bits(&bits));
        } else if (check_correctly_rounded(label, &hi, &bits, err, len)) {
            rc = -1;
        } else if (no_problem_hash(&p, &hash)) {
            rc = no_errorf(err, len, "%s: cannot hash the problem's inputs", label);
        } else {
            char ***digits = digit_strings(&hi);
            rc = no_golden_write(dir, &vals, &bits, (const char *const *const *)digits, prec,
                                 hash, NODEORACLE_VERSION, err, len);
            digit_strings_free(digits, &hi);
        }
        ref_result_clear(&hi);
        no_arrays_free(&vals);
        no_arrays_free(&bits);
    }
    no_problem_free(&p);
    return rc;
}

int no_cmd_gen(int argc, char **argv)
{
    const char *suite = NULL, *out = NULL;
    long prec = 192;
    char err[512];
    for (int i = 0; i < argc; i += 2) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(no_cmd_gen_help, stdout);
            return NO_EXIT_PASS;
        }
        if (!v)
            return no_cmd_usage_error("option needs a value");
        if (!strcmp(f, "--suite"))
            suite = v;
        else if (!strcmp(f, "--out"))
            out = v;
        else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &prec))
                return no_cmd_usage_error("--prec: expected bits in [53, 65536]");
        } else {
            snprintf(err, sizeof err, "unknown option '%s'", f);
            return no_cmd_usage_error(err);
        }
    }
    if (!suite || !out)
        return no_cmd_usage_error("gen needs --suite NAME and --out DIR");
    no_spec specs[NO_SUITE_MAX];
    int n = no_suite_specs(suite, specs);
    if (n < 0) {
        snprintf(err, sizeof err, "unknown suite '%s' (known: %s)", suite, no_suite_names());
        return no_cmd_usage_error(err);
    }
    if (no_path_mkdirs(out, err, sizeof err))
        return no_cmd_usage_error(err);
    for (int i = 0; i < n; i++) {
        char name[128], dir[NO_PATH_MAX];
        problem_name(name, sizeof name, i, &specs[i]);
        if (no_path_join(dir, sizeof dir, out, name, err, sizeof err))
            return no_cmd_usage_error(err);
        /* A problem directory appears whole or not at all: it is written
         * into a hidden temporary sibling and renamed into place. */
        char tmp[NO_PATH_MAX], tname[160];
        snprintf(tname, sizeof tname, ".%s.tmp.XXXXXX", name);
        if (no_path_join(tmp, sizeof tmp, out, tname, err, sizeof err))
            return no_cmd_usage_error(err);
        if (!mkdtemp(tmp)) {
            snprintf(err, sizeof err, "%s: cannot create a directory in it: %s", out,
                     strerror(errno));
            return no_cmd_usage_error(err);
        }
        clock_t t0 = clock();
        char ignore[64];
        if (gen_one(tmp, dir, &specs[i], prec, err, sizeof err)) {
            no_path_rmtree(tmp, ignore, sizeof ignore);
            fprintf(stderr, "nodeoracle: %s\n", err);
            return NO_EXIT_USAGE;
        }
        if (no_path_publish_dir(tmp, dir, "problem.json", err, sizeof err))
            return no_cmd_usage_error(err);
        fprintf(stderr, "[%d/%d] %s (%.1f s)\n", i + 1, n, name,
                (double)(clock() - t0) / CLOCKS_PER_SEC);
    }
    printf("nodeoracle: wrote %d problems with golden references to %s\n", n, out);
    return NO_EXIT_PASS;
}
