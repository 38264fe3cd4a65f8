/* cmd_potential.c - `nodeoracle potential`: the mean-field potential Psi_k of an mlp
 * layer on a 1-D or 2-D slice of neuron space (SPEC 4; ref/ref_potential.h,
 * fast/fast_potential.h, proofs-notes/mean-field-potential.md, docs/potential.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "cmd.h"
#include "fast.h"
#include "fast_potential.h"
#include "path.h"
#include "plot.h"
#include "ref.h"
#include "ref_potential.h"
#include "report.h"
#include "spec_args.h"
#include "tolerance.h"

const char no_cmd_potential_help[] =
    "NAME\n"
    "  nodeoracle potential - the mean-field potential Psi_k of an mlp layer on a slice of\n"
    "  neuron space, with the layer's particles\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle potential [--layer K] [--particle J] [--slice a0,u1] [--range R]\n"
    "                       [--points P] [--impl fast|ref] [--prec BITS] [--out DIR]\n"
    "                       [--quiet] [--json] [PROBLEM OPTIONS]\n"
    "\n"
    "DESCRIPTION\n"
    "  A neuron is theta = (a, u, b), a and u in R^D, b real. For layer K of an mlp\n"
    "  problem the first variation of the loss in the layer's particle measure is\n"
    "\n"
    "    Psi_K(theta) = (1/h) sum_i sum_{substeps, stages} <lam, a sigma(u . Y + b)>,\n"
    "\n"
    "  Y the stage points and lam the stage cotangents of the discrete adjoint (Euler,\n"
    "  one substep: sum_i <p_{K+1}^i, a sigma(u . z_K^i + b)>). Its gradient at a\n"
    "  particle is the metric gradient (M/h) dF/dtheta_Kj, so -grad Psi_K is the\n"
    "  particle's velocity in the COT gradient flow (proofs-notes/mean-field-potential.md).\n"
    "\n"
    "  Psi_K is evaluated on a grid of P (1-D) or P x P (2-D) points: the coordinates\n"
    "  named by --slice vary over [c - R, c + R] around particle J's, all others are\n"
    "  particle J's. The grid is computed by --impl; the reference (MPFR, --prec bits)\n"
    "  and the double implementation are compared at the grid's centre and corners\n"
    "  against the double tolerance of tolerance.md (that of the metric gradient), and\n"
    "  the gradient at the centre (particle J) is compared with the run's mgrad.\n"
    "\n"
    "OPTIONS\n"
    "  --layer K      the layer, 0..L-1 (default 0)\n"
    "  --particle J   the particle at the slice's centre, 0..M-1 (default 0)\n"
    "  --slice S      one or two distinct coordinates, comma separated: aI or uI\n"
    "                 (I = 0..D-1) or b (default a0,u0)\n"
    "  --range R      half-width of the slice in each coordinate, in (0, 1e6] (default 2)\n"
    "  --points P     grid points per coordinate: 2..100001 for one coordinate, 2..1001\n"
    "                 for two (default 41)\n"
    "  --impl I       the grid's implementation: fast (default, double) or ref (MPFR)\n"
    "  --prec BITS    bits of the reference, 53..43691 (default 128)\n"
    "  --out DIR      write potential.csv (the grid: coordinates, psi, the gradient's\n"
    "                 components along the slice), particles.csv (the layer's particles\n"
    "                 projected on the slice, with their own Psi) and, when gnuplot is\n"
    "                 installed, potential.png (a heat map, or a curve for one\n"
    "                 coordinate, with the particles marked) into DIR, created if\n"
    "                 missing; each file written under a temporary name and renamed\n"
    "  --quiet        only the verdict line\n"
    "  --json         one JSON object on stdout (kind \"potential\"); on a usage or input\n"
    "                 error the error object\n"
    "  PROBLEM OPTIONS  the problem options below; the family is mlp (default M 8) and the\n"
    "                 adjoint discrete\n"
    "\n"
    "EXIT STATUS\n"
    "  0 done, ref and fast agree within the tolerance; 1 they do not; 2 usage or input\n"
    "  error (one line on stderr).\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle potential --M 16 --layer 3 --slice a0,a1\n"
    "  nodeoracle potential --scheme rk4 --m 2 --slice b --points 201 --out pot\n"
    "  nodeoracle potential --activation relu --slice u0,b --json\n"
    "\n";

#define MAX_AXES 2

typedef struct {
    no_problem p;
    size_t layer, particle, points, naxes, axis[MAX_AXES];
    char axis_name[MAX_AXES][24];
    double range, *centre; /* 2D + 1: particle J */
    int impl_ref;
    int have_rm, have_rr; /* what teardown must clear */
    long prec;
    fast_potential fp;
    ref_model rm;
    ref_result rr;
    ref_potential rp;
    no_arrays fo, rd;
    mpfr_t *th, *g, psi; /* 2D + 1 each, at prec */
} pot_ctx;

