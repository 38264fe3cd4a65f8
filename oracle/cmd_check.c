/* cmd_check.c - `nodeoracle check`: an outside implementation against the
 * reference, with diagnosis (docs/check.md). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
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
#include "bytes.h"
#include "problem_dir.h"
#include "progress.h"
#include "ref.h"
#include "report.h"
#include "resources.h"
#include "suite.h"
#include "train_candidate.h"
#include "train_compare.h"

const char no_cmd_check_help[] =
    "NAME\n"
    "  nodeoracle check - validate an outside implementation's outputs\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle check --problem DIR --candidate DIR [--precision float64|float32|bfloat16]\n"
    "                   [--grid FILE.npy] [--scheme S] [--golden | --on-the-fly]\n"
    "                   [--prec BITS] [--json]\n"
    "  nodeoracle check --problems DIR --candidates DIR [same options but --grid]\n"
    "  nodeoracle check --train --problem DIR --candidate DIR [--eta E] [--steps N]\n"
    "                   [--prec BITS] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  Reads a problem directory and a candidate's outputs (docs/formats.md), takes the\n"
    "  reference from DIR/golden/ when present (or computes it, --on-the-fly), and compares\n"
    "  every array the candidate provided against a tolerance derived from the declared\n"
    "  precision and the problem (proofs-notes/tolerance.md). On failure it diagnoses:\n"
    "  the reference is run on hypothesised bugs, simplest first: a missing 1/N, 1/2,\n"
    "  1/L, 1/M or sqrt(2/q), torch.nn.MSELoss's mean, no rff phase, transposed\n"
    "  weights, a sign flip, an off-by-one depth, h instead of h/m, the other\n"
    "  scaling's step, another adjoint kind (discrete, continuous, backsolve: with\n"
    "  its gap and fitted order); a factor on the loss; transposed gradient blocks or\n"
    "  swapped arrays; a sign, a factor or another layer's parameters in one layer\n"
    "  (named with the layer); pairs of these; a lower precision.  A cause is named\n"
    "  only if its hypothesis explains the candidate within the tolerance; else the\n"
    "  measured facts are reported (the first diverging layer of states and adjoint,\n"
    "  a constant ratio, the nearest hypothesis) and the cause is `unknown`\n"
    "  (docs/check.md, proofs-notes/diagnosis.md). An array that cannot be judged is\n"
    "  not diagnosed.\n"
    "\n"
    "  With --problems and --candidates, every problem directory DIR/NAME/ (those\n"
    "  holding problem.json, e.g. what gen --suite writes) is checked against the\n"
    "  candidate directory CAND/NAME/ of the same name: one line per problem (or, with\n"
    "  --json, one summary object holding each problem's report), then the counts per\n"
    "  verdict. A missing candidate directory or a bad file is reported on its line\n"
    "  and the others are still checked.\n"
    "\n"
    "  With --train (or a candidate.json holding \"training\"), the candidate is a\n"
    "  gradient-descent run instead: trajectory.npy (the layout train --out writes) and\n"
    "  optionally params.npy. The certified reference GD run is computed for the\n"
    "  problem and every iteration is judged against an error bound propagated along\n"
    "  the run (proofs-notes/training.md); float64 candidates only (docs/check.md,\n"
    "  \"Training trajectories\").\n"
    "\n"
    "OPTIONS\n"
    "  --problem DIR     the problem (problem.json and arrays)\n"
    "  --candidate DIR   the candidate's outputs (output.npy, loss.npy, grad_*.npy, ...)\n"
    "  --problems DIR    a directory of problems, DIR/NAME/problem.json (gen --suite's)\n"
    "  --candidates DIR  a directory of candidates laid out the same way, DIR/NAME/\n"
    "  --precision P     the precision the candidate computed in (default: candidate.json's,\n"
    "                    else float32 if some array is stored as float32 ('<f4' or '>f4'),\n"
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
    "  --train           judge a training trajectory (trajectory.npy, params.npy)\n"
    "  --eta E           --train: the candidate's GD step (else candidate.json's\n"
    "                    training.eta); implies --train\n"
    "  --steps N         --train: the iterations the trajectory must hold (rows - 1);\n"
    "                    implies --train\n"
    "  --json            one JSON object on stdout instead of the table (docs/check.md,\n"
    "                    \"JSON report\"; schema docs/report.schema.json); on an input or\n"
    "                    usage error, an object {\"error\": {\"message\", \"exit_status\"}}\n"
    "  --max-memory SIZE memory check may use (e.g. 4G; default: the cgroup limit, else\n"
    "                    MemAvailable); a problem (or grid) that needs more is refused\n"
    "  --quiet           no progress lines on stderr (a long reference or diagnosis\n"
    "                    shows them after 2 s; NODEORACLE_PROGRESS=0 also turns them off)\n"
    "\n"
    "FILES\n"
    "  In --candidate DIR (float64 or float32 .npy, either byte order, C or Fortran\n"
    "  order; docs/formats.md):\n"
    "    output.npy      N x d_out, B z_L                                 required\n"
    "    loss.npy        () or (1,), 1/(2N) sum_i |yhat_i - y_i|^2        required\n"
    "    grad_<P>.npy    dF/dP for every parameter array P (W; a, u, b)   required\n"
    "    states.npy      (L+1) x N x D, z_k                               optional\n"
    "    adjoint.npy     (L+1) x N x D, p_k = dF/dz_k                     optional\n"
    "    candidate.json  {\"precision\", \"grid\", \"scheme\"}                  optional\n"
    "  With --train instead:\n"
    "    trajectory.npy  (steps+1) x 7: n, t, F, grad_norm2, theta_norm,\n"
    "                    theta_dist, F_bits (an all-NaN column 3-5: not provided) required\n"
    "    params.npy      (steps+1) x K, theta^n                           optional\n"
    "    candidate.json  {\"precision\": \"float64\", \"training\": {\"eta\", \"steps\"}}\n"
    "\n"
    "EXIT STATUS\n"
    "  0 every provided array passed; 1 an array failed; 2 usage or input error;\n"
    "  3 nothing failed but some array could not be judged: 'unverifiable' (the\n"
    "  problem is too ill-conditioned for the declared precision: a tolerance above\n"
    "  2^-10, 2^-5 for bfloat16) or 'ref too weak' (the reference is not certified to\n"
    "  the bits the tolerance needs even at --max-prec).\n"
    "  Over directories, the worst over the problems, in the order 2 (some problem\n"
    "  could not be checked: a missing candidate, a bad file) > 1 > 3 > 0.\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle check --problem problems/001-rff-gaussian-q24-euler-discrete-L8-m2-dout3 --candidate out/\n"
    "  nodeoracle check --problem P --candidate out/ --precision float32 --json\n"
    "  nodeoracle check --problem P --candidate out/ --grid out/my_solver_steps.npy\n"
    "  nodeoracle gen --suite smoke --out problems\n"
    "  nodeoracle check --problems problems --candidates outs --json   # outs/000-.../\n";

typedef struct {
    const char *problem, *candidate, *grid;
    const char *problems, *candidates; /* directory mode */
    int has_precision, has_scheme, json, force_golden, force_fly;
    no_precision precision;
    no_scheme_id scheme;
    long prec, max_prec;
    int train;   /* --train, --eta or --steps */
    double eta;  /* --eta, or 0 */
    long steps;  /* --steps, or 0 */
} check_args;

