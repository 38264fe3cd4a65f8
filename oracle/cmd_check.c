/* cmd_check.c - `nodeoracle check`: an outside implementation against the
 * reference, with diagnosis (docs/check.md). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "candidate.h"
#include "cmd.h"
#include "compare.h"
#include "diagnose.h"
#include "golden.h"
#include "path.h"
#include "problem_dir.h"
#include "ref.h"
#include "report.h"

const char no_cmd_check_help[] =
    "NAME\n"
    "  nodeoracle check - validate an outside implementation's outputs\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle check --problem DIR --candidate DIR [--precision float64|float32|bfloat16]\n"
    "                   [--grid FILE.npy] [--scheme euler|rk4] [--golden | --on-the-fly]\n"
    "                   [--prec BITS] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Reads a problem directory and a candidate's outputs (docs/formats.md), takes the\n"
    "  reference from DIR/golden/ when present (or computes it, --on-the-fly), and compares\n"
    "  every array the candidate provided against a tolerance derived from the declared\n"
    "  precision and the problem (proofs-notes/tolerance.md). On failure it diagnoses:\n"
    "  the reference is run on each hypothesised bug (a missing 1/N, 1/2, 1/L, 1/M or\n"
    "  sqrt(2/q), no rff phase, transposed weights, a sign flip, an off-by-one depth, the\n"
    "  continuous instead of the discrete adjoint, a lower precision) and the best match\n"
    "  is named with how well it matches (docs/check.md).\n"
    "\n"
    "OPTIONS\n"
    "  --problem DIR     the problem (problem.json and arrays)\n"
    "  --candidate DIR   the candidate's outputs (output.npy, loss.npy, grad_*.npy, ...)\n"
    "  --precision P     the precision the candidate computed in (default: candidate.json's,\n"
    "                    else float64); sets the unit roundoff of the tolerance\n"
    "  --grid FILE.npy   replay the candidate's step grid in the reference (always on the fly)\n"
    "  --scheme S        the candidate's scheme, if not the problem's\n"
    "  --golden          use DIR/golden/ (the default when it exists)\n"
    "  --on-the-fly      compute the reference now, ignoring golden/\n"
    "  --prec BITS       reference precision on the fly (default 128)\n"
    "  --json            one JSON object on stdout instead of the table\n"
    "\n"
    "FILES\n"
    "  In --candidate DIR (float64 or float32 .npy, C order; docs/formats.md):\n"
    "    output.npy      N x d_out, B z_L                                 required\n"
    "    loss.npy        () or (1,), 1/(2N) sum_i |yhat_i - y_i|^2        required\n"
    "    grad_<P>.npy    dF/dP for every parameter array P (W; a, u, b)   required\n"
    "    states.npy      (L+1) x N x D, z_k                               optional\n"
    "    adjoint.npy     (L+1) x N x D, p_k = dF/dz_k                     optional\n"
    "    candidate.json  {\"precision\", \"grid\", \"scheme\"}                  optional\n"
    "\n"
    "EXIT STATUS\n"
    "  0 every provided array passed; 1 an array failed; 2 usage or input error.\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle check --problem problems/001-rff-gaussian-euler-discrete-L8 --candidate out/\n"
    "  nodeoracle check --problem P --candidate out/ --precision float32 --json\n"
    "  nodeoracle check --problem P --candidate out/ --grid out/my_solver_steps.npy\n";

typedef struct {
    const char *problem, *candidate, *grid;
    int has_precision, has_scheme, json, force_golden, force_fly;
    no_precision precision;
    no_scheme_id scheme;
    long prec;
} check_args;

static int parse(int argc, char **argv, check_args *a)
{
    memset(a, 0, sizeof *a);
    a->prec = 128;
    char err[256];
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(no_cmd_check_help, stdout);
            return 1;
        }
        if (!strcmp(f, "--json")) {
            a->json = 1;
            continue;
        }
        if (!strcmp(f, "--golden")) {
            a->force_golden = 1;
            continue;
        }
        if (!strcmp(f, "--on-the-fly")) {
            a->force_fly = 1;
            continue;
        }
        if (!v) {
            snprintf(err, sizeof err, "%s: %s", f,
                     strncmp(f, "--", 2) ? "unexpected argument" : "option needs a value");
            return no_cmd_usage_error(err);
        }
        i++;
        if (!strcmp(f, "--problem"))
            a->problem = v;
        else if (!strcmp(f, "--candidate"))
            a->candidate = v;
        else if (!strcmp(f, "--grid"))
            a->grid = v;
        else if (!strcmp(f, "--precision")) {
            if (no_precision_parse(v, &a->precision))
                return no_cmd_usage_error("--precision: expected float64, float32 or bfloat16");
            a->has_precision = 1;
        } else if (!strcmp(f, "--scheme")) {
            if (strcmp(v, "euler") && strcmp(v, "rk4"))
                return no_cmd_usage_error("--scheme: expected euler or rk4");
            a->scheme = strcmp(v, "rk4") ? NO_SCHEME_EULER : NO_SCHEME_RK4;
            a->has_scheme = 1;
        } else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &a->prec))
                return no_cmd_usage_error("--prec: expected bits in [53, 65536]");
        } else {
            snprintf(err, sizeof err, "unknown option '%s'", f);
            return no_cmd_usage_error(err);
        }
    }
    if (!a->problem || !a->candidate)
        return no_cmd_usage_error("check needs --problem DIR and --candidate DIR");
    if (a->force_golden && a->force_fly)
        return no_cmd_usage_error("give --golden or --on-the-fly, not both");
    return 0;
}

static double unit_roundoff(no_precision p)
{
    return p == NO_PRECISION_FLOAT32 ? 0x1.0p-24 : p == NO_PRECISION_BFLOAT16 ? 0x1.0p-8
                                                                               : 0x1.0p-53;
}

static int has_golden(const char *dir)
{
    char path[NO_PATH_MAX], err[64];
    struct stat st;
    return !no_path_join(path, sizeof path, dir, "golden/provenance.json", err, sizeof err) &&
           stat(path, &st) == 0;
}

/* The reference from golden/, after checking it belongs to these inputs. */
static int golden_reference(const char *dir, const no_problem *p, no_arrays *vals,
                            no_arrays *bits, long *prec, char *err, size_t len)
{
    no_golden_provenance pv;
    uint64_t hash;
    if (no_golden_provenance_read(dir, &pv, err, len))
        return -1;
    if (no_problem_hash(p, &hash) || hash != pv.inputs_hash)
        return no_errorf(err, len,
                         "%s/golden: made for other inputs (hash %016llx, the problem's is "
                         "%016llx); regenerate it or use --on-the-fly",
                         dir, (unsigned long long)pv.inputs_hash, (unsigned long long)hash);
    *prec = pv.prec;
    return no_golden_read(dir, &p->spec, vals, bits, err, len);
}