/* Coordinate name -> index in theta = (a, u, b): "a3" -> 3, "u0" -> D, "b" -> 2D. */
static int parse_axis(const char *tok, size_t D, size_t *out)
{
    if (!strcmp(tok, "b")) {
        *out = 2 * D;
        return 0;
    }
    if ((tok[0] != 'a' && tok[0] != 'u') || tok[1] < '0' || tok[1] > '9')
        return -1;
    char *end;
    unsigned long i = strtoul(tok + 1, &end, 10);
    if (*end || i >= D)
        return -1;
    *out = (tok[0] == 'u' ? D : 0) + (size_t)i;
    return 0;
}

static int parse_slice(pot_ctx *c, const char *s, char *err, size_t len)
{
    size_t D = c->p.spec.D;
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return no_errorf(err, len, "--slice: too long");
    strcpy(buf, s);
    c->naxes = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (c->naxes == MAX_AXES)
            return no_errorf(err, len, "--slice: at most two coordinates, got '%.40s'", s);
        if (parse_axis(tok, D, &c->axis[c->naxes]))
            return no_errorf(err, len, "--slice: '%.20s' is not a0..a%zu, u0..u%zu or b", tok,
                             D - 1, D - 1);
        snprintf(c->axis_name[c->naxes], sizeof c->axis_name[0], "%s", tok);
        c->naxes++;
    }
    if (!c->naxes)
        return no_errorf(err, len, "--slice: no coordinate in '%.40s'", s);
    if (c->naxes == 2 && c->axis[0] == c->axis[1])
        return no_errorf(err, len, "--slice: the two coordinates are the same");
    return 0;
}

/* Psi and grad Psi at theta by the chosen implementation (ref: rounded to double). */
static double eval_impl(pot_ctx *c, int ref, const double *theta, double *grad)
{
    size_t P = 2 * c->p.spec.D + 1;
    if (!ref)
        return fast_potential_eval(&c->fp, theta, grad);
    for (size_t i = 0; i < P; i++)
        mpfr_set_d(c->th[i], theta[i], MPFR_RNDN);
    ref_potential_eval(&c->rp, c->th, c->psi, c->g);
    for (size_t i = 0; i < P; i++)
        grad[i] = mpfr_get_d(c->g[i], MPFR_RNDN);
    return mpfr_get_d(c->psi, MPFR_RNDN);
}

static double coord(const pot_ctx *c, int ax, size_t i)
{
    double t = c->points > 1 ? -1 + 2 * (double)i / (double)(c->points - 1) : 0;
    return c->centre[c->axis[ax]] + c->range * t;
}

typedef struct {
    size_t n;     /* grid points */
    double *psi;  /* n */
    double *g;    /* n x naxes: gradient components along the slice */
    double min, max, mean;
    size_t imin, imax;
    double check_err, check_tol, centre_err;
    size_t check_points;
    double *ppsi; /* M: Psi at each particle of the layer */
} pot_grid;

