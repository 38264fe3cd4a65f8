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
#include "progress.h"
#include "ref.h"
#include "report.h"
#include "resources.h"

const char no_cmd_check_help[] =
    "NAME\n"
    "  nodeoracle check - validate an outside implementation's outputs\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle check --problem DIR --candidate DIR [--precision float64|float32|bfloat16]\n"
    "                   [--grid FILE.npy] [--scheme S] [--golden | --on-the-fly]\n"
    "                   [--prec BITS] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Reads a problem directory and a candidate's outputs (docs/formats.md), takes the\n"
    "  reference from DIR/golden/ when present (or computes it, --on-the-fly), and compares\n"
    "  every array the candidate provided against a tolerance derived from the declared\n"
    "  precision and the problem (proofs-notes/tolerance.md). On failure it diagnoses:\n"
    "  the reference is run on each hypothesised bug (a missing 1/N, 1/2, 1/L, 1/M or\n"
    "  sqrt(2/q), a loss averaged over output components as torch.nn.MSELoss does, no\n"
    "  rff phase, transposed weights, a sign flip, an off-by-one depth, the continuous\n"
    "  instead of the discrete adjoint, a lower precision) and the best match is named\n"
    "  with how well it matches (docs/check.md). An array that cannot be judged is not\n"
    "  diagnosed.\n"
    "\n"
    "OPTIONS\n"
    "  --problem DIR     the problem (problem.json and arrays)\n"
    "  --candidate DIR   the candidate's outputs (output.npy, loss.npy, grad_*.npy, ...)\n"
    "  --precision P     the precision the candidate computed in (default: candidate.json's,\n"
    "                    else float64); sets the unit roundoff of the tolerance\n"
    "  --grid FILE.npy   replay the candidate's step grid in the reference (always on the fly)\n"
    "  --scheme S        the candidate's scheme, if not the problem's: euler, midpoint,\n"
    "                    heun, ralston, bosh3, rk4, rk4-38, dopri5, tsit5 (docs/schemes.md)\n"
    "  --golden          use DIR/golden/ (the default when it exists)\n"
    "  --on-the-fly      compute the reference now, ignoring golden/\n"
    "  --prec BITS       reference precision on the fly (default 128); 53..43691\n"
    "  --max-prec BITS   cap of the automatic raise: while the reference (golden or on\n"
    "                    the fly) is not certified to the bits a tolerance needs, it is\n"
    "                    recomputed at doubled precision (default 4096, or --prec)\n"
    "  --json            one JSON object on stdout instead of the table\n"
    "  --max-memory SIZE memory check may use (e.g. 4G; default: the cgroup limit, else\n"
    "                    MemAvailable); a problem (or grid) that needs more is refused\n"
    "  --quiet           no progress lines on stderr (a long reference or diagnosis\n"
    "                    shows them after 2 s; NODEORACLE_PROGRESS=0 also turns them off)\n"
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
    "  0 every provided array passed; 1 an array failed; 2 usage or input error;\n"
    "  3 nothing failed but some array could not be judged: 'unverifiable' (the\n"
    "  problem is too ill-conditioned for the declared precision: a tolerance above\n"
    "  2^-10, 2^-5 for bfloat16) or 'ref too weak' (the reference is not certified to\n"
    "  the bits the tolerance needs even at --max-prec).\n"
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
    long prec, max_prec;
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
        if (!strcmp(f, "--quiet")) { /* no progress lines on stderr */
            no_progress_enable(0);
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
            if (no_scheme_parse(v, &a->scheme)) {
                snprintf(err, sizeof err, "--scheme: expected one of %s", no_scheme_names());
                return no_cmd_usage_error(err);
            }
            a->has_scheme = 1;
        } else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &a->prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--max-prec")) {
            if (no_cmd_parse_prec(v, &a->max_prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--max-memory")) {
            if (no_res_max_memory_arg(v, err, sizeof err))
                return no_cmd_usage_error(err);
        } else {
            snprintf(err, sizeof err, "unknown option '%s'", f);
            return no_cmd_usage_error(err);
        }
    }
    if (!a->problem || !a->candidate)
        return no_cmd_usage_error("check needs --problem DIR and --candidate DIR");
    if (a->force_golden && a->force_fly)
        return no_cmd_usage_error("give --golden or --on-the-fly, not both");
    if (a->max_prec && a->max_prec < a->prec)
        return no_cmd_usage_error("--max-prec must be at least --prec");
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
    /* the files as gen wrote them: a changed one is an input error, not a
     * failing candidate */
    if (no_golden_verify(dir, &p->spec, &pv, err, len))
        return -1;
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