static int parse(int argc, char **argv, check_args *a)
{
    memset(a, 0, sizeof *a);
    a->prec = 128;
    char err[256];
    /* --json anywhere among the options: an error found before it is reached
     * (a bad flag earlier on the line) is an error object on stdout too. */
    static const char *const switches[] = {"--golden", "--on-the-fly", "--train", NULL};
    no_cmd_json_prescan(argc, argv, "check", switches);
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
        if (!strcmp(f, "--train")) {
            a->train = 1;
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
        else if (!strcmp(f, "--problems"))
            a->problems = v;
        else if (!strcmp(f, "--candidates"))
            a->candidates = v;
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
        } else if (!strcmp(f, "--eta")) {
            if (no_cmd_parse_eta(v, &a->eta))
                return NO_EXIT_USAGE;
            a->train = 1;
        } else if (!strcmp(f, "--steps")) {
            char *end;
            errno = 0;
            a->steps = strtol(v, &end, 10);
            if (!*v || *end || errno || a->steps < 1 || a->steps > (1L << 24)) {
                snprintf(err, sizeof err, "--steps: expected an integer in [1, 2^24], got '%.40s'",
                         v);
                return no_cmd_usage_error(err);
            }
            a->train = 1;
        } else if (!strcmp(f, "--max-prec")) {
            if (no_cmd_parse_prec(v, &a->max_prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--max-memory")) {
            if (no_res_max_memory_arg(v, err, sizeof err))
                return no_cmd_usage_error(err);
        } else {
            snprintf(err, sizeof err, "unknown option '%.64s'", f);
            return no_cmd_usage_error(err);
        }
    }
    int dir = a->problems || a->candidates, one = a->problem || a->candidate;
    if (dir && one)
        return no_cmd_usage_error("give --problem and --candidate (one problem) or --problems "
                                  "and --candidates (directories of problems), not both");
    if (dir && !(a->problems && a->candidates))
        return no_cmd_usage_error("check over directories needs --problems DIR and "
                                  "--candidates DIR");
    if (!dir && !(a->problem && a->candidate))
        return no_cmd_usage_error("check needs --problem DIR and --candidate DIR (or "
                                  "--problems DIR and --candidates DIR)");
    if (dir && a->grid)
        return no_cmd_usage_error("--grid is for one candidate; with --candidates, name each "
                                  "candidate's grid in its candidate.json");
    if (a->force_golden && a->force_fly)
        return no_cmd_usage_error("give --golden or --on-the-fly, not both");
    if (a->max_prec && a->max_prec < a->prec)
        return no_cmd_usage_error("--max-prec must be at least --prec");
    if (a->train && dir)
        return no_cmd_usage_error("--train checks one candidate: give --problem DIR and "
                                  "--candidate DIR");
    if (a->train && (a->grid || a->has_scheme || a->force_golden))
        return no_cmd_usage_error("--train: the reference GD run is computed on the fly with "
                                  "the problem's grid and scheme (no --grid, --scheme, --golden)");
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

/* ---- one problem -------------------------------------------------------- */

/* What checking one problem gave. */
typedef struct {
    int status;      /* exit status: 0, 1, 3; 2: err holds the message */
    int usage;       /* status 2: an input error (the usage hint goes with it) */
    char err[1024];
    json_t *json;    /* the check report (JSON mode), or NULL */
    char verdict[16];            /* the report's verdict token, or "error" */
    char note[256];              /* directory mode's text: worst array, diagnosis */
} check_result;

static json_t *json_layer(long x)
{
    return x >= 0 ? json_integer(x) : json_null();
}

static json_t *json_text_or_null(const char *s)
{
    return s && s[0] ? no_report_str(s) : json_null();
}

static json_t *diagnosis_json(const no_diagnosis *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "found", json_boolean(d->found));
    json_object_set_new(o, "cause", no_report_str(d->cause));
    json_object_set_new(o, "variant", json_text_or_null(d->variant));
    json_object_set_new(o, "match", no_report_num(d->match));
    json_object_set_new(o, "contract_match", no_report_num(d->contract_match));
    json_object_set_new(o, "tol", no_report_num(d->tol));
    json_object_set_new(o, "detail", no_report_str(d->detail));
    /* the measured numbers: NaN (doubles) or -1 (layers) = does not apply */
    json_object_set_new(o, "gap", no_report_num(d->gap));
    json_object_set_new(o, "order", no_report_num(d->order));
    json_object_set_new(o, "factor", no_report_num(d->factor));
    json_object_set_new(o, "layer", json_layer(d->layer));
    json_object_set_new(o, "states_layer", json_layer(d->states_layer));
    json_object_set_new(o, "adjoint_layer", json_layer(d->adjoint_layer));
    json_object_set_new(o, "ratio", no_report_num(d->ratio));
    json_object_set_new(o, "nearest", json_text_or_null(d->nearest));
    json_object_set_new(o, "nearest_match", no_report_num(d->nearest_match));
    json_t *hyps = json_array();
    for (int i = 0; i < d->nhyp && i < NO_DIAG_MAX; i++) {
        json_t *h = json_object();
        json_object_set_new(h, "cause", no_report_str(d->hyp[i].cause));
        json_object_set_new(h, "variant", json_text_or_null(d->hyp[i].variant));
        json_object_set_new(h, "match", no_report_num(d->hyp[i].match));
        json_array_append_new(hyps, h);
    }
    json_object_set_new(o, "hypotheses", hyps);
    return o;
}

static json_t *check_json(const no_cmp_report *rep, const no_diagnosis *d, const char *problem,
                          const char *candidate, no_precision prec, no_precision_source src,
                          const char *grid, int from_golden)
{
    json_t *root = no_report_json_new("check", "check");
    json_object_set_new(root, "problem", no_report_str(problem));
    json_object_set_new(root, "candidate", no_report_str(candidate));
    no_report_json_comparison(root, rep);
    json_object_set_new(root, "precision", json_string(no_precision_name(prec)));
    json_object_set_new(root, "precision_source", json_string(no_precision_source_name(src)));
    json_object_set_new(root, "reference", json_string(from_golden ? "golden" : "on-the-fly"));
    /* what was replayed: the candidate's step grid (null: the problem's
     * uniform grid); "scheme" (above) is the scheme the reference used */
    json_object_set_new(root, "grid", grid ? no_report_str(grid) : json_null());
    json_object_set_new(root, "diagnosis", d ? diagnosis_json(d) : json_null());
    return root;
}

/* The measured numbers of a diagnosis, those that apply, in words. */
static void print_measured(const no_diagnosis *d, size_t L)
{
    char line[512] = "";
    size_t k = 0;
#define ADD(...)                                                                         \
    do {                                                                                 \
        if (k < sizeof line)                                                             \
            k += (size_t)snprintf(line + k, sizeof line - k, "%s", k ? ", " : "");       \
        if (k < sizeof line)                                                             \
            k += (size_t)snprintf(line + k, sizeof line - k, __VA_ARGS__);               \
    } while (0)
    if (d->layer >= 0)
        ADD("layer %ld", d->layer);
    if (isfinite(d->factor))
        ADD("factor %.4g", d->factor);
    if (isfinite(d->ratio))
        ADD("ratio candidate/reference %.4g", d->ratio);
    if (isfinite(d->gap))
        ADD("adjoint gap %.3e of the gradient's norm", d->gap);
    if (isfinite(d->order))
        ADD("fitted order %.2f", d->order);
    /* (not twice when the detail line says it already) */
    if (d->states_layer >= 0 && !strstr(d->detail, "states diverge"))
        ADD("states diverge from layer %ld (of %zu)", d->states_layer, L);
    if (d->adjoint_layer >= 0 && !strstr(d->detail, "adjoint diverges"))
        ADD("adjoint diverges from layer %ld (of %zu)", d->adjoint_layer, L);
#undef ADD
    if (k)
        printf("  measured: %s\n", line);
    if (!d->found && d->nearest[0]) { /* named: the cause line says it */
        char m[32];
        printf("  nearest hypothesis: %s at %s\n", d->nearest,
               no_diag_match_text(d->nearest_match, m, sizeof m));
    }
}

static void print_diagnosis(const no_diagnosis *d, size_t L)
{
    printf("\ndiagnosis: %s", d->cause);
    if (d->variant[0])
        printf(" [%s]", d->variant);
    if (d->found && !strcmp(d->cause, "low_precision"))
        printf(" (the size of the candidate's error, not a match: below)");
    else if (d->found && !strcmp(d->cause, "backward_error"))
        printf(" (a location, not a computation: below)");
    else if (d->found)
        printf(" (the candidate matches it to %.3e; the contract only to %.3e)", d->match,
               d->contract_match);
    else {
        char m2[32];
        printf(" (no hypothesis explains the candidate within its tolerance; the contract "
               "matches to %s)",
               no_diag_match_text(d->contract_match, m2, sizeof m2));
    }
    printf("\n");
    if (d->detail[0])
        printf("  %s\n", d->detail);
    print_measured(d, L);
    printf("  hypotheses run:");
    for (int i = 0; i < d->nhyp && i < NO_DIAG_MAX; i++) {
        char m[32];
        printf(" %s%s%s%s=%s", d->hyp[i].cause, d->hyp[i].variant[0] ? "[" : "",
               d->hyp[i].variant, d->hyp[i].variant[0] ? "]" : "",
               no_diag_match_text(d->hyp[i].match, m, sizeof m));
    }
    printf("\n");
}

/* "float32 (from the files: ...)": where the precision came from, for the
 * text report. */
static void precision_text(char *buf, size_t n, no_precision prec, no_precision_source src,
                           const no_candidate_info *info)
{
    const char *name = no_precision_name(prec);
    switch (src) {
    case NO_PRECISION_FROM_OPTION:
        snprintf(buf, n, "declared %s (--precision)", name);
        break;
    case NO_PRECISION_FROM_JSON:
        snprintf(buf, n, "declared %s (candidate.json)", name);
        break;
    case NO_PRECISION_FROM_FILES:
        snprintf(buf, n, "%s, from the files (%d of %d arrays stored as float32; no precision "
                 "declared)", name, info->files_f32, info->files_f32 + info->files_f64);
        break;
    default:
        snprintf(buf, n, "declared %s (the default)", name);
        break;
    }
}

/* ---- a training trajectory (--train) -------------------------------------- */

static void train_progress(void *ctx, size_t done, size_t total)
{
    no_progress_tick(ctx, "iteration", done ? done - 1 : 0, total,
                     (double)done / (double)total);
}

static json_t *json_series(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, no_report_num(v[i]));
    return a;
}