/* grid index -> coordinates (axis 0 varies slowest) */
static void grid_point(const pot_ctx *c, size_t q, double *theta)
{
    memcpy(theta, c->centre, (2 * c->p.spec.D + 1) * sizeof(double));
    if (c->naxes == 1) {
        theta[c->axis[0]] = coord(c, 0, q);
    } else {
        theta[c->axis[0]] = coord(c, 0, q / c->points);
        theta[c->axis[1]] = coord(c, 1, q % c->points);
    }
}

static int setup(pot_ctx *c, char *err, size_t len)
{
    const no_spec *s = &c->p.spec;
    size_t D = s->D, P = 2 * D + 1;
    if (fast_run(&c->p, &c->fo, err, len))
        return -1;
    if (fast_potential_init(&c->fp, &c->p, &c->fo, c->layer, err, len))
        return -1;
    if (ref_model_init(&c->rm, &c->p, (mpfr_prec_t)c->prec, err, len))
        return -1;
    c->have_rm = 1;
    if (ref_run(&c->rm, &c->rr, err, len))
        return -1;
    c->have_rr = 1;
    if (ref_result_to_double(&c->rr, &c->rd))
        return no_errorf(err, len, "potential: out of memory");
    if (ref_potential_init(&c->rp, &c->rm, &c->rr, c->layer, err, len))
        return -1;
    c->th = malloc(P * sizeof(mpfr_t));
    c->g = malloc(P * sizeof(mpfr_t));
    c->centre = malloc(P * sizeof(double));
    if (!c->th || !c->g || !c->centre)
        return no_errorf(err, len, "potential: out of memory");
    mpfr_init2(c->psi, (mpfr_prec_t)c->prec);
    for (size_t i = 0; i < P; i++)
        mpfr_inits2((mpfr_prec_t)c->prec, c->th[i], c->g[i], (mpfr_ptr)0);
    size_t M = s->M, k = c->layer, j = c->particle;
    memcpy(c->centre, c->p.a + (k * M + j) * D, D * sizeof(double));
    memcpy(c->centre + D, c->p.u + (k * M + j) * D, D * sizeof(double));
    c->centre[2 * D] = c->p.b[k * M + j];
    return 0;
}

static void teardown(pot_ctx *c)
{
    size_t P = 2 * c->p.spec.D + 1;
    fast_potential_clear(&c->fp);
    if (c->th) {
        for (size_t i = 0; i < P; i++)
            mpfr_clears(c->th[i], c->g[i], (mpfr_ptr)0);
        mpfr_clear(c->psi);
    }
    free(c->th);
    free(c->g);
    free(c->centre);
    ref_potential_clear(&c->rp);
    if (c->have_rr)
        ref_result_clear(&c->rr);
    if (c->have_rm)
        ref_model_clear(&c->rm);
    no_arrays_free(&c->fo);
    no_arrays_free(&c->rd);
    no_problem_free(&c->p);
}

