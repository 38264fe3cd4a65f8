/* nm_run.c - nodeoracle-mpi run: one problem's forward pass and gradients
 * split across the ranks by data points (docs/mpi.md, "One problem across
 * ranks").
 *
 * fast: the points are cut into fast_block_count() blocks and every sum over
 * them (the loss, each gradient entry) is taken in one fixed binary tree over
 * the blocks (fast/fast_ws.h).  Each rank computes one node of that tree
 * (fast_part_of, fast_run_part); rank 0 gathers the rows of the per-point
 * outputs and adds the ranks' sums in the tree's order
 * (fast_part_combine): the result has the bits of one process.
 * ref: each rank computes its points and the EXACT sums of their
 * contributions (ref_run_part); rank 0 rounds the sum of those exact sums
 * once (ref_part_finish), which is ref_run's correctly rounded sum: the same
 * bits again (proofs-notes/ref-split.md).
 *
 * Output (rank 0, into --out, created; files under temporary names then
 * renamed): every output array as NAME.npy (for ref rounded to double), and
 * for ref also ref_values.txt, every value exactly (%Ra), so that runs on
 * different numbers of ranks can be compared bit for bit. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpfr.h>

#include "atomic.h"
#include "cmd.h"
#include "fast.h"
#include "nm.h"
#include "npy.h"
#include "path.h"
#include "problem_dir.h"
#include "ref.h"
#include "report.h"
#include "resources.h"

typedef struct {
    const char *problem, *out;
    int impl_ref;
    long prec;
} run_opts;

static int parse(int argc, char **argv, run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->prec = 128;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--problem") && i + 1 < argc) {
            o->problem = argv[++i];
        } else if (!strcmp(a, "--out") && i + 1 < argc) {
            o->out = argv[++i];
        } else if (!strcmp(a, "--impl") && i + 1 < argc) {
            char err[160];
            if (no_cmd_parse_impl(argv[++i], &o->impl_ref, err, sizeof err))
                return no_cmd_usage_error(err);
        } else if (!strcmp(a, "--prec") && i + 1 < argc) {
            if (no_cmd_parse_prec(argv[++i], &o->prec))
                return no_cmd_prec_error(argv[i]);
        } else {
            char err[160];
            snprintf(err, sizeof err, "run: unknown or incomplete option '%.60s'", a);
            return no_cmd_usage_error(err);
        }
    }
    if (!o->problem || !o->out)
        return no_cmd_usage_error("run needs --problem DIR and --out DIR");
    return NM_GO;
}

/* The per-point arrays and how many layers of N rows each has. */
static const char *const row_arrays[] = {"states", "output", "adjoint"};

static size_t row_layers(const no_spec *s, int a)
{
    return a == 1 ? 1 : s->L + 1;
}

/* Doubles per point of row array a (per layer). */
static size_t row_width(const no_spec *s, int a)
{
    return a == 1 ? s->d_out : s->D;
}

/* This rank's rows of every per-point array and its sums, as doubles:
 * [i0, i1, sumsq, rows of states/output/adjoint layer by layer, the grad_*
 * arrays whole]. */
static double *pack_fast(const no_spec *s, no_arrays *out, size_t i0, size_t i1, double sumsq,
                         size_t *count)
{
    size_t n = 3;
    for (int a = 0; a < 3; a++)
        n += row_layers(s, a) * (i1 - i0) * row_width(s, a);
    for (int i = 0; i < out->count; i++)
        if (!strncmp(out->a[i].name, "grad_", 5))
            n += out->a[i].n;
    double *buf = malloc(n * sizeof *buf), *q = buf;
    if (!buf)
        return NULL;
    *q++ = (double)i0;
    *q++ = (double)i1;
    *q++ = sumsq;
    for (int a = 0; a < 3; a++) {
        const no_array *arr = no_arrays_find(out, row_arrays[a]);
        size_t w = row_width(s, a);
        for (size_t k = 0; k < row_layers(s, a); k++) {
            memcpy(q, arr->v + (k * s->N + i0) * w, (i1 - i0) * w * sizeof *q);
            q += (i1 - i0) * w;
        }
    }
    for (int i = 0; i < out->count; i++)
        if (!strncmp(out->a[i].name, "grad_", 5)) {
            memcpy(q, out->a[i].v, out->a[i].n * sizeof *q);
            q += out->a[i].n;
        }
    *count = n;
    return buf;
}