static json_t *train_json(const no_problem *p, const char *problem, const char *candidate,
                          const no_train_candidate *tc, const char *psrc, long prec,
                          const no_train_cmp *c)
{
    size_t n1 = c->steps + 1;
    char desc[256];
    no_spec_describe(&p->spec, desc, sizeof desc);
    json_t *root = no_report_json_new("check_train", "check");
    json_object_set_new(root, "problem", no_report_str(problem));
    json_object_set_new(root, "candidate", no_report_str(candidate));
    json_object_set_new(root, "description", json_string(desc));
    json_object_set_new(root, "method", json_string("gradient_descent"));
    json_object_set_new(root, "steps", json_integer((json_int_t)tc->steps));
    json_object_set_new(root, "eta", no_report_num(tc->eta));
    json_object_set_new(root, "precision", json_string("float64"));
    json_object_set_new(root, "precision_source", json_string(psrc));
    json_object_set_new(root, "reference_bits", json_integer(prec));
    json_object_set_new(root, "reference_check_bits",
                        json_integer(prec + (prec / 2 > 32 ? prec / 2 : 32)));
    const char *verdict = c->verdict == NO_TRAIN_PASS   ? "pass"
                          : c->verdict == NO_TRAIN_FAIL ? "fail"
                                                        : "unverifiable";
    json_object_set_new(root, "verdict", json_string(verdict));
    json_object_set_new(root, "exit_status", json_integer(c->verdict));
    json_t *qs = json_array();
    for (int q = 0; q < NO_TRAIN_NQ; q++)
        if (c->provided & (1u << q))
            json_array_append_new(qs, json_string(no_train_q_names[q]));
    json_object_set_new(root, "quantities", qs);
    json_object_set_new(root, "judged", json_integer((json_int_t)c->njudged));
    json_object_set_new(root, "first_unjudged", c->first_unjudged < n1
                                                    ? json_integer((json_int_t)c->first_unjudged)
                                                    : json_null());
    if (c->first_fail < n1) {
        json_t *f = json_object();
        size_t n = c->first_fail;
        int q = c->first_fail_q;
        json_object_set_new(f, "iteration", json_integer((json_int_t)n));
        json_object_set_new(f, "quantity", json_string(no_train_q_names[q]));
        json_object_set_new(f, "error", no_report_num(c->err[q][n]));
        json_object_set_new(f, "tol", no_report_num(c->tol[q][n]));
        json_object_set_new(root, "first_fail", f);
    } else {
        json_object_set_new(root, "first_fail", json_null());
    }
    json_t *w = json_object();
    json_object_set_new(w, "ratio", no_report_num(c->worst));
    json_object_set_new(w, "iteration", json_integer((json_int_t)c->worst_n));
    json_object_set_new(w, "quantity", json_string(no_train_q_names[c->worst_q]));
    json_object_set_new(root, "worst", w);
    json_t *it = json_object();
    json_object_set_new(it, "E_bound", json_series(c->E, n1));
    json_t *jd = json_array();
    for (size_t n = 0; n < n1; n++)
        json_array_append_new(jd, json_boolean(c->judged[n]));
    json_object_set_new(it, "judged", jd);
    json_object_set_new(it, "F_reference", json_series(c->ref.F, n1));
    json_object_set_new(it, "F_bits", json_series(c->ref.F_bits, n1));
    for (int q = 0; q < NO_TRAIN_NQ; q++) {
        if (!(c->provided & (1u << q)))
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "error", json_series(c->err[q], n1));
        json_object_set_new(o, "tol", json_series(c->tol[q], n1));
        json_object_set_new(it, no_train_q_names[q], o);
    }
    json_object_set_new(root, "iterations", it);
    return root;
}

