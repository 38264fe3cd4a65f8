/* cmd_cot_distance.c - `nodeoracle cot-distance A B`: the certified COT
 * distance between two mlp particle measures (oracle/cot.h,
 * proofs-notes/cot-distance.md, docs/cot-distance.md). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "cot.h"
#include "npy.h"
#include "path.h"
#include "ref_assign.h"
#include "report.h"

const char no_cmd_cot_distance_help[] =
    "NAME\n"
    "  nodeoracle cot-distance - the conditional optimal transport (COT) distance between\n"
    "  two mlp particle measures, with a certificate of optimality\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle cot-distance A B [--prec BITS] [--w2] [--out DIR] [--quiet] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  A and B are two mlp parameter sets theta_kj = (a_kj, u_kj, b_kj) in R^(2D+1), k =\n"
    "  0..L-1 layers, j = 1..M particles, with the same L, M and D. Each is the measure\n"
    "  mu = (1/L) sum_k delta_{s_k} x (1/M) sum_j delta_{theta_kj}. The distance is\n"
    "\n"
    "    COT_2(mu, mu')^2 = h sum_k min_pi (1/M) sum_j |theta_kj - theta'_{k pi(j)}|^2,\n"
    "\n"
    "  h = 1/L: particles are transported within their layer only. Each layer's\n"
    "  assignment is solved in double by the Hungarian method (shortest augmenting\n"
    "  paths, O(M^3) time, M^2 doubles of memory) and certified in MPFR at BITS: the\n"
    "  costs are evaluated from the double inputs with outward rounding, the double dual\n"
    "  potentials are repaired into exactly feasible ones, and duality gives a rigorous\n"
    "  enclosure [lo, hi] of the optimum of every layer and of COT_2^2. A layer is\n"
    "  verified when its gap eps = hi - lo is at most 2^-40 of hi; the pairing is then\n"
    "  eps-optimal. The squared length of the identity pairing, h sum_k (1/M) sum_j\n"
    "  |theta_kj - theta'_kj|^2, is printed too (it is >= COT_2^2).\n"
    "\n"
    "OPTIONS\n"
    "  --prec BITS    precision of the certificate, 53..43691 (default 128)\n"
    "  --w2           also W_2 of the joint measures on (layer, parameter) space: one\n"
    "                 assignment of L M points, ground cost (s_k - s_k')^2 + |theta -\n"
    "                 theta'|^2 with s_k = k/L, certified the same way; W_2 <= COT_2 is\n"
    "                 checked. Needs (L M)^2 doubles of memory and O((L M)^3) time\n"
    "  --out DIR      write assignment.npy (L x M: the particle of B matched with theta_kj)\n"
    "                 and, with --w2, w2_assignment.npy (L x M x 2: the layer and particle\n"
    "                 of B matched with theta_kj) into DIR, created if missing; each file is\n"
    "                 written under a temporary name and renamed\n"
    "  --quiet        only the result line\n"
    "  --json         one JSON object on stdout (kind \"cot_distance\"); on a usage or input\n"
    "                 error the error object\n"
    "\n"
    "FILES\n"
    "  A and B are directories holding a.npy (L x M x D), u.npy (L x M x D) and b.npy\n"
    "  (L x M), float64 (or float32), finite: the layout of an mlp problem directory as\n"
    "  `nodeoracle gen` writes it (other files there are ignored). M is limited by memory:\n"
    "  the command estimates what it needs and refuses what does not fit in half of the\n"
    "  physical memory, and refuses n > 16384 points per assignment (hours of time).\n"
    "\n"
    "EXIT STATUS\n"
    "  0 every layer's certificate verified (and, with --w2, W_2 verified and <= COT_2);\n"
    "  1 a consistency check failed (W_2 above COT_2, or COT_2^2 above the identity\n"
    "  pairing's cost: a bug); 2 usage or input error (one line on stderr); 3 some\n"
    "  certificate not verified (the enclosure is still printed and still rigorous).\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle gen --family mlp --M 32 --seed 1 --out p1\n"
    "  nodeoracle gen --family mlp --M 32 --seed 2 --out p2\n"
    "  nodeoracle cot-distance p1 p2\n"
    "  nodeoracle cot-distance p1 p2 --w2 --json --out match\n"
    "\n";

/* Points per assignment beyond which the O(n^3) solver runs for hours (the
 * bench measures n = 4096 in seconds; 16384 is 64 times that). */
#define COT_N_MAX 16384

typedef struct {
    no_array a, u, b;
} measure_files;

static void files_free(measure_files *m)
{
    free(m->a.v), free(m->u.v), free(m->b.v);
    m->a.v = m->u.v = m->b.v = NULL;
}