static int compute(pot_ctx *c, pot_grid *r, char *err, size_t len)
{
    const no_spec *s = &c->p.spec;
    size_t D = s->D, P = 2 * D + 1, na = c->naxes;
    memset(r, 0, sizeof *r);
    r->n = na == 1 ? c->points : c->points * c->points;
    r->psi = malloc(r->n * sizeof(double));
    r->g = malloc(r->n * na * sizeof(double));
    r->ppsi = malloc(s->M * sizeof(double));
    double *theta = malloc(P * sizeof(double)), *grad = malloc(P * sizeof(double));
    double *g2 = malloc(P * sizeof(double));
    if (!r->psi || !r->g || !r->ppsi || !theta || !grad || !g2) {
        free(theta);
        free(grad);
        free(g2);
        return no_errorf(err, len, "potential: out of memory");
    }
    double sum = 0;
    for (size_t q = 0; q < r->n; q++) {
        grid_point(c, q, theta);
        double v = eval_impl(c, c->impl_ref, theta, grad);
        r->psi[q] = v;
        for (size_t a = 0; a < na; a++)
            r->g[q * na + a] = grad[c->axis[a]];
        sum += v;
        if (q == 0 || v < r->min)
            r->min = v, r->imin = q;
        if (q == 0 || v > r->max)
            r->max = v, r->imax = q;
    }
    r->mean = sum / (double)r->n;
    /* ref against fast at the centre and the corners (1-D: the ends) */
    size_t Pp = c->points, corners[5] = {0, Pp - 1, 0, 0, 0}, nc = 2;
    if (na == 2) {
        corners[1] = Pp - 1;
        corners[2] = (Pp - 1) * Pp;
        corners[3] = Pp * Pp - 1;
        nc = 4;
    }
    double diff = 0, scale = 0;
    for (size_t i = 0; i <= nc; i++) {
        if (i == nc)
            memcpy(theta, c->centre, P * sizeof(double));
        else
            grid_point(c, corners[i], theta);
        double vf = eval_impl(c, 0, theta, grad), vr = eval_impl(c, 1, theta, g2);
        diff = fmax(diff, fabs(vf - vr));
        scale = fmax(scale, fabs(vr));
        for (size_t e = 0; e < P; e++) {
            diff = fmax(diff, fabs(grad[e] - g2[e]));
            scale = fmax(scale, fabs(g2[e]));
        }
    }
    r->check_points = nc + 1;
    r->check_err = scale > 0 ? diff / scale : diff;
    no_tol_model tm;
    if (no_tol_model_init(&tm, &c->p, &c->rd, ldexp(1, -53))) {
        free(theta);
        free(grad);
        free(g2);
        return no_errorf(err, len, "potential: tolerance model failed");
    }
    r->check_tol = fmax(no_tol_for(&tm, "mgrad_a"),
                        fmax(no_tol_for(&tm, "mgrad_u"), no_tol_for(&tm, "mgrad_b")));
    /* the centre is particle J: its velocity is -mgrad of the chosen run */
    const no_arrays *run = c->impl_ref ? &c->rd : &c->fo;
    const char *names[3] = {"mgrad_a", "mgrad_u", "mgrad_b"};
    eval_impl(c, c->impl_ref, c->centre, grad);
    diff = scale = 0;
    size_t q = c->layer * s->M + c->particle;
    for (int a = 0; a < 3; a++) {
        const no_array *m = no_arrays_get(run, names[a]);
        size_t w = a == 2 ? 1 : D;
        for (size_t e = 0; e < w; e++) {
            double x = m->v[q * w + e];
            diff = fmax(diff, fabs(x - grad[(size_t)a * D + e]));
            scale = fmax(scale, fabs(x));
        }
    }
    r->centre_err = scale > 0 ? diff / scale : diff;
    for (size_t j = 0; j < s->M; j++) {
        size_t k = c->layer;
        memcpy(theta, c->p.a + (k * s->M + j) * D, D * sizeof(double));
        memcpy(theta + D, c->p.u + (k * s->M + j) * D, D * sizeof(double));
        theta[2 * D] = c->p.b[k * s->M + j];
        r->ppsi[j] = eval_impl(c, c->impl_ref, theta, grad);
    }
    free(theta);
    free(grad);
    free(g2);
    return 0;
}

static void grid_clear(pot_grid *r)
{
    free(r->psi);
    free(r->g);
    free(r->ppsi);
}

static double particle_coord(const pot_ctx *c, size_t j, size_t idx)
{
    size_t D = c->p.spec.D, M = c->p.spec.M, q = c->layer * M + j;
    return idx < D ? c->p.a[q * D + idx] : idx < 2 * D ? c->p.u[q * D + idx - D] : c->p.b[q];
}