static void train_text(const no_problem *p, const char *candidate, const no_train_candidate *tc,
                       const char *psrc, long prec, const no_train_cmp *c)
{
    size_t n1 = c->steps + 1;
    char desc[256];
    no_spec_describe(&p->spec, desc, sizeof desc);
    printf("candidate %s: training trajectory, gradient descent, eta=%g, %zu steps, float64 "
           "(%s)\n", candidate, tc->eta, tc->steps, psrc);
    printf("%s\n", desc);
    printf("judged:");
    for (int q = 0; q < NO_TRAIN_NQ; q++)
        if (c->provided & (1u << q))
            printf(" %s", no_train_q_names[q]);
    printf("; not provided:");
    int none = 1;
    for (int q = 0; q < NO_TRAIN_NQ; q++)
        if (!(c->provided & (1u << q))) {
            printf(" %s", no_train_q_names[q]);
            none = 0;
        }
    printf("%s\n", none ? " -" : "");
    printf("reference: GD at %ld bits, certified by a second run at %ld bits; error bound E_n "
           "propagated along the run (proofs-notes/training.md)\n",
           prec, prec + (prec / 2 > 32 ? prec / 2 : 32));
    printf("%8s %16s %16s %10s %10s %10s %s\n", "n", "F candidate", "F reference", "err/tol F",
           "worst e/t", "E bound", "judged");
    size_t every = (n1 + 9) / 10;
    for (size_t n = 0; n < n1; n++) {
        if (n % every && n + 1 < n1 && n != c->first_fail && n != c->first_unjudged)
            continue;
        double wr = 0;
        for (int q = 0; q < NO_TRAIN_NQ; q++)
            if ((c->provided & (1u << q)) && c->err[q][n] != 0)
                wr = fmax(wr, c->err[q][n] / c->tol[q][n]);
        double rf = c->err[NO_TRAIN_Q_F][n] == 0 ? 0
                                                 : c->err[NO_TRAIN_Q_F][n] / c->tol[NO_TRAIN_Q_F][n];
        printf("%8zu %16.9e %16.9e %10.3g %10.3g %10.3e %s%s\n", n, tc->F[n], c->ref.F[n], rf,
               wr, c->E[n], c->judged[n] ? "yes" : "no",
               n == c->first_fail ? "  <- first failure" : "");
    }
    printf("\nnodeoracle check: ");
    if (c->verdict == NO_TRAIN_FAIL) {
        int q = c->first_fail_q;
        size_t n = c->first_fail;
        printf("FAIL at iteration n=%zu: %s error %.3e, tolerance %.3e", n, no_train_q_names[q],
               c->err[q][n], c->tol[q][n]);
    } else if (c->verdict == NO_TRAIN_PASS) {
        printf("pass: %zu of %zu iterations judged, worst error/tolerance %.3g (%s at n=%zu)",
               c->njudged, n1, c->worst, no_train_q_names[c->worst_q], c->worst_n);
    } else {
        printf("UNVERIFIABLE from iteration n=%zu (the propagated error bound is no longer "
               "meaningful there; iterations 0..%zu passed; exit 3)",
               c->first_unjudged, c->first_unjudged ? c->first_unjudged - 1 : 0);
    }
    printf("\n");
}

/* check --train: the candidate's GD trajectory against the certified
 * reference run, iteration by iteration (docs/check.md, "Training
 * trajectories").  p is taken over (freed here). */