/* Rank 0: the rows of one rank's pack into out; its sums into sums[r] (the
 * grad_* arrays concatenated) and sumsq[r]. */
static void unpack_fast(const no_spec *s, no_arrays *out, const double *q, double *sums,
                        double *sumsq)
{
    size_t i0 = (size_t)q[0], i1 = (size_t)q[1];
    *sumsq = q[2];
    q += 3;
    for (int a = 0; a < 3; a++) {
        no_array *arr = no_arrays_find(out, row_arrays[a]);
        size_t w = row_width(s, a);
        for (size_t k = 0; k < row_layers(s, a); k++) {
            memcpy(arr->v + (k * s->N + i0) * w, q, (i1 - i0) * w * sizeof *q);
            q += (i1 - i0) * w;
        }
    }
    size_t at = 0;
    for (int i = 0; i < out->count; i++)
        if (!strncmp(out->a[i].name, "grad_", 5)) {
            memcpy(sums + at, q, out->a[i].n * sizeof *q);
            q += out->a[i].n;
            at += out->a[i].n;
        }
}

/* Every array of out as DIR/NAME.npy (each written under a temporary name
 * and renamed by no_npy_write). */
static int write_arrays(const char *dir, const no_arrays *out, char *err, size_t len)
{
    if (no_path_mkdirs(dir, err, len))
        return -1;
    for (int i = 0; i < out->count; i++) {
        char file[NO_NAME_LEN + 8], path[NO_PATH_MAX];
        snprintf(file, sizeof file, "%s.npy", out->a[i].name);
        if (no_path_join(path, sizeof path, dir, file, err, len) ||
            no_npy_write(path, &out->a[i], err, len))
            return -1;
    }
    return 0;
}

/* The parts to rank 0 through nm_run (mpi/nm.c: chunked, non-blocking
 * sends): one item per rank, owned by that rank. */
static void gather_parts(nm_work_fn give, nm_take_fn take, void *ctx)
{
    int *owner = malloc((size_t)nm_size * sizeof *owner);
    if (!owner)
        nm_die("out of memory");
    for (int r = 0; r < nm_size; r++)
        owner[r] = r;
    nm_run(nm_size, owner, give, take, ctx);
    free(owner);
}

/* fast: a rank's part is its pack (pack_fast); rank 0 unpacks part r into
 * the rows of out and sums[r], sq[r]. */
typedef struct {
    const no_spec *s;
    no_arrays *out;
    char *mine; /* this rank's pack, handed to nm_run by fast_give */
    double *sums, *sq;
    size_t P;
    size_t bytes;
} fast_gather;

static int fast_give(void *ctx, int r, nm_blob *b)
{
    fast_gather *g = ctx;
    (void)r;
    b->data = g->mine;
    b->len = g->bytes;
    g->mine = NULL;
    return 0;
}

static void fast_take(void *ctx, int r, nm_blob *b)
{
    fast_gather *g = ctx;
    if (b->len < 3 * sizeof(double) || b->len % sizeof(double))
        nm_die("a malformed part arrived");
    unpack_fast(g->s, g->out, (const double *)b->data, g->sums + (size_t)r * g->P, &g->sq[r]);
}

