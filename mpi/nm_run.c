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
    double *mine = pack_fast(s, &out, i0, i1, sumsq, &count);
    if (!mine)
        nm_die("out of memory packing the part");
    if (nm_rank != 0) {
        MPI_Send(mine, (int)count, MPI_DOUBLE, 0, 7, MPI_COMM_WORLD);
        free(mine);
        no_arrays_free(&out);
        return nm_bcast_int(0);
    }
    /* Rank 0: everyone's sums, then the tree. */
    size_t P = 0;
    for (int i = 0; i < out.count; i++)
        if (!strncmp(out.a[i].name, "grad_", 5))
            P += out.a[i].n;
    double *sums = malloc((size_t)nm_size * (P ? P : 1) * sizeof *sums);
    double *sq = malloc((size_t)nm_size * sizeof *sq);
    double **x = malloc((size_t)nm_size * sizeof *x);
    if (!sums || !sq || !x)
        nm_die("out of memory gathering the parts");
    unpack_fast(s, &out, mine, sums, &sq[0]);
    free(mine);
    for (int r = 1; r < nm_size; r++) {
        MPI_Status st;
        int n;
        MPI_Probe(r, 7, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_DOUBLE, &n);
        double *buf = malloc((size_t)(n ? n : 1) * sizeof *buf);
        if (!buf)
            nm_die("out of memory gathering the parts");
        MPI_Recv(buf, n, MPI_DOUBLE, r, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        unpack_fast(s, &out, buf, sums + (size_t)r * P, &sq[r]);
        free(buf);
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

/* Bytes to rank 0 (tag: what they are). */
static void send_bytes(const char *buf, size_t len, int tag)
{
    if (len > (size_t)2147483647)
        nm_die("a part is too large for one MPI message");
    MPI_Send(buf, (int)len, MPI_BYTE, 0, tag, MPI_COMM_WORLD);
}

/* Rank 0: the next message of rank r with this tag (malloc'd). */
static char *recv_bytes(int r, int tag, size_t *len)
{
    MPI_Status st;
    int n;
    MPI_Probe(r, tag, MPI_COMM_WORLD, &st);
    MPI_Get_count(&st, MPI_BYTE, &n);
    char *buf = malloc((size_t)(n ? n : 1));
    if (!buf)
        nm_die("out of memory gathering the parts");
    MPI_Recv(buf, n, MPI_BYTE, r, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    *len = (size_t)n;
    return buf;
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
    if (nm_rank != 0) {
        char *pb = NULL, *rb = NULL;
        size_t pl = 0, rl = 0;
        if (ref_part_export(&part, &pb, &pl) ||
            (i1 > i0 && ref_rows_export(&res, i0, i1, &rb, &rl)))
            nm_die("out of memory exporting the part");
        send_bytes(pb, pl, 8);
        if (i1 > i0)
            send_bytes(rb, rl, 9);
        free(pb);
        free(rb);
        ref_part_clear(&part);
        ref_result_clear(&res);
        ref_model_clear(&m);
        return nm_bcast_int(0);
    }
    /* Rank 0 (which has points: ref_part_of gives rank 0 the first ones):
     * the other parts' exact sums and rows, then one rounding. */
    ref_part *parts = calloc((size_t)nm_size, sizeof *parts);
    ref_part **pp = calloc((size_t)nm_size, sizeof *pp);
    if (!parts || !pp)
        nm_die("out of memory gathering the parts");
    pp[0] = &part;
    for (int r = 1; r < nm_size; r++) {
        size_t ri0, ri1, len;
        ref_part_of(p->spec.N, (size_t)nm_size, (size_t)r, &ri0, &ri1);
        ref_part_init(&parts[r]);
        pp[r] = &parts[r];
        char *buf = recv_bytes(r, 8, &len);
        if (ref_part_import(&parts[r], buf, len))
            nm_die("a malformed part arrived");
        free(buf);
        if (ri1 > ri0) {
            buf = recv_bytes(r, 9, &len);
            if (ref_rows_import(&res, buf, len))
                nm_die("malformed rows arrived");
            free(buf);
        }
    }
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