static void check_train_one(const check_args *a, no_problem *p, const char *problem,
                            const char *candidate, int text, const char *label, check_result *res)
{
    char *err = res->err;
    const size_t errlen = sizeof res->err;
    no_train_candidate tc;
    no_train_cmp c;
    memset(&tc, 0, sizeof tc);
    memset(&c, 0, sizeof c);
    res->usage = 0;
    if (no_train_candidate_read(candidate, &p->spec, a->eta, a->steps, &tc, err, errlen))
        goto error;
    no_precision prec = a->has_precision ? a->precision : tc.precision;
    const char *psrc = a->has_precision ? "option" : tc.has_precision ? "candidate.json"
                                                                      : "default";
    if (prec != NO_PRECISION_FLOAT64) {
        snprintf(err, errlen, "%s: declared %s (%s); a training trajectory is judged for float64 "
                 "candidates only (the bound of proofs-notes/training.md is derived for "
                 "u = 2^-53)", candidate, no_precision_name(prec),
                 a->has_precision ? "--precision" : "candidate.json");
        goto error;
    }
    if (no_spec_validate(&p->spec, NO_REQ_NONE, err, errlen))
        goto error;
    /* will it fit: the parameter records of both runs, the two reference
     * precisions (as train --impl both) */
    size_t K = tc.K, n1 = tc.steps + 1;
    if ((double)n1 * (double)K > (double)NO_MAX_ELEMENTS) {
        snprintf(err, errlen, "%s: %zu iterations x %zu parameters exceed 2^28 numbers", candidate,
                 n1, K);
        goto error;
    }
    double need = (double)n1 * (double)(K + 16) * 8 * 2 + no_res_compare_bytes(&p->spec, a->prec) +
                  (double)K * 12 * ref_number_bytes(a->prec + a->prec / 2 + 32);
    if (no_res_require(need, "this training check", "reduce the trajectory's steps", err, errlen))
        goto error;
    no_progress_begin(label);
    int rc = no_train_reference(p, a->prec, tc.steps, tc.eta, train_progress, (void *)label, &c,
                                err, errlen);
    no_progress_end();
    if (rc)
        goto error;
    fast_train_traj view = {tc.steps,      K,             tc.eta,        tc.F, tc.gnorm2,
                            tc.theta_norm, tc.theta_dist, tc.params};
    unsigned mask = (1u << NO_TRAIN_Q_F) | (tc.params ? 1u << NO_TRAIN_Q_THETA : 0) |
                    (tc.has_g2 ? 1u << NO_TRAIN_Q_G2 : 0) |
                    (tc.has_tnorm ? 1u << NO_TRAIN_Q_TNORM : 0) |
                    (tc.has_tdist ? 1u << NO_TRAIN_Q_TDIST : 0);
    if (no_train_judge_some(p, &c.ref, &view, c.dG, c.tF, c.ok, mask, &c)) {
        snprintf(err, errlen, "out of memory judging the trajectory");
        goto error;
    }
    res->status = c.verdict;
    snprintf(res->verdict, sizeof res->verdict, "%s",
             c.verdict == NO_TRAIN_PASS   ? "pass"
             : c.verdict == NO_TRAIN_FAIL ? "fail"
                                          : "unverifiable");
    if (a->json)
        res->json = train_json(p, problem, candidate, &tc, psrc, a->prec, &c);
    else if (text)
        train_text(p, candidate, &tc, psrc, a->prec, &c);
    no_train_cmp_clear(&c);
    no_train_candidate_clear(&tc);
    no_problem_free(p);
    return;
error:
    no_train_cmp_clear(&c);
    no_train_candidate_clear(&tc);
    no_problem_free(p);
    res->status = NO_EXIT_USAGE;
    snprintf(res->verdict, sizeof res->verdict, "error");
}

/* Check candidate against problem.  text: print the human report on stdout
 * (one problem); else (directory mode) only res->note.  Progress lines are
 * labelled label. */