static int write_csv(const char *dir, const pot_ctx *c, const pot_grid *r, char *err,
                     size_t len)
{
    size_t na = c->naxes;
    no_atomic w;
    if (no_atomic_open_in(&w, dir, "potential.csv", err, len))
        return -1;
    fprintf(w.f, "%s%s%s,psi,d_%s%s%s\n", c->axis_name[0], na == 2 ? "," : "",
            na == 2 ? c->axis_name[1] : "", c->axis_name[0], na == 2 ? ",d_" : "",
            na == 2 ? c->axis_name[1] : "");
    double theta[2];
    for (size_t q = 0; q < r->n; q++) {
        theta[0] = coord(c, 0, na == 1 ? q : q / c->points);
        fprintf(w.f, "%.17g", theta[0]);
        if (na == 2)
            fprintf(w.f, ",%.17g", coord(c, 1, q % c->points));
        fprintf(w.f, ",%.17g", r->psi[q]);
        for (size_t a = 0; a < na; a++)
            fprintf(w.f, ",%.17g", r->g[q * na + a]);
        fputc('\n', w.f);
    }
    if (no_atomic_commit(&w, err, len))
        return -1;
    if (no_atomic_open_in(&w, dir, "particles.csv", err, len))
        return -1;
    fprintf(w.f, "j,%s%s%s,psi\n", c->axis_name[0], na == 2 ? "," : "",
            na == 2 ? c->axis_name[1] : "");
    for (size_t j = 0; j < c->p.spec.M; j++) {
        fprintf(w.f, "%zu,%.17g", j, particle_coord(c, j, c->axis[0]));
        if (na == 2)
            fprintf(w.f, ",%.17g", particle_coord(c, j, c->axis[1]));
        fprintf(w.f, ",%.17g\n", r->ppsi[j]);
    }
    return no_atomic_commit(&w, err, len);
}

typedef struct {
    const pot_ctx *c;
    char particles[NO_PATH_MAX];
} plot_ctx;

/* potential.png: a heat map of Psi over the 2-D slice with the particles'
 * projections, or the curve over a 1-D slice with each particle at its own Psi. */
static void plot_body(FILE *g, const char *csv, const void *ctx)
{
    const plot_ctx *pc = ctx;
    const pot_ctx *c = pc->c;
    fprintf(g, "set title 'Psi_%zu on the slice through particle %zu'\nset xlabel '%s'\n",
            c->layer, c->particle, c->axis_name[0]);
    if (c->naxes == 2) {
        fprintf(g, "set ylabel '%s'\nset cblabel 'Psi'\nset palette rgb 33,13,10\n"
                   "set xrange [%.17g:%.17g]\nset yrange [%.17g:%.17g]\n"
                   "plot '%s' skip 1 using 1:2:3 with image notitle, "
                   "'%s' skip 1 using 2:3 with points pt 7 ps 1.2 lc rgb 'black' "
                   "title 'particles (projected)'\n",
                c->axis_name[1], coord(c, 0, 0), coord(c, 0, c->points - 1), coord(c, 1, 0),
                coord(c, 1, c->points - 1), csv, pc->particles);
    } else {
        fprintf(g, "set ylabel 'Psi'\nset grid\n"
                   "plot '%s' skip 1 using 1:2 with lines lw 2 title 'Psi on the slice', "
                   "'%s' skip 1 using 2:3 with points pt 7 title 'particles (own Psi)'\n",
                csv, pc->particles);
    }
}

static int write_png(const char *dir, const pot_ctx *c, char *err, size_t len)
{
    plot_ctx pc;
    pc.c = c;
    if (strchr(dir, '"') || strchr(dir, '\'') ||
        no_path_join(pc.particles, sizeof pc.particles, dir, "particles.csv", err, len))
        return 0;
    return no_plot_png(dir, "potential.csv", "potential.png", plot_body, &pc, err, len);
}