/* Views of the reference arrays the candidate provided (no copies: the
 * views share the reference's storage and are never freed). */
static void provided(const no_arrays *cand, const no_arrays *ref, const no_arrays *bits,
                     no_arrays *rv, no_arrays *bv)
{
    memset(rv, 0, sizeof *rv);
    memset(bv, 0, sizeof *bv);
    for (int i = 0; i < ref->count; i++)
        if (no_arrays_get(cand, ref->a[i].name)) {
            rv->a[rv->count++] = ref->a[i];
            bv->a[bv->count++] = bits->a[i];
        }
}

static void print_json_report(const no_cmp_report *rep, const no_diagnosis *d,
                              no_precision prec, const char *desc, const char *grid,
                              int from_golden)
{
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "verdict", json_string(rep->pass ? "pass" : "fail"));
    json_object_set_new(root, "problem", json_string(desc));
    json_object_set_new(root, "precision", json_string(no_precision_name(prec)));
    json_object_set_new(root, "reference_bits", json_integer(rep->prec));
    json_object_set_new(root, "reference", json_string(from_golden ? "golden" : "on-the-fly"));
    /* what was replayed: the candidate's step grid (null: the problem's
     * uniform grid) and the scheme used (the problem's unless overridden) */
    json_object_set_new(root, "grid", grid ? json_string(grid) : json_null());
    json_object_set_new(root, "scheme", json_string(no_scheme_name(rep->spec.scheme)));
    for (int i = 0; i < rep->nrows; i++) {
        const no_cmp_row *r = &rep->rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(r->name));
        json_object_set_new(o, "max_rel", json_real(isfinite(r->max_rel) ? r->max_rel : -1));
        json_object_set_new(o, "rms_rel", json_real(isfinite(r->rms_rel) ? r->rms_rel : -1));
        json_object_set_new(o, "max_ulps", json_real(isfinite(r->max_ulps) ? r->max_ulps : -1));
        json_object_set_new(o, "ref_bits", json_real(r->ref_bits));
        json_object_set_new(o, "tol", json_real(r->tol));
        json_object_set_new(o, "verdict", json_string(no_verdict_name(r->verdict)));
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "arrays", arr);
    if (d) {
        json_t *o = json_object();
        json_object_set_new(o, "cause", json_string(d->cause));
        json_object_set_new(o, "variant", json_string(d->variant));
        json_object_set_new(o, "match", json_real(isfinite(d->match) ? d->match : -1));
        json_object_set_new(o, "contract_match",
                            json_real(isfinite(d->contract_match) ? d->contract_match : -1));
        json_object_set_new(o, "detail", json_string(d->detail));
        json_t *hyps = json_array();
        for (int i = 0; i < d->nhyp; i++) {
            json_t *h = json_object();
            json_object_set_new(h, "cause", json_string(d->hyp[i].cause));
            json_object_set_new(h, "variant", json_string(d->hyp[i].variant));
            json_object_set_new(h, "match",
                                json_real(isfinite(d->hyp[i].match) ? d->hyp[i].match : -1));
            json_array_append_new(hyps, h);
        }
        json_object_set_new(o, "hypotheses", hyps);
        json_object_set_new(root, "diagnosis", o);
    } else {
        json_object_set_new(root, "diagnosis", json_null());
    }
    char *text = json_dumps(root, JSON_INDENT(1));
    if (text)
        puts(text);
    free(text);
    json_decref(root);
}