static void check_one(const check_args *a, const char *problem, const char *candidate,
                      int text, const char *label, check_result *res)
{
    memset(res, 0, sizeof *res);
    res->usage = 1;
    char *err = res->err;
    const size_t errlen = sizeof res->err;
    no_problem p;
    if (no_problem_dir_read(problem, &p, err, errlen)) {
        res->status = NO_EXIT_USAGE;
        snprintf(res->verdict, sizeof res->verdict, "error");
        return;
    }
    if (a->train || no_train_candidate_declared(candidate)) {
        if (!text) { /* directory mode */
            no_problem_free(&p);
            res->status = NO_EXIT_USAGE;
            snprintf(res->err, sizeof res->err, "%.700s: a training candidate (candidate.json "
                     "declares \"training\"): check it alone with --train --problem --candidate",
                     candidate);
            snprintf(res->verdict, sizeof res->verdict, "error");
            return;
        }
        if (a->grid || a->has_scheme || a->force_golden) {
            no_problem_free(&p);
            res->status = NO_EXIT_USAGE;
            snprintf(res->err, sizeof res->err, "%.700s: a training candidate is judged against "
                     "a reference computed on the fly with the problem's grid and scheme (no "
                     "--grid, --scheme, --golden)", candidate);
            snprintf(res->verdict, sizeof res->verdict, "error");
            return;
        }
        check_train_one(a, &p, problem, candidate, text, label, res);
        return;
    }
    no_arrays cand;
    no_candidate_info info;
    if (no_candidate_read(candidate, &p.spec, &cand, &info, err, errlen)) {
        no_problem_free(&p);
        res->status = NO_EXIT_USAGE;
        snprintf(res->verdict, sizeof res->verdict, "error");
        return;
    }
    no_precision_source psrc;
    no_precision precision = no_candidate_precision(&info, a->has_precision, a->precision, &psrc);
    if (a->has_scheme || info.has_scheme)
        p.spec.scheme = a->has_scheme ? a->scheme : info.scheme;
    char gridpath[NO_PATH_MAX] = "";
    if (a->grid)
        snprintf(gridpath, sizeof gridpath, "%s", a->grid);
    else if (info.has_grid) /* already joined with the candidate directory */
        snprintf(gridpath, sizeof gridpath, "%s", info.grid);
    double *times = NULL;
    size_t ntimes = 0;
    no_arrays ref, bits;
    memset(&ref, 0, sizeof ref);
    memset(&bits, 0, sizeof bits);
    if (gridpath[0] && no_grid_read(gridpath, &p.spec, &times, &ntimes, err, errlen))
        goto usage;
    if (no_spec_validate(&p.spec, NO_REQ_NONE, err, errlen))
        goto usage;

    /* The reference: golden/ unless a grid, another scheme or --on-the-fly. */
    long refprec = a->prec;
    int replay = times || a->has_scheme || info.has_scheme;
    int use_golden = !a->force_fly && !replay && (a->force_golden || has_golden(problem));
    if (a->force_golden && replay) {
        snprintf(err, errlen, "--golden: golden values are for the problem's own grid and "
                              "scheme; a replay needs --on-the-fly");
        goto usage;
    }
    /* Will it fit?  Refused before the reference is computed (a long grid
     * multiplies the stored states). */
    if (no_res_require(no_res_check_bytes(&p.spec, a->prec, ntimes ? ntimes - 1 : 0, use_golden),
                       "this problem", times ? "reduce N, the grid's steps or --prec"
                                             : "reduce N or --prec",
                       err, errlen)) {
        res->usage = 0;
        goto usage;
    }
    no_progress_begin(label);
    ref_setup setup = {.grid = times, .grid_count = ntimes, .progress = no_progress_ref()};
    if (use_golden ? golden_reference(problem, &p, &ref, &bits, &refprec, err, errlen)
                   : ref_certify_setup(&p, a->prec, &setup, &ref, &bits, err, errlen))
        goto usage;

    /* Judge; while some array could only be judged by a more accurate
     * reference (REF_WEAK), certify it again on the fly at doubled precision,
     * up to the cap (compare.h, Arb-style). */
    long asked = refprec, cap = no_compare_cap(refprec, a->max_prec);
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
            snprintf(err, errlen, "out of memory building the tolerance model");
        /* float32, bfloat16: the measured envelope caps the a-priori model */
        if (bad || no_diag_cap_tolerance(&tol, &p, &setup, &ref, err, errlen))
            goto usage;
        no_compare_arrays(&cand, &rv, &bv, &tol, &rep);
        struct check_size size = {&p.spec, ntimes ? ntimes - 1 : 0};
        long next = no_compare_raise(&rep, check_bytes, &size);
        if (!next)
            break;
        no_arrays_free(&ref);
        no_arrays_free(&bits);
        if (ref_certify_setup(&p, next, &setup, &ref, &bits, err, errlen))
            goto usage;
        refprec = next;
        use_golden = 0;
    }

    no_diagnosis diag, *dp = NULL;
    /* Only a failure is diagnosed: an unjudged array has no error to explain. */
    if (rep.outcome == NO_OUTCOME_FAIL) {
        no_progress_begin(text ? "diagnosis" : label);
        char derr[512];
        if (no_diagnose(&p, &setup, &cand, &ref, &tol, refprec, &diag, derr, sizeof derr) == 0)
            dp = &diag;
        else
            fprintf(stderr, "nodeoracle: %s%sdiagnosis failed: %s\n", text ? "" : problem,
                    text ? "" : ": ", derr);
    }
    no_progress_end();
    res->status = no_report_outcome_exit(rep.outcome);
    snprintf(res->verdict, sizeof res->verdict, "%s", no_report_outcome_token(&rep));
    if (a->json)
        res->json = check_json(&rep, dp, problem, candidate, precision, psrc,
                               times ? gridpath : NULL, use_golden);
    if (text && !a->json) {
        char ptext[256];
        precision_text(ptext, sizeof ptext, precision, psrc, &info);
        printf("candidate %s, %s%s\n", candidate, ptext,
               times ? ", replaying its step grid" : "");
        no_report_print(stdout, &rep, 1, 1);
        if (dp)
            print_diagnosis(dp, p.spec.L);
        printf("\nnodeoracle check: %s\n",
               rep.outcome == NO_OUTCOME_PASS   ? "pass"
               : rep.outcome == NO_OUTCOME_FAIL ? "FAIL"
               : !strcmp(res->verdict, "ref_too_weak")
                   ? "REF TOO WEAK (cannot be judged; exit 3)"
                   : "UNVERIFIABLE (cannot be judged; exit 3)");
    }
    /* directory mode: the worst row (largest error over tolerance) and the cause */
    int worst = -1;
    double wr = -1;
    for (int i = 0; i < rep.nrows; i++) {
        const no_cmp_row *r = &rep.rows[i];
        if (r->verdict == NO_VERDICT_PASS)
            continue;
        double q = r->max_rel / r->tol;
        if (worst < 0 || !(q <= wr))
            worst = i, wr = isnan(q) ? INFINITY : q;
    }
    if (worst >= 0) {
        const no_cmp_row *r = &rep.rows[worst];
        size_t k = (size_t)snprintf(res->note, sizeof res->note, "%s %s, max rel %.3e, tol %.2e",
                                    r->name, no_report_verdict_token(r->verdict), r->max_rel,
                                    r->tol);
        if (dp && k < sizeof res->note)
            snprintf(res->note + k, sizeof res->note - k, "; diagnosis: %s%s%s%s", dp->cause,
                     dp->variant[0] ? "[" : "", dp->variant, dp->variant[0] ? "]" : "");
    }
    no_arrays_free(&ref);
    no_arrays_free(&bits);
    no_arrays_free(&cand);
    free(times);
    no_problem_free(&p);
    return;

usage:
    no_progress_end();
    no_arrays_free(&ref);
    no_arrays_free(&bits);
    free(times);
    no_arrays_free(&cand);
    no_problem_free(&p);
    res->status = NO_EXIT_USAGE;
    snprintf(res->verdict, sizeof res->verdict, "error");
}

/* ---- a directory of problems ---------------------------------------------- */

static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The names of the subdirectories of dir (not starting with '.') that hold
 * a file named member (NULL: any subdirectory), sorted bytewise; *n their
 * count.  NULL with err when dir cannot be read. */
static char **list_dirs(const char *dir, const char *member, int *n, char *err, size_t len)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        no_errorf(err, len, "%s: cannot open the directory: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[NO_PATH_MAX], path[NO_PATH_MAX], why[64];
        struct stat st;
        if (no_path_join(sub, sizeof sub, dir, e->d_name, why, sizeof why) ||
            stat(sub, &st) || !S_ISDIR(st.st_mode))
            continue;
        if (member && (no_path_join(path, sizeof path, sub, member, why, sizeof why) ||
                       stat(path, &st)))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **t = realloc(names, (size_t)cap * sizeof *t);
            if (!t)
                break;
            names = t;
        }
        if (!(names[*n] = strdup(e->d_name)))
            break;
        (*n)++;
    }
    closedir(d);
    if (!names)
        names = calloc(1, sizeof *names);
    if (*n > 1)
        qsort(names, (size_t)*n, sizeof *names, cmp_names);
    return names;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The order of badness of a problem's exit status: pass < cannot be judged
 * < fail < input error (a problem not checked at all: the run is incomplete). */
static int severity(int status)
{
    return status == NO_EXIT_PASS       ? 0
           : status == NO_EXIT_UNJUDGED ? 1
           : status == NO_EXIT_MISMATCH ? 2
                                        : 3;
}

enum { C_PASS, C_FAIL, C_UNVERIFIABLE, C_REF_WEAK, C_ERROR, C_MISSING, C_COUNT };
static const char *const count_names[C_COUNT] = {"pass", "fail", "unverifiable",
                                                 "ref_too_weak", "error", "missing"};

/* ---- check over directories in steps (suite.h): the serial command below,
 * and nodeoracle-mpi, which runs the problems on other processes ---------- */