/* The memory of an on-the-fly check at prec bits, for no_compare_raise. */
struct check_size {
    const no_spec *spec;
    size_t nsteps;
};

static double check_bytes(const void *ctx, long prec)
{
    const struct check_size *c = ctx;
    return no_res_check_bytes(c->spec, prec, c->nsteps, 0);
}

static json_t *json_num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static const char *outcome_name(no_outcome o)
{
    return o == NO_OUTCOME_PASS ? "pass" : o == NO_OUTCOME_FAIL ? "fail" : "unverifiable";
}

static int outcome_exit(no_outcome o)
{
    return o == NO_OUTCOME_PASS ? NO_EXIT_PASS : o == NO_OUTCOME_FAIL ? NO_EXIT_MISMATCH
                                                                      : NO_EXIT_UNJUDGED;
}

static void print_json_report(const no_cmp_report *rep, const no_diagnosis *d,
                              no_precision prec, const char *desc, const char *grid,
                              int from_golden)
{
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "verdict", json_string(outcome_name(rep->outcome)));
    json_object_set_new(root, "exit_status", json_integer(outcome_exit(rep->outcome)));
    json_object_set_new(root, "problem", json_string(desc));
    json_object_set_new(root, "precision", json_string(no_precision_name(prec)));
    json_object_set_new(root, "reference_bits", json_integer(rep->prec));
    /* the precision first tried (golden's or --prec): smaller than
     * reference_bits when the reference was raised to certify enough bits */
    json_object_set_new(root, "reference_bits_asked", json_integer(rep->prec_asked));
    json_object_set_new(root, "raise_note",
                        rep->raise_note[0] ? json_string(rep->raise_note) : json_null());
    json_object_set_new(root, "meaningful_tol_max",
                        json_real(no_tol_meaningful_max(rep->tol.u)));
    json_object_set_new(root, "reference", json_string(from_golden ? "golden" : "on-the-fly"));
    /* what was replayed: the candidate's step grid (null: the problem's
     * uniform grid) and the scheme used (the problem's unless overridden) */
    json_object_set_new(root, "grid", grid ? json_string(grid) : json_null());
    json_object_set_new(root, "scheme", json_string(no_scheme_name(rep->spec.scheme)));
    for (int i = 0; i < rep->nrows; i++) {
        const no_cmp_row *r = &rep->rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(r->name));
        /* JSON has no inf or NaN (json_real would return NULL and the
         * member would silently vanish): a non-finite number is null. */
        json_object_set_new(o, "max_rel", json_num(r->max_rel));
        json_object_set_new(o, "rms_rel", json_num(r->rms_rel));
        json_object_set_new(o, "max_ulps", json_num(r->max_ulps));
        json_object_set_new(o, "ref_bits", json_num(r->ref_bits));
        json_object_set_new(o, "tol", json_num(r->tol));
        json_object_set_new(o, "need_bits", json_num(r->need_bits));
        if (r->bad.index >= 0) {
            char where[128];
            no_compare_index_str(r, r->bad.index, where, sizeof where);
            json_t *b = json_object();
            json_object_set_new(b, "in", json_string(r->bad.in_ref ? "reference" : "candidate"));
            json_object_set_new(b, "index", json_integer(r->bad.index));
            json_object_set_new(b, "where", json_string(where));
            json_object_set_new(b, "value", json_string(isnan(r->bad.value) ? "nan"
                                                        : r->bad.value > 0 ? "inf"
                                                                           : "-inf"));
            json_object_set_new(o, "first_nonfinite", b);
        } else {
            json_object_set_new(o, "first_nonfinite", json_null());
        }
        json_object_set_new(o, "verdict", json_string(no_verdict_name(r->verdict)));
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "arrays", arr);
    if (d) {
        json_t *o = json_object();
        json_object_set_new(o, "cause", json_string(d->cause));
        json_object_set_new(o, "variant", json_string(d->variant));
        json_object_set_new(o, "match", json_num(d->match));
        json_object_set_new(o, "contract_match", json_num(d->contract_match));
        json_object_set_new(o, "detail", json_string(d->detail));
        json_t *hyps = json_array();
        for (int i = 0; i < d->nhyp; i++) {
            json_t *h = json_object();
            json_object_set_new(h, "cause", json_string(d->hyp[i].cause));
            json_object_set_new(h, "variant", json_string(d->hyp[i].variant));
            json_object_set_new(h, "match", json_num(d->hyp[i].match));
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
    else {
        char m1[32], m2[32];
        printf(" (best hypothesis matched to %s, the contract to %s)",
               no_diag_match_text(d->match, m1, sizeof m1),
               no_diag_match_text(d->contract_match, m2, sizeof m2));
    }
    printf("\n");
    if (d->detail[0])
        printf("  %s\n", d->detail);
    printf("  hypotheses run:");
    for (int i = 0; i < d->nhyp; i++) {
        char m[32];
        printf(" %s%s%s%s=%s", d->hyp[i].cause, d->hyp[i].variant[0] ? "[" : "",
               d->hyp[i].variant, d->hyp[i].variant[0] ? "]" : "",
               no_diag_match_text(d->hyp[i].match, m, sizeof m));
    }
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
    /* Will it fit?  Refused before the reference is computed (a long grid
     * multiplies the stored states). */
    if (no_res_require(no_res_check_bytes(&p.spec, a.prec, ntimes ? ntimes - 1 : 0, use_golden),
                       "this problem", times ? "reduce N, the grid's steps or --prec"
                                             : "reduce N or --prec",
                       err, sizeof err)) {
        fprintf(stderr, "nodeoracle: %s\n", err);
        free(times);
        no_arrays_free(&cand);
        no_problem_free(&p);
        return NO_EXIT_USAGE;
    }
    no_progress_begin("check");
    ref_setup setup = {.grid = times, .grid_count = ntimes, .progress = no_progress_ref()};
    if (use_golden ? golden_reference(a.problem, &p, &ref, &bits, &refprec, err, sizeof err)
                   : ref_certify_setup(&p, a.prec, &setup, &ref, &bits, err, sizeof err))
        goto usage;

    /* Judge; while some array could only be judged by a more accurate
     * reference (REF_WEAK), certify it again on the fly at doubled precision,
     * up to the cap (compare.h, Arb-style). */
    long asked = refprec, cap = no_compare_cap(refprec, a.max_prec);
    no_tol_model tol;
    no_cmp_report rep;
    for (;;) {
        memset(&rep, 0, sizeof rep);
        rep.spec = p.spec;
        rep.prec = refprec;
        rep.prec_asked = asked;
        rep.prec_cap = cap;
        no_arrays rv, bv;
        provided(&cand, &ref, &bits, &rv, &bv);
        int bad = no_tol_model_init(&tol, &p, &ref, unit_roundoff(precision));
        if (bad)
            snprintf(err, sizeof err, "out of memory building the tolerance model");
        /* float32, bfloat16: the measured envelope caps the a-priori model */
        if (bad || no_diag_cap_tolerance(&tol, &p, &setup, &ref, err, sizeof err)) {
            no_arrays_free(&ref);
            no_arrays_free(&bits);
            goto usage;
        }
        no_compare_arrays(&cand, &rv, &bv, &tol, &rep);
        struct check_size size = {&p.spec, ntimes ? ntimes - 1 : 0};
        long next = no_compare_raise(&rep, check_bytes, &size);
        if (!next)
            break;
        no_arrays_free(&ref);
        no_arrays_free(&bits);
        if (ref_certify_setup(&p, next, &setup, &ref, &bits, err, sizeof err))
            goto usage;
        refprec = next;
        use_golden = 0;
    }

    no_diagnosis diag, *dp = NULL;
    /* Only a failure is diagnosed: an unjudged array has no error to explain. */
    if (rep.outcome == NO_OUTCOME_FAIL) {
        no_progress_begin("diagnosis");
        if (no_diagnose(&p, &setup, &cand, &ref, &tol, refprec, &diag, err,
                        sizeof err) == 0)
            dp = &diag;
        else
            fprintf(stderr, "nodeoracle: diagnosis failed: %s\n", err);
    }
    no_progress_end();
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
        printf("\nnodeoracle check: %s\n", rep.outcome == NO_OUTCOME_PASS   ? "pass"
                                           : rep.outcome == NO_OUTCOME_FAIL ? "FAIL"
                                                                             : "UNVERIFIABLE "
                                                                               "(cannot be "
                                                                               "judged; exit 3)");
    }
    no_arrays_free(&ref);
    no_arrays_free(&bits);
    no_arrays_free(&cand);
    free(times);
    no_problem_free(&p);
    return outcome_exit(rep.outcome);

usage:
    no_progress_end();
    free(times);
    no_arrays_free(&cand);
    no_problem_free(&p);
    return no_cmd_usage_error(err);
}