static int run_fast(const run_opts *o, const no_problem *p)
{
    const no_spec *s = &p->spec;
    char err[512];
    size_t nb = fast_block_count(s), b0, b1, i0, i1;
    fast_part_of(nb, (size_t)nm_size, (size_t)nm_rank, &b0, &b1);
    fast_part_points(s, b0, b1, &i0, &i1);
    no_arrays out = {0};
    fast_ws *ws = fast_ws_alloc(s);
    double sumsq = 0;
    int status = NM_GO;
    /* A failure is printed once, by rank 0 (nm_agree). */
    nm_quiet_begin();
    if (!ws || no_outputs_init(&out, s))
        status = no_report_error("out of memory for the fast run");
    else if (b1 > b0 && fast_run_part(ws, p, &out, b0, b1, &sumsq, err, sizeof err))
        status = no_report_error(err);
    nm_quiet_end();
    fast_ws_free(ws);
    status = nm_agree(status);
    if (status != NM_GO) {
        no_arrays_free(&out);
        return status;
    }
    size_t count = 0;
    fast_gather g = {s, &out, NULL, NULL, NULL, 0, 0};
    g.mine = (char *)pack_fast(s, &out, i0, i1, sumsq, &count);
    g.bytes = count * sizeof(double);
    if (!g.mine)
        nm_die("out of memory packing the part");
    /* Rank 0: room for everyone's sums, filled as the parts are taken. */
    size_t P = 0;
    for (int i = 0; i < out.count; i++)
        if (!strncmp(out.a[i].name, "grad_", 5))
            P += out.a[i].n;
    double *sums = NULL, *sq = NULL, **x = NULL;
    if (nm_rank == 0) {
        sums = malloc((size_t)nm_size * (P ? P : 1) * sizeof *sums);
        sq = malloc((size_t)nm_size * sizeof *sq);
        x = malloc((size_t)nm_size * sizeof *x);
        if (!sums || !sq || !x)
            nm_die("out of memory gathering the parts");
        g.sums = sums, g.sq = sq, g.P = P;
    }
    gather_parts(fast_give, fast_take, &g);
    free(g.mine);
    if (nm_rank != 0) {
        no_arrays_free(&out);
        return nm_bcast_int(0);
    }
    for (int r = 0; r < nm_size; r++)
        x[r] = sums + (size_t)r * P;
    fast_part_combine(nb, (size_t)nm_size, x, P);
    size_t at = 0;
    for (int i = 0; i < out.count; i++)
        if (!strncmp(out.a[i].name, "grad_", 5)) {
            memcpy(out.a[i].v, sums + at, out.a[i].n * sizeof(double));
            at += out.a[i].n;
        }
    for (int r = 0; r < nm_size; r++)
        x[r] = &sq[r];
    fast_part_combine(nb, (size_t)nm_size, x, 1);
    fast_run_finish(s, &out, sq[0]);
    status = NO_EXIT_PASS;
    if (write_arrays(o->out, &out, err, sizeof err))
        status = no_report_error(err);
    free(sums);
    free(sq);
    free(x);
    no_arrays_free(&out);
    return nm_bcast_int(status);
}

/* Every value of res exactly, one line each: NAME INDEX %Ra. */
static int write_ref_values(const char *dir, const ref_result *res, char *err, size_t len)
{
    no_atomic w;
    if (no_atomic_open_in(&w, dir, "ref_values.txt", err, len))
        return -1;
    for (int i = 0; i < res->count; i++)
        for (size_t e = 0; e < res->a[i].n; e++)
            mpfr_fprintf(w.f, "%s %zu %Ra\n", res->a[i].name, e, res->a[i].v[e]);
    return no_atomic_commit(&w, err, len);
}

/* ref: a rank's part is its exact sums (ref_part_export) as one span
 * (io/bytes.h: their length first), then its rows (ref_rows_export); rank 0 imports part r into
 * parts[r] and the rows into res.  Rank 0's own part stays where it is. */
typedef struct {
    const no_problem *p;
    ref_part *part;
    ref_result *res;
    ref_part *parts; /* rank 0: nm_size of them, [0] unused */
    size_t i0, i1;   /* this rank's points */
} ref_gather;

static int ref_give(void *ctx, int r, nm_blob *out)
{
    ref_gather *g = ctx;
    out->data = NULL;
    out->len = 0;
    if (r == 0)
        return 0;
    char *pb = NULL, *rb = NULL;
    size_t pl = 0, rl = 0;
    if (ref_part_export(g->part, &pb, &pl) ||
        (g->i1 > g->i0 && ref_rows_export(g->res, g->i0, g->i1, &rb, &rl)))
        nm_die("out of memory exporting the part");
    no_bytes b = {0};
    no_bytes_put_u64(&b, pl);
    no_bytes_put(&b, pb, pl);
    no_bytes_put(&b, rb, rl);
    free(pb);
    free(rb);
    return nm_buf_give(&b, out);
}