struct no_check_dir {
    check_args a;
    char **names, **cnames; /* problems (sorted), candidate directories */
    int n, nc;
    int counts[C_COUNT], worst;
    json_t *rows;
};

/* One problem's outcome: what emit prints. */
struct no_check_item {
    check_result res;
    int missing;
    char prob[NO_PATH_MAX], cand[NO_PATH_MAX];
};

static no_check_dir *check_dir_new(const check_args *a)
{
    no_check_dir *c = calloc(1, sizeof *c);
    if (c) {
        c->a = *a;
        c->worst = NO_EXIT_PASS;
    }
    return c;
}

int no_check_dir_open(int argc, char **argv, no_check_dir **cp)
{
    *cp = NULL;
    check_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? NO_EXIT_USAGE : rc == 1 ? NO_EXIT_PASS : rc;
    if (!a.problems)
        return -1; /* one problem: nothing to split */
    if (!(*cp = check_dir_new(&a)))
        return no_report_error("out of memory");
    return NO_EXIT_PASS;
}

int no_check_dir_list(no_check_dir *c)
{
    char err[NO_PATH_MAX + 256];
    struct stat st;
    const check_args *a = &c->a;
    if (stat(a->candidates, &st) || !S_ISDIR(st.st_mode)) {
        snprintf(err, sizeof err, "%s: %s", a->candidates,
                 errno == ENOENT ? "no such directory" : "not a directory");
        return no_report_error(err);
    }
    c->names = list_dirs(a->problems, "problem.json", &c->n, err, sizeof err);
    if (!c->names)
        return no_report_error(err);
    if (c->n == 0) {
        snprintf(err, sizeof err, "%s: no problem directories in it (DIR/NAME/problem.json, "
                 "as nodeoracle gen --suite writes)", a->problems);
        return no_report_error(err);
    }
    c->cnames = list_dirs(a->candidates, NULL, &c->nc, err, sizeof err);
    if (!c->cnames)
        return no_report_error(err);
    if (!a->json)
        printf("check: %d problem%s in %s, candidates in %s\n", c->n, c->n == 1 ? "" : "s",
               a->problems, a->candidates);
    return NO_EXIT_PASS;
}

int no_check_dir_count(const no_check_dir *c)
{
    return c->n;
}

char *no_check_dir_names_pack(const no_check_dir *c, size_t *len)
{
    size_t n = 0;
    for (int i = 0; i < c->n; i++)
        n += strlen(c->names[i]) + 1;
    char *buf = malloc(n ? n : 1), *p = buf;
    for (int i = 0; buf && i < c->n; i++) {
        size_t k = strlen(c->names[i]) + 1;
        memcpy(p, c->names[i], k);
        p += k;
    }
    *len = buf ? n : 0;
    return buf;
}

int no_check_dir_names_unpack(no_check_dir *c, const char *buf, size_t len)
{
    int n = 0;
    for (size_t k = 0; k < len; k++)
        n += buf[k] == 0;
    if (len && buf[len - 1])
        return -1;
    char **names = calloc((size_t)(n ? n : 1), sizeof *names);
    if (!names)
        return -1;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        if (!(names[i] = strdup(buf + at))) {
            free_names(names, i);
            return -1;
        }
        at += strlen(buf + at) + 1;
    }
    c->names = names;
    c->n = n;
    return 0;
}

double no_check_dir_cost(const no_check_dir *c, int i)
{
    /* An estimate for the split only: a problem.json that cannot be read
     * costs 1 (the check itself reports it). */
    char dir[NO_PATH_MAX], err[256];
    no_spec s;
    if (no_path_join(dir, sizeof dir, c->a.problems, c->names[i], err, sizeof err) ||
        no_problem_dir_read_spec(dir, &s, err, sizeof err))
        return 1;
    return no_suite_cost(&s);
}

no_check_item *no_check_dir_run(const no_check_dir *c, int i)
{
    no_check_item *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    const check_args *a = &c->a;
    check_result *res = &it->res;
    char err[NO_PATH_MAX + 256], label[32];
    struct stat st;
    if (no_path_join(it->prob, sizeof it->prob, a->problems, c->names[i], err, sizeof err) ||
        no_path_join(it->cand, sizeof it->cand, a->candidates, c->names[i], err, sizeof err)) {
        res->status = NO_EXIT_USAGE;
        snprintf(res->err, sizeof res->err, "%.900s", err);
        snprintf(res->verdict, sizeof res->verdict, "error");
    } else if (stat(it->cand, &st) && errno == ENOENT) {
        it->missing = 1;
        res->status = NO_EXIT_USAGE;
        snprintf(res->err, sizeof res->err, "%.700s: no candidate directory for problem %.200s",
                 it->cand, c->names[i]);
        snprintf(res->verdict, sizeof res->verdict, "missing");
    } else {
        snprintf(label, sizeof label, "[%d/%d]", i + 1, c->n);
        check_one(a, it->prob, it->cand, 0, label, res);
    }
    return it;
}

/* ---- an item as bytes (io/bytes.h): status, usage and missing as u64s;
 * then the strings err, verdict, note, prob, cand and the report's JSON text
 * (compact, members in order, reals to 17 digits: json_loads gives back the
 * same doubles; empty when there is none). */