static int read_one(const char *dir, const char *name, no_array *out, char *err, size_t len)
{
    char path[NO_PATH_MAX];
    memset(out, 0, sizeof *out);
    if (no_path_join(path, sizeof path, dir, name, err, len))
        return -1;
    return no_npy_read(path, out, NO_NPY_F32, err, len);
}

/* dir's a.npy, u.npy, b.npy, shapes checked: (L, M, D), (L, M, D), (L, M). */
static int read_measure(const char *dir, measure_files *m, no_cot_measure *cm, char *err,
                        size_t len)
{
    struct stat st;
    memset(m, 0, sizeof *m);
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return no_errorf(err, len, "%.300s: not a directory (expected a directory with a.npy, "
                                   "u.npy and b.npy)", dir);
    if (read_one(dir, "a.npy", &m->a, err, len) || read_one(dir, "u.npy", &m->u, err, len) ||
        read_one(dir, "b.npy", &m->b, err, len)) {
        files_free(m);
        return -1;
    }
    char path[NO_PATH_MAX];
    if (m->a.ndim != 3) {
        files_free(m);
        return no_errorf(err, len, "%.300s/a.npy: %d dimensions, expected 3 (L, M, D)", dir,
                         m->a.ndim);
    }
    size_t shb[2] = {m->a.shape[0], m->a.shape[1]};
    if (no_path_join(path, sizeof path, dir, "u.npy", err, len) ||
        no_npy_check_shape(path, &m->u, 3, m->a.shape, err, len) ||
        no_path_join(path, sizeof path, dir, "b.npy", err, len) ||
        no_npy_check_shape(path, &m->b, 2, shb, err, len)) {
        files_free(m);
        return -1;
    }
    cm->L = m->a.shape[0], cm->M = m->a.shape[1], cm->D = m->a.shape[2];
    cm->a = m->a.v, cm->u = m->u.v, cm->b = m->b.v;
    if (!cm->L || !cm->M || !cm->D) {
        files_free(m);
        return no_errorf(err, len, "%.300s: empty measure (L = %zu, M = %zu, D = %zu; each "
                                   "must be >= 1)", dir, cm->L, cm->M, cm->D);
    }
    return 0;
}

static size_t memory_limit(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || size <= 0)
        return (size_t)1 << 32; /* unknown: assume 8 GiB, use half */
    double half = 0.5 * (double)pages * (double)size;
    return half >= (double)SIZE_MAX ? SIZE_MAX : (size_t)half;
}

static int write_out(const char *dir, const no_cot_result *r, char *err, size_t len)
{
    char path[NO_PATH_MAX];
    no_array a;
    memset(&a, 0, sizeof a);
    a.ndim = 2, a.shape[0] = r->L, a.shape[1] = r->M, a.n = r->L * r->M;
    a.v = malloc(2 * a.n * sizeof *a.v);
    if (!a.v)
        return no_errorf(err, len, "out of memory (--out)");
    for (size_t i = 0; i < a.n; i++)
        a.v[i] = (double)r->perm[i];
    int rc = no_path_join(path, sizeof path, dir, "assignment.npy", err, len) ||
             no_npy_write(path, &a, err, len);
    if (!rc && r->have_w2) {
        a.ndim = 3, a.shape[2] = 2, a.n *= 2;
        for (size_t i = 0; i < r->L * r->M; i++) {
            a.v[2 * i] = (double)(r->w2_perm[i] / r->M);
            a.v[2 * i + 1] = (double)(r->w2_perm[i] % r->M);
        }
        rc = no_path_join(path, sizeof path, dir, "w2_assignment.npy", err, len) ||
             no_npy_write(path, &a, err, len);
    }
    free(a.v);
    return rc ? -1 : 0;
}

/* 1: a consistency check failed - W_2 above COT_2, or the certified lower
 * bound of COT_2^2 above the identity pairing's cost (double, so with a
 * relative allowance of 2^-40 for its rounding). */
static int inconsistent(const no_cot_result *r)
{
    if (r->have_w2 && !r->w2_le_cot)
        return 1;
    return r->cot2_lo > r->identity2 * (1 + ldexp(1, -40));
}

static int exit_of(const no_cot_result *r)
{
    if (inconsistent(r))
        return NO_EXIT_MISMATCH;
    if (!r->verified || (r->have_w2 && !r->w2_verified))
        return NO_EXIT_UNJUDGED;
    return NO_EXIT_PASS;
}