static json_t *coords_json(const pot_ctx *c, size_t q)
{
    json_t *a = json_array();
    double theta[MAX_AXES];
    theta[0] = coord(c, 0, c->naxes == 1 ? q : q / c->points);
    if (c->naxes == 2)
        theta[1] = coord(c, 1, q % c->points);
    for (size_t i = 0; i < c->naxes; i++)
        json_array_append_new(a, no_report_num(theta[i]));
    return a;
}

static void print_json(const pot_ctx *c, const pot_grid *r, const char *desc, int within)
{
    json_t *root = no_report_json_new("potential", "potential");
    json_object_set_new(root, "description", json_string(desc));
    json_object_set_new(root, "impl", json_string(c->impl_ref ? "ref" : "fast"));
    json_object_set_new(root, "prec", json_integer(c->prec));
    json_object_set_new(root, "layer", json_integer((json_int_t)c->layer));
    json_object_set_new(root, "particle", json_integer((json_int_t)c->particle));
    json_t *sl = json_array(), *ce = json_array();
    for (size_t i = 0; i < c->naxes; i++) {
        json_array_append_new(sl, json_string(c->axis_name[i]));
        json_array_append_new(ce, no_report_num(c->centre[c->axis[i]]));
    }
    json_object_set_new(root, "slice", sl);
    json_object_set_new(root, "centre", ce);
    json_object_set_new(root, "range", no_report_num(c->range));
    json_object_set_new(root, "points", json_integer((json_int_t)c->points));
    json_t *gr = json_object();
    json_object_set_new(gr, "count", json_integer((json_int_t)r->n));
    json_object_set_new(gr, "min", no_report_num(r->min));
    json_object_set_new(gr, "argmin", coords_json(c, r->imin));
    json_object_set_new(gr, "max", no_report_num(r->max));
    json_object_set_new(gr, "argmax", coords_json(c, r->imax));
    json_object_set_new(gr, "mean", no_report_num(r->mean));
    json_object_set_new(root, "grid", gr);
    json_t *ck = json_object();
    json_object_set_new(ck, "points", json_integer((json_int_t)r->check_points));
    json_object_set_new(ck, "rel_err", no_report_num(r->check_err));
    json_object_set_new(ck, "tolerance", no_report_num(r->check_tol));
    json_object_set_new(ck, "within", json_boolean(within));
    json_object_set_new(root, "check", ck);
    json_object_set_new(root, "centre_velocity_rel_err", no_report_num(r->centre_err));
    json_t *pp = json_array();
    for (size_t j = 0; j < c->p.spec.M; j++)
        json_array_append_new(pp, no_report_num(r->ppsi[j]));
    json_object_set_new(root, "particle_psi", pp);
    json_object_set_new(root, "exit_status",
                        json_integer(within ? NO_EXIT_PASS : NO_EXIT_MISMATCH));
    no_report_json_print(root);
}