char *no_check_item_pack(const no_check_item *it, size_t *len)
{
    char *js = NULL;
    const check_result *r = &it->res;
    *len = 0;
    if (r->json && !(js = json_dumps(r->json, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                                  JSON_REAL_PRECISION(17))))
        return NULL;
    no_bytes b = {0};
    /* two's complement: a negative status comes back by the cast */
    no_bytes_put_u64(&b, (unsigned long long)(long long)r->status);
    no_bytes_put_u64(&b, (unsigned long long)(long long)r->usage);
    no_bytes_put_u64(&b, (unsigned long long)(long long)it->missing);
    const char *str[] = {r->err, r->verdict, r->note, it->prob, it->cand, js};
    for (size_t i = 0; i < sizeof str / sizeof str[0]; i++)
        no_bytes_put_str(&b, str[i]);
    free(js);
    if (b.bad) {
        free(b.data);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

no_check_item *no_check_item_unpack(const char *buf, size_t len)
{
    no_check_item *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    check_result *r = &it->res;
    no_reader rd = {buf, len, 0};
    unsigned long long v[3];
    const char *js;
    size_t jn;
    int bad = 0;
    for (int i = 0; i < 3 && !bad; i++)
        bad = no_reader_u64(&rd, &v[i]);
    if (bad || no_reader_str(&rd, r->err, sizeof r->err) ||
        no_reader_str(&rd, r->verdict, sizeof r->verdict) ||
        no_reader_str(&rd, r->note, sizeof r->note) ||
        no_reader_str(&rd, it->prob, sizeof it->prob) ||
        no_reader_str(&rd, it->cand, sizeof it->cand) || no_reader_span(&rd, &js, &jn) ||
        rd.at != len) {
        free(it);
        return NULL;
    }
    r->status = (int)(long long)v[0];
    r->usage = (int)(long long)v[1];
    it->missing = (int)(long long)v[2];
    json_error_t jerr;
    if (jn && !(r->json = json_loadb(js, jn, 0, &jerr))) {
        free(it);
        return NULL;
    }
    return it;
}

void no_check_item_free(no_check_item *it)
{
    if (it)
        json_decref(it->res.json);
    free(it);
}

void no_check_dir_emit(no_check_dir *c, int i, no_check_item *it)
{
    const check_args *a = &c->a;
    check_result *res = &it->res;
    int cl = it->missing                           ? C_MISSING
             : res->status == NO_EXIT_USAGE          ? C_ERROR
             : res->status == NO_EXIT_PASS           ? C_PASS
             : res->status == NO_EXIT_MISMATCH       ? C_FAIL
             : !strcmp(res->verdict, "ref_too_weak") ? C_REF_WEAK
                                                     : C_UNVERIFIABLE;
    c->counts[cl]++;
    if (severity(res->status) > severity(c->worst))
        c->worst = res->status;
    if (res->status == NO_EXIT_USAGE)
        fprintf(stderr, "nodeoracle: %s\n", res->err);
    if (a->json) {
        if (!c->rows)
            c->rows = json_array();
        json_t *o = json_object();
        json_object_set_new(o, "name", no_report_str(c->names[i]));
        json_object_set_new(o, "problem", no_report_str(it->prob));
        json_object_set_new(o, "candidate", no_report_str(it->cand));
        json_object_set_new(o, "verdict", json_string(count_names[cl]));
        json_object_set_new(o, "exit_status", json_integer(res->status));
        json_object_set_new(o, "message", res->status == NO_EXIT_USAGE
                                              ? no_report_str(res->err)
                                              : json_null());
        json_object_set_new(o, "report", res->json ? res->json : json_null());
        res->json = NULL; /* taken over by the row */
        json_array_append_new(c->rows, o);
    } else {
        printf("  %-40s %-13s %s\n", c->names[i], count_names[cl],
               res->status == NO_EXIT_USAGE ? res->err : res->note);
    }
    fflush(stdout);
    no_check_item_free(it);
}

int no_check_dir_finish(no_check_dir *c)
{
    const check_args *a = &c->a;
    int n = c->n, nc = c->nc, worst = c->worst, *counts = c->counts;
    char **names = c->names, **cnames = c->cnames;
    json_t *rows = c->rows ? c->rows : json_array();
    c->rows = NULL;
    /* candidate directories no problem asked for (a typo in a name) */
    json_t *extra = json_array();
    int nextra = 0;
    for (int j = 0; j < nc; j++)
        if (!bsearch(&cnames[j], names, (size_t)n, sizeof *names, cmp_names)) {
            json_array_append_new(extra, no_report_str(cnames[j]));
            if (!a->json)
                printf("  %-40s %-13s %s/%s has no problem in %s\n", cnames[j], "unmatched",
                       a->candidates, cnames[j], a->problems);
            nextra++;
        }
    const char *verdict = worst == NO_EXIT_USAGE      ? "error"
                          : worst == NO_EXIT_MISMATCH ? "fail"
                          : worst == NO_EXIT_UNJUDGED ? (counts[C_UNVERIFIABLE] ? "unverifiable"
                                                                                : "ref_too_weak")
                                                      : "pass";
    if (a->json) {
        json_t *root = no_report_json_new("check_directory", "check");
        json_object_set_new(root, "problems_dir", no_report_str(a->problems));
        json_object_set_new(root, "candidates_dir", no_report_str(a->candidates));
        json_object_set_new(root, "verdict", json_string(verdict));
        json_object_set_new(root, "exit_status", json_integer(worst));
        json_t *co = json_object();
        json_object_set_new(co, "total", json_integer(n));
        for (int k = 0; k < C_COUNT; k++)
            json_object_set_new(co, count_names[k], json_integer(counts[k]));
        json_object_set_new(root, "counts", co);
        json_object_set_new(root, "unmatched_candidates", extra);
        json_object_set_new(root, "problems", rows);
        no_report_json_print(root);
    } else {
        json_decref(extra);
        json_decref(rows);
        printf("\nnodeoracle check: %d problem%s: %d pass, %d fail, %d unverifiable, %d ref too "
               "weak, %d error, %d missing candidate%s",
               n, n == 1 ? "" : "s", counts[C_PASS], counts[C_FAIL], counts[C_UNVERIFIABLE],
               counts[C_REF_WEAK], counts[C_ERROR], counts[C_MISSING],
               counts[C_MISSING] == 1 ? "" : "s");
        if (nextra)
            printf(", %d unmatched candidate director%s", nextra, nextra == 1 ? "y" : "ies");
        printf(" (exit %d)\n", worst);
    }
    no_check_dir_free(c);
    return worst;
}

void no_check_dir_free(no_check_dir *c)
{
    if (!c)
        return;
    free_names(c->names, c->n);
    free_names(c->cnames, c->nc);
    json_decref(c->rows);
    free(c);
}

/* The whole directory in this process: the steps above in a row. */
static int check_directory(const check_args *a)
{
    no_check_dir *c = check_dir_new(a);
    if (!c)
        return no_report_error("out of memory");
    int rc = no_check_dir_list(c);
    if (rc) {
        no_check_dir_free(c);
        return rc;
    }
    for (int i = 0; i < c->n; i++) {
        no_check_item *it = no_check_dir_run(c, i);
        if (!it) {
            no_check_dir_free(c);
            return no_report_error("out of memory");
        }
        no_check_dir_emit(c, i, it);
    }
    return no_check_dir_finish(c);
}

int no_cmd_check(int argc, char **argv)
{
    check_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? NO_EXIT_USAGE : rc == 1 ? NO_EXIT_PASS : rc;
    if (a.problems)
        return check_directory(&a);
    check_result res;
    check_one(&a, a.problem, a.candidate, 1, "check", &res);
    if (res.status == NO_EXIT_USAGE)
        return res.usage ? no_cmd_usage_error(res.err) : no_report_error(res.err);
    if (res.json)
        no_report_json_print(res.json);
    return res.status;
}