static void print_json(const char *pa, const char *pb, const no_cot_result *r)
{
    json_t *root = no_report_json_new("cot_distance", "cot-distance");
    json_object_set_new(root, "first", no_report_str(pa));
    json_object_set_new(root, "second", no_report_str(pb));
    json_object_set_new(root, "L", json_integer((json_int_t)r->L));
    json_object_set_new(root, "M", json_integer((json_int_t)r->M));
    json_object_set_new(root, "D", json_integer((json_int_t)r->D));
    json_object_set_new(root, "h", no_report_num(1.0 / (double)r->L));
    json_object_set_new(root, "prec", json_integer(r->prec));
    json_object_set_new(root, "tol_bits", json_integer(REF_ASSIGN_TOL_BITS));
    json_object_set_new(root, "cot", no_report_num(r->cot));
    json_object_set_new(root, "cot_lo", no_report_num(r->cot_lo));
    json_object_set_new(root, "cot_hi", no_report_num(r->cot_hi));
    json_object_set_new(root, "cot2", no_report_num(r->cot2));
    json_object_set_new(root, "cot2_lo", no_report_num(r->cot2_lo));
    json_object_set_new(root, "cot2_hi", no_report_num(r->cot2_hi));
    json_object_set_new(root, "cot2_bits", json_integer(r->cot2_bits));
    json_object_set_new(root, "identity_sq", no_report_num(r->identity2));
    json_object_set_new(root, "verified", json_boolean(r->verified));
    json_t *layers = json_array(), *asg = json_array();
    for (size_t k = 0; k < r->L; k++) {
        json_t *o = json_object();
        json_object_set_new(o, "k", json_integer((json_int_t)k));
        json_object_set_new(o, "w2sq", no_report_num(r->w2sq[k]));
        json_object_set_new(o, "w2sq_lo", no_report_num(r->w2sq_lo[k]));
        json_object_set_new(o, "w2sq_hi", no_report_num(r->w2sq_hi[k]));
        json_object_set_new(o, "eps", no_report_num(r->eps[k]));
        json_object_set_new(o, "slack_max", no_report_num(r->slack_max[k]));
        json_object_set_new(o, "dual_violation", no_report_num(r->dual_violation[k]));
        json_object_set_new(o, "exact_costs", json_boolean(r->exact_costs[k]));
        json_object_set_new(o, "verified", json_boolean(r->layer_verified[k]));
        json_array_append_new(layers, o);
        json_t *p = json_array();
        for (size_t j = 0; j < r->M; j++)
            json_array_append_new(p, json_integer((json_int_t)r->perm[k * r->M + j]));
        json_array_append_new(asg, p);
    }
    json_object_set_new(root, "layers", layers);
    json_object_set_new(root, "assignment", asg);
    if (r->have_w2) {
        json_t *w = json_object();
        json_object_set_new(w, "w2", no_report_num(r->w2));
        json_object_set_new(w, "w2sq", no_report_num(r->w2sq_joint));
        json_object_set_new(w, "w2sq_lo", no_report_num(r->w2sq_joint_lo));
        json_object_set_new(w, "w2sq_hi", no_report_num(r->w2sq_joint_hi));
        json_object_set_new(w, "eps", no_report_num(r->w2_eps));
        json_object_set_new(w, "verified", json_boolean(r->w2_verified));
        json_object_set_new(w, "le_cot", json_boolean(r->w2_le_cot));
        json_object_set_new(root, "w2", w);
    }
    json_object_set_new(root, "seconds_assign", no_report_num(r->seconds_assign));
    json_object_set_new(root, "seconds_certify", no_report_num(r->seconds_certify));
    json_object_set_new(root, "exit_status", json_integer(exit_of(r)));
    no_report_json_print(root);
}

static void print_text(const no_cot_result *r, int quiet)
{
    if (!quiet) {
        printf("COT distance: L = %zu, M = %zu, D = %zu (theta in R^%zu), h = 1/%zu; "
               "certificate at %ld bits, verified when eps <= 2^-%d of the cost\n\n",
               r->L, r->M, r->D, 2 * r->D + 1, r->L, r->prec, REF_ASSIGN_TOL_BITS);
        printf("  %5s  %22s  %22s  %10s  %s\n", "layer", "W_2(mu_k, mu'_k)^2", "upper bound",
               "eps", "certificate");
        for (size_t k = 0; k < r->L; k++)
            printf("  %5zu  %22.15e  %22.15e  %10.3e  %s%s\n", k, r->w2sq[k], r->w2sq_hi[k],
                   r->eps[k], r->layer_verified[k] ? "verified" : "NOT verified",
                   r->exact_costs[k] ? "" : " (costs enclosed, not exact)");
        printf("\n");
    }
    printf("COT_2 = %.17g  (COT_2^2 = %.17g in [%.17g, %.17g], %d bits) %s\n", r->cot, r->cot2,
           r->cot2_lo, r->cot2_hi, r->cot2_bits,
           r->verified ? "verified" : "NOT verified");
    if (r->have_w2)
        printf("W_2 (joint, ground cost (s_k - s_k')^2 + |theta - theta'|^2) = %.17g  "
               "(eps %.3e, %s; W_2 <= COT_2: %s)\n",
               r->w2, r->w2_eps, r->w2_verified ? "verified" : "NOT verified",
               r->w2_le_cot ? "yes" : "NO");
    if (!quiet)
        printf("identity pairing: h sum_k (1/M) sum_j |theta_kj - theta'_kj|^2 = %.17g "
               "(>= COT_2^2)\n(%.3f s assignment, %.3f s certificate)\n",
               r->identity2, r->seconds_assign, r->seconds_certify);
}