int no_cmd_potential(int argc, char **argv)
{
    pot_ctx c;
    memset(&c, 0, sizeof c);
    no_spec spec;
    no_spec_default(&spec);
    spec.family = NO_FAMILY_MLP;
    spec.M = 8;
    c.points = 41;
    c.range = 2;
    c.prec = 128;
    const char *out = NULL, *slice = "a0,u0";
    int json = 0, quiet = 0;
    char err[512];
    no_cmd_json_prescan(argc, argv, "potential", NULL);
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int a = no_cmd_arg_common(f, v, &json, &quiet);
        if (a == NO_CMD_ARG_HELP) {
            fputs(no_cmd_potential_help, stdout);
            fputs(no_spec_args_help, stdout);
            return NO_EXIT_PASS;
        }
        if (a == NO_CMD_ARG_SWITCH)
            continue;
        if (a != NO_CMD_ARG_VALUE)
            return a;
        int bad = 0;
        if (!strcmp(f, "--layer"))
            bad = no_cmd_parse_count(f, v, 0, NO_MAX_DIM, &c.layer, err, sizeof err);
        else if (!strcmp(f, "--particle"))
            bad = no_cmd_parse_count(f, v, 0, NO_MAX_DIM, &c.particle, err, sizeof err);
        else if (!strcmp(f, "--points"))
            bad = no_cmd_parse_count(f, v, 2, 100001, &c.points, err, sizeof err);
        else if (!strcmp(f, "--range"))
            bad = no_cmd_parse_real(f, v, 0, 1e6, 1, &c.range, err, sizeof err);
        else if (!strcmp(f, "--slice"))
            slice = v;
        else if (!strcmp(f, "--impl"))
            bad = no_cmd_parse_impl(v, &c.impl_ref, err, sizeof err);
        else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &c.prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--out")) {
            out = v;
        } else {
            bad = no_spec_arg_or_unknown(&spec, f, v, err, sizeof err);
        }
        if (bad)
            return no_cmd_usage_error(err);
        i++;
    }
    if (spec.family != NO_FAMILY_MLP) {
        snprintf(err, sizeof err, "potential: the family must be mlp, not %s",
                 no_family_name(spec.family));
        return no_cmd_usage_error(err);
    }
    if (spec.adjoint != NO_ADJOINT_DISCRETE)
        return no_cmd_usage_error("potential: --adjoint must be discrete (the first variation "
                                  "of the computed loss)");
    if (no_spec_validate(&spec, 0, err, sizeof err))
        return no_cmd_usage_error(err);
    if (c.layer >= spec.L) {
        snprintf(err, sizeof err, "--layer: %zu is not a layer 0..%zu", c.layer, spec.L - 1);
        return no_cmd_usage_error(err);
    }
    if (c.particle >= spec.M) {
        snprintf(err, sizeof err, "--particle: %zu is not a particle 0..%zu", c.particle,
                 spec.M - 1);
        return no_cmd_usage_error(err);
    }
    c.p.spec = spec;
    if (parse_slice(&c, slice, err, sizeof err))
        return no_cmd_usage_error(err);
    if (c.naxes == 2 && c.points > 1001)
        return no_cmd_usage_error("--points: at most 1001 for a two-coordinate slice");
    if (no_problem_generate(&c.p, &spec, err, sizeof err))
        return no_cmd_usage_error(err);
    if (out && no_path_mkdirs(out, err, sizeof err)) {
        teardown(&c);
        return no_report_error(err);
    }
    pot_grid r;
    memset(&r, 0, sizeof r);
    if (setup(&c, err, sizeof err) || compute(&c, &r, err, sizeof err) ||
        (out && (write_csv(out, &c, &r, err, sizeof err) || write_png(out, &c, err, sizeof err)))) {
        grid_clear(&r);
        teardown(&c);
        return no_report_error(err);
    }
    int within = r.check_err <= r.check_tol;
    char desc[256];
    no_spec_describe(&spec, desc, sizeof desc);
    if (json) {
        print_json(&c, &r, desc, within);
    } else {
        if (!quiet) {
            printf("potential: %s\n", desc);
            printf("  Psi_%zu on %s around particle %zu, range +-%g, %zu point%s per coordinate "
                   "(%s)\n",
                   c.layer, slice, c.particle, c.range, c.points, c.points > 1 ? "s" : "",
                   c.impl_ref ? "ref" : "fast");
            printf("  min %.15e, max %.15e, mean %.15e over %zu points\n", r.min, r.max, r.mean,
                   r.n);
            printf("  at particle %zu: |grad Psi - mgrad| / |mgrad| = %.3e (the COT velocity is "
                   "-grad Psi)\n",
                   c.particle, r.centre_err);
        }
        printf("ref vs fast at %zu points: relative %.3e, tolerance %.3e: %s\n", r.check_points,
               r.check_err, r.check_tol, within ? "agree" : "DISAGREE");
    }
    grid_clear(&r);
    teardown(&c);
    return within ? NO_EXIT_PASS : NO_EXIT_MISMATCH;
}