static void print_diagnosis(const no_diagnosis *d)
{
    printf("\ndiagnosis: %s", d->cause);
    if (d->variant[0])
        printf(" [%s]", d->variant);
    if (d->found && !strcmp(d->cause, "low_precision"))
        printf(" (the size of the candidate's error, not a match: below)");
    else if (d->found)
        printf(" (the candidate matches it to %.3e; the contract only to %.3e)", d->match,
               d->contract_match);
    else
        printf(" (best hypothesis matched to %.3e, the contract to %.3e)", d->match,
               d->contract_match);
    printf("\n");
    if (d->detail[0])
        printf("  %s\n", d->detail);
    printf("  hypotheses run:");
    for (int i = 0; i < d->nhyp; i++)
        printf(" %s%s%s%s=%.2e", d->hyp[i].cause, d->hyp[i].variant[0] ? "[" : "",
               d->hyp[i].variant, d->hyp[i].variant[0] ? "]" : "", d->hyp[i].match);
    printf("\n");
}

int no_cmd_check(int argc, char **argv)
{
    check_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? NO_EXIT_USAGE : rc == 1 ? NO_EXIT_PASS : rc;
    char err[512];
    no_problem p;
    if (no_problem_dir_read(a.problem, &p, err, sizeof err))
        return no_cmd_usage_error(err);
    no_arrays cand;
    no_candidate_info info;
    if (no_candidate_read(a.candidate, &p.spec, &cand, &info, err, sizeof err)) {
        no_problem_free(&p);
        return no_cmd_usage_error(err);
    }
    no_precision precision = a.has_precision ? a.precision : info.precision;
    if (a.has_scheme || info.has_scheme)
        p.spec.scheme = a.has_scheme ? a.scheme : info.scheme;
    char gridpath[NO_PATH_MAX] = "";
    if (a.grid)
        snprintf(gridpath, sizeof gridpath, "%s", a.grid);
    else if (info.has_grid) /* already joined with the candidate directory */
        snprintf(gridpath, sizeof gridpath, "%s", info.grid);
    double *times = NULL;
    size_t ntimes = 0;
    if (gridpath[0] && no_grid_read(gridpath, &p.spec, &times, &ntimes, err, sizeof err))
        goto usage;
    if (no_spec_validate(&p.spec, NO_REQ_NONE, err, sizeof err))
        goto usage;

    /* The reference: golden/ unless a grid, another scheme or --on-the-fly. */
    no_arrays ref, bits;
    long refprec = a.prec;
    int replay = times || a.has_scheme || info.has_scheme;
    int use_golden = !a.force_fly && !replay && (a.force_golden || has_golden(a.problem));
    if (a.force_golden && replay) {
        snprintf(err, sizeof err, "--golden: golden values are for the problem's own grid and "
                                  "scheme; a replay needs --on-the-fly");
        goto usage;
    }
    ref_setup setup = {NULL, times, ntimes, NULL};
    if (use_golden ? golden_reference(a.problem, &p, &ref, &bits, &refprec, err, sizeof err)
                   : ref_certify_setup(&p, a.prec, &setup, &ref, &bits, err, sizeof err))
        goto usage;

    no_tol_model tol;
    no_cmp_report rep;
    memset(&rep, 0, sizeof rep);
    rep.spec = p.spec;
    rep.prec = refprec;
    no_arrays rv, bv;
    provided(&cand, &ref, &bits, &rv, &bv);
    if (no_tol_model_init(&tol, &p, &ref, unit_roundoff(precision))) {
        snprintf(err, sizeof err, "out of memory building the tolerance model");
        no_arrays_free(&ref);
        no_arrays_free(&bits);
        goto usage;
    }
    /* float32, bfloat16: the measured envelope caps the a-priori model */
    if (no_diag_cap_tolerance(&tol, &p, &setup, &ref, err, sizeof err)) {
        no_arrays_free(&ref);
        no_arrays_free(&bits);
        goto usage;
    }
    no_compare_arrays(&cand, &rv, &bv, &tol, &rep);

    no_diagnosis diag, *dp = NULL;
    if (!rep.pass) {
        if (no_diagnose(&p, &setup, &cand, &ref, &tol, a.prec, &diag, err,
                        sizeof err) == 0)
            dp = &diag;
        else
            fprintf(stderr, "nodeoracle: diagnosis failed: %s\n", err);
    }
    char desc[256];
    no_spec_describe(&p.spec, desc, sizeof desc);
    if (a.json) {
        print_json_report(&rep, dp, precision, desc, times ? gridpath : NULL, use_golden);
    } else {
        printf("candidate %s, declared %s%s\n", a.candidate, no_precision_name(precision),
               times ? ", replaying its step grid" : "");
        no_report_print(stdout, &rep, 1, 1);
        if (dp)
            print_diagnosis(dp);
        printf("\nnodeoracle check: %s\n", rep.pass ? "pass" : "FAIL");
    }
    no_arrays_free(&ref);
    no_arrays_free(&bits);
    no_arrays_free(&cand);
    free(times);
    no_problem_free(&p);
    return rep.pass ? NO_EXIT_PASS : NO_EXIT_MISMATCH;

usage:
    free(times);
    no_arrays_free(&cand);
    no_problem_free(&p);
    return no_cmd_usage_error(err);
}