int no_cmd_cot_distance(int argc, char **argv)
{
    static const char *const switches[] = {"--w2", "--json", "--quiet", "--help", "-h", NULL};
    const char *pos[2] = {NULL, NULL}, *out = NULL;
    int npos = 0, json = 0, quiet = 0, w2 = 0;
    long prec = 128;
    char err[768];
    /* --json first, wherever it is, so that every error below is also the
     * JSON error object; positional arguments take no value, which
     * no_cmd_json_prescan cannot know. */
    for (int i = 0; i < argc; i++) {
        int sw = 0;
        for (const char *const *s = switches; *s && !sw; s++)
            sw = !strcmp(argv[i], *s);
        if (!strcmp(argv[i], "--json"))
            no_report_json_errors("cot-distance");
        else if (!sw && !strncmp(argv[i], "--", 2))
            i++;
    }
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (f[0] != '-' || !f[1]) {
            if (npos == 2)
                return no_cmd_usage_error("cot-distance takes two directories A and B");
            pos[npos++] = f;
            continue;
        }
        if (!strcmp(f, "--w2")) {
            w2 = 1;
            continue;
        }
        int a = no_cmd_arg_common(f, v, &json, &quiet);
        if (a == NO_CMD_ARG_HELP) {
            fputs(no_cmd_cot_distance_help, stdout);
            return NO_EXIT_PASS;
        }
        if (a == NO_CMD_ARG_SWITCH)
            continue;
        if (a != NO_CMD_ARG_VALUE)
            return a;
        if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--out")) {
            out = v;
        } else {
            snprintf(err, sizeof err, "unknown option '%.60s' for cot-distance", f);
            return no_cmd_usage_error(err);
        }
        i++;
    }
    if (npos != 2)
        return no_cmd_usage_error("cot-distance needs two directories A and B");
    measure_files fa, fb;
    no_cot_measure ma, mb;
    if (read_measure(pos[0], &fa, &ma, err, sizeof err))
        return no_report_error(err);
    if (read_measure(pos[1], &fb, &mb, err, sizeof err)) {
        files_free(&fa);
        return no_report_error(err);
    }
    int rc = 0;
    if (ma.L != mb.L || ma.M != mb.M || ma.D != mb.D) {
        snprintf(err, sizeof err, "the measures differ: A has L M D = %zu %zu %zu, B has "
                                  "%zu %zu %zu (COT needs the same L and M)",
                 ma.L, ma.M, ma.D, mb.L, mb.M, mb.D);
        rc = -1;
    }
    size_t n = w2 ? ma.L * ma.M : ma.M;
    /* L M <= NO_MAX_ELEMENTS (the .npy reader's bound): n cannot overflow */
    if (!rc && n > COT_N_MAX) {
        snprintf(err, sizeof err, "%zu points per assignment%s: above the limit %d (the "
                                  "solver's time grows as n^3)",
                 n, w2 ? " (L M, --w2)" : "", COT_N_MAX);
        rc = -1;
    }
    size_t need = rc ? 0 : no_cot_memory(ma.L, ma.M, ma.D, w2, prec), lim = memory_limit();
    if (!rc && need > lim) {
        snprintf(err, sizeof err, "needs about %.3g GiB of memory (M = %zu%s), more than half "
                                  "of this machine's %.3g GiB",
                 (double)need / 1073741824.0, ma.M, w2 ? ", --w2" : "",
                 2.0 * (double)lim / 1073741824.0);
        rc = -1;
    }
    if (!rc && out && no_path_mkdirs(out, err, sizeof err))
        rc = -1;
    no_cot_result r;
    memset(&r, 0, sizeof r);
    if (!rc)
        rc = no_cot_distance(&ma, &mb, prec, w2, &r, err, sizeof err);
    files_free(&fa);
    files_free(&fb);
    if (rc)
        return no_report_error(err);
    if (out && write_out(out, &r, err, sizeof err)) {
        no_cot_result_clear(&r);
        return no_report_error(err);
    }
    int ex = exit_of(&r);
    if (json)
        print_json(pos[0], pos[1], &r);
    else
        print_text(&r, quiet);
    no_cot_result_clear(&r);
    return ex;
}