static void ref_take(void *ctx, int r, nm_blob *in)
{
    ref_gather *g = ctx;
    if (r == 0)
        return;
    size_t ri0, ri1;
    ref_part_of(g->p->spec.N, (size_t)nm_size, (size_t)r, &ri0, &ri1);
    ref_part_init(&g->parts[r]);
    no_reader rd = {in->data, in->len, 0};
    const char *sums;
    size_t pl;
    if (no_reader_span(&rd, &sums, &pl) || ref_part_import(&g->parts[r], sums, pl))
        nm_die("a malformed part arrived");
    if (ri1 > ri0 && ref_rows_import(g->res, rd.data + rd.at, rd.len - rd.at))
        nm_die("malformed rows arrived");
}

static int nm_run_ref(const run_opts *o, const no_problem *p)
{
    char err[512];
    ref_model m;
    int status = NM_GO;
    /* A failure is printed once, by rank 0 (nm_agree). */
    nm_quiet_begin();
    int have_model = !ref_model_init(&m, p, (mpfr_prec_t)o->prec, err, sizeof err);
    size_t i0, i1;
    ref_part_of(p->spec.N, (size_t)nm_size, (size_t)nm_rank, &i0, &i1);
    ref_part part;
    ref_part_init(&part);
    ref_result res;
    memset(&res, 0, sizeof res);
    if (!have_model)
        status = no_report_error(err);
    else if (i1 > i0 && ref_run_part(&m, i0, i1, &res, &part, err, sizeof err))
        status = no_report_error(err);
    nm_quiet_end();
    status = nm_agree(status);
    if (status != NM_GO) {
        ref_part_clear(&part);
        ref_result_clear(&res);
        if (have_model)
            ref_model_clear(&m);
        return status;
    }
    ref_gather g = {p, &part, &res, NULL, i0, i1};
    if (nm_rank == 0 && !(g.parts = calloc((size_t)nm_size, sizeof *g.parts)))
        nm_die("out of memory gathering the parts");
    gather_parts(ref_give, ref_take, &g);
    if (nm_rank != 0) {
        ref_part_clear(&part);
        ref_result_clear(&res);
        ref_model_clear(&m);
        return nm_bcast_int(0);
    }
    /* Rank 0 (which has points: ref_part_of gives rank 0 the first ones):
     * every part's exact sums, then one rounding. */
    ref_part *parts = g.parts;
    ref_part **pp = calloc((size_t)nm_size, sizeof *pp);
    if (!pp)
        nm_die("out of memory gathering the parts");
    pp[0] = &part;
    for (int r = 1; r < nm_size; r++)
        pp[r] = &parts[r];
    status = NO_EXIT_PASS;
    no_arrays dbl = {0};
    if (ref_part_finish(&m, pp, (size_t)nm_size, &res, err, sizeof err) ||
        (ref_result_to_double(&res, &dbl) &&
         no_errorf(err, sizeof err, "out of memory rounding the result")) ||
        write_arrays(o->out, &dbl, err, sizeof err) ||
        write_ref_values(o->out, &res, err, sizeof err))
        status = no_report_error(err);
    no_arrays_free(&dbl);
    for (int r = 1; r < nm_size; r++)
        ref_part_clear(&parts[r]);
    free(parts);
    free(pp);
    ref_part_clear(&part);
    ref_result_clear(&res);
    ref_model_clear(&m);
    return nm_bcast_int(status);
}

int nm_run_problem(int argc, char **argv)
{
    run_opts o;
    nm_quiet_begin();
    int status = parse(argc, argv, &o);
    nm_quiet_end();
    status = nm_agree(status);
    if (status != NM_GO)
        return status;
    no_problem p;
    char err[512];
    nm_quiet_begin();
    int have = !no_problem_dir_read(o.problem, &p, err, sizeof err);
    /* Every rank holds the whole output layout (it fills its own rows), and
     * ref also its model: refuse before allocating what will not fit. */
    if (!have ||
        no_res_require(o.impl_ref ? no_res_compare_bytes(&p.spec, o.prec)
                                  : fast_memory_estimate(&p.spec),
                       "this run", "use a machine with more memory", err, sizeof err)) {
        status = no_report_error(err);
    }
    nm_quiet_end();
    status = nm_agree(status);
    if (status != NM_GO) {
        if (have)
            no_problem_free(&p);
        return status;
    }
    status = o.impl_ref ? nm_run_ref(&o, &p) : run_fast(&o, &p);
    no_problem_free(&p);
    return status;
}
