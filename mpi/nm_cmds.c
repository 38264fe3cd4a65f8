/* nm_cmds.c - nodeoracle-mpi gen, check and width: the serial commands'
 * steps (oracle/suite.h, oracle/width.h), the items split over the ranks
 * (nm.h, docs/mpi.md). */
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "manifest.h"
#include "nm.h"
#include "path.h"
#include "progress.h"
#include "report.h"
#include "suite.h"
#include "width.h"

/* The CPU seconds of this process so far. */
static double cpu_now(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

/* ---- gen ------------------------------------------------------------------------
 * An item is a problem.  Its owner (rank 0 included) writes it with gen's
 * own writer (no_gen_write) into a private directory of its own
 * (nm_private_base: $TMPDIR, else /dev/shm, else /tmp), turns the tree into
 * bytes and removes that directory; rank 0 puts the tree into the problem's
 * temporary under --out and seals it (no_gen_slot_open, nm_tree_unpack,
 * no_gen_slot_seal): the tree no_gen_build makes.  Once every problem is
 * there, rank 0 flushes --out's file system once (gen's writers fsync each
 * file; one syncfs instead keeps rank 0, which writes every file, from
 * waiting on hundreds of flushes) and publishes as the serial gen
 * (no_gen_finish).  Outcome: u64 status (0 built), the message, the CPU
 * seconds, the tree. */

typedef struct {
    no_gen *g;
    int rc;         /* rank 0: the first failure, in problem order */
    char err[1024]; /* its message */
} gen_ctx;

static int gen_work(void *vctx, int i, nm_blob *out)
{
    gen_ctx *c = vctx;
    char err[1024] = "", label[48], dir[NO_PATH_MAX];
    no_bytes b = {0}, tree = {0};
    double t0 = cpu_now();
    int n = no_gen_count(c->g), rc;
    if (nm_size > 1)
        snprintf(label, sizeof label, "[%d/%d] rank %d", i + 1, n, nm_rank);
    else
        snprintf(label, sizeof label, "[%d/%d]", i + 1, n);
    if ((size_t)snprintf(dir, sizeof dir, "%s/nodeoracle-mpi-gen.XXXXXX", nm_private_base()) >=
        sizeof dir) {
        rc = no_errorf(err, sizeof err, "rank %d: $TMPDIR is too long", nm_rank);
    } else if (!mkdtemp(dir)) {
        rc = no_errorf(err, sizeof err, "rank %d: %s: cannot create a directory: %s", nm_rank,
                       dir, strerror(errno));
    } else {
        no_progress_begin(label);
        rc = no_gen_write(c->g, i, dir, err, sizeof err) ||
             nm_tree_pack(dir, &tree, err, sizeof err);
        no_progress_end();
        /* only what gen wrote there (by its manifest), then dir itself */
        char why[512];
        if (no_manifest_remove(dir, 1, why, sizeof why))
            fprintf(stderr, "nodeoracle: note: rank %d kept %s: %s\n", nm_rank, dir, why);
    }
    double secs = cpu_now() - t0;
    if (!rc) {
        if (nm_size > 1)
            fprintf(stderr, "[%d/%d] %s (%.1f s, rank %d)\n", i + 1, n, no_gen_name(c->g, i),
                    secs, nm_rank);
        else
            fprintf(stderr, "[%d/%d] %s (%.1f s)\n", i + 1, n, no_gen_name(c->g, i), secs);
    }
    no_bytes_put_u64(&b, rc ? 1 : 0);
    no_bytes_put_str(&b, err);
    no_bytes_put(&b, &secs, sizeof secs);
    no_bytes_put(&b, tree.data, rc ? 0 : tree.len);
    free(tree.data);
    /* tree.bad is a failure nm_tree_pack reported (rc, err) and goes back
     * as this problem's outcome; only our own message buffer is fatal. */
    return nm_buf_give(&b, out);
}

static void gen_take(void *vctx, int i, nm_blob *in)
{
    gen_ctx *c = vctx;
    no_reader r = {in->data, in->len, 0};
    unsigned long long status;
    char err[1024];
    double secs;
    if (no_reader_u64(&r, &status) || no_reader_str(&r, err, sizeof err) ||
        no_reader_get(&r, &secs, sizeof secs))
        nm_die("a malformed outcome");
    if (c->rc)
        return; /* the serial gen stops at its first failure: so does the report */
    if (status) {
        c->rc = -1;
        snprintf(c->err, sizeof c->err, "%s", err);
        return;
    }
    char path[NO_PATH_MAX];
    if (no_gen_slot_open(c->g, i, path, sizeof path, c->err, sizeof c->err) ||
        nm_tree_unpack(&r, path, c->err, sizeof c->err) ||
        no_gen_slot_seal(c->g, i, c->err, sizeof c->err))
        c->rc = -1;
}

int nm_gen(int argc, char **argv)
{
    gen_ctx c;
    memset(&c, 0, sizeof c);
    nm_quiet_begin();
    int st = no_gen_open(argc, argv, &c.g);
    nm_quiet_end();
    if ((st = nm_agree(c.g ? NM_GO : st)) != NM_GO) {
        no_gen_free(c.g);
        return st;
    }
    int n = no_gen_count(c.g);
    /* rank 0: the destinations, --out, its lock */
    if (nm_rank == 0)
        c.rc = no_gen_prepare(c.g, c.err, sizeof c.err);
    if (nm_bcast_int(c.rc)) {
        if (nm_rank == 0)
            return nm_bcast_int(no_gen_finish(c.g, c.rc, c.err));
        no_gen_free(c.g);
        return nm_bcast_int(0);
    }
    double cost[NO_SUITE_MAX];
    int owner[NO_SUITE_MAX];
    for (int i = 0; i < n; i++)
        cost[i] = no_suite_cost(no_gen_spec(c.g, i));
    nm_assign(cost, n, owner);
    nm_run(n, owner, gen_work, gen_take, &c);
    if (nm_rank != 0) {
        no_gen_free(c.g);
        return nm_bcast_int(0);
    }
    if (!c.rc)
        c.rc = nm_tree_flush(no_gen_out(c.g), c.err, sizeof c.err);
    return nm_bcast_int(no_gen_finish(c.g, c.rc, c.err));
}

/* ---- check --problems --candidates --------------------------------------------
 * An item is a problem: no_check_dir_run on its owner, the outcome
 * (no_check_item_pack) emitted on rank 0 in order. */

typedef struct {
    no_check_dir *c;
    no_check_item **own; /* rank 0's own outcomes, not packed */
} check_ctx;

static int check_work(void *vctx, int i, nm_blob *out)
{
    check_ctx *x = vctx;
    no_check_item *it = no_check_dir_run(x->c, i);
    if (!it)
        return -1;
    if (nm_rank == 0) {
        x->own[i] = it;
        out->data = NULL;
        out->len = 0;
        return 0;
    }
    out->data = no_check_item_pack(it, &out->len);
    no_check_item_free(it);
    return out->data ? 0 : -1;
}

static void check_take(void *vctx, int i, nm_blob *in)
{
    check_ctx *x = vctx;
    no_check_item *it = x->own[i];
    x->own[i] = NULL;
    if (!it && !(it = no_check_item_unpack(in->data, in->len)))
        nm_die("a malformed outcome");
    no_check_dir_emit(x->c, i, it);
}

int nm_check(int argc, char **argv)
{
    check_ctx x = {NULL, NULL};
    nm_quiet_begin();
    int st = no_check_dir_open(argc, argv, &x.c);
    nm_quiet_end();
    int one = !x.c && st == -1; /* one problem: nothing to split, rank 0 checks it */
    if ((st = nm_agree(x.c || one ? NM_GO : st)) != NM_GO) {
        no_check_dir_free(x.c);
        return st;
    }
    if (one)
        return nm_bcast_int(nm_rank == 0 ? no_cmd_check(argc, argv) : 0);
    st = nm_rank == 0 ? no_check_dir_list(x.c) : 0;
    if ((st = nm_bcast_int(st))) {
        no_check_dir_free(x.c);
        return st;
    }
    char *names = NULL;
    size_t len = 0;
    if (nm_rank == 0 && !(names = no_check_dir_names_pack(x.c, &len)))
        nm_die("out of memory");
    nm_bcast_bytes(&names, &len);
    if (nm_rank != 0 && no_check_dir_names_unpack(x.c, names, len))
        nm_die("out of memory");
    free(names);
    int n = no_check_dir_count(x.c);
    double *cost = calloc((size_t)n, sizeof *cost);
    int *owner = calloc((size_t)n, sizeof *owner);
    x.own = calloc((size_t)n, sizeof *x.own);
    if (!cost || !owner || !x.own)
        nm_die("out of memory");
    for (int i = 0; nm_rank == 0 && i < n; i++)
        cost[i] = no_check_dir_cost(x.c, i);
    nm_assign(cost, n, owner);
    nm_run(n, owner, check_work, check_take, &x);
    free(cost);
    free(owner);
    free(x.own);
    if (nm_rank == 0)
        return nm_bcast_int(no_check_dir_finish(x.c));
    no_check_dir_free(x.c);
    return nm_bcast_int(0);
}

/* ---- width ----------------------------------------------------------------------
 * An item is a cell of the sweep: cell 0 the infinite-width target, cell
 * 1 + i S + r the run of width index i, draw r (oracle/width.h).  Outcome:
 * u64 status, the message, the cell's doubles. */

typedef struct {
    no_width_cmd *cmd;
    no_width_sweep *sw;
    size_t len;        /* doubles per cell */
    int rc;            /* rank 0: the first failure, in cell order */
    char err[512];
    size_t own_done, own_total;
} width_ctx;

static int width_work(void *vctx, int i, nm_blob *out)
{
    width_ctx *x = vctx;
    char err[512] = "";
    double *v = malloc(x->len * sizeof *v);
    if (!v)
        return -1;
    int rc = no_width_sweep_run(x->sw, (size_t)i, v, err, sizeof err);
    no_bytes b = {0};
    no_bytes_put_u64(&b, rc ? 1 : 0);
    no_bytes_put_str(&b, err);
    if (!rc)
        no_bytes_put(&b, v, x->len * sizeof *v);
    free(v);
    if (nm_buf_give(&b, out))
        return -1;
    if (nm_rank == 0) /* rank 0's own share: its progress */
        no_width_cmd_progress(x->cmd, ++x->own_done, x->own_total);
    return 0;
}

static void width_take(void *vctx, int i, nm_blob *in)
{
    width_ctx *x = vctx;
    no_reader r = {in->data, in->len, 0};
    unsigned long long status;
    char err[512];
    if (no_reader_u64(&r, &status) || no_reader_str(&r, err, sizeof err) ||
        (!status && in->len - r.at != x->len * sizeof(double)))
        nm_die("a malformed outcome");
    if (x->rc)
        return;
    if (status) {
        x->rc = -1;
        snprintf(x->err, sizeof x->err, "%s", err);
        return;
    }
    double *v = malloc(x->len * sizeof *v);
    if (!v)
        nm_die("out of memory");
    memcpy(v, r.data + r.at, x->len * sizeof *v);
    if (no_width_sweep_add(x->sw, (size_t)i, v, x->err, sizeof x->err))
        x->rc = -1;
    free(v);
}

int nm_width(int argc, char **argv)
{
    width_ctx x;
    memset(&x, 0, sizeof x);
    double t0 = cpu_now();
    nm_quiet_begin();
    int st = no_width_cmd_open(argc, argv, &x.cmd);
    nm_quiet_end();
    if ((st = nm_agree(x.cmd ? NM_GO : st)) != NM_GO) {
        no_width_cmd_free(x.cmd);
        return st;
    }
    st = nm_rank == 0 ? no_width_cmd_prepare(x.cmd) : 0;
    if ((st = nm_bcast_int(st))) {
        no_width_cmd_free(x.cmd);
        return st;
    }
    /* every rank generates the data and the tables it needs */
    nm_quiet_begin();
    st = no_width_cmd_sweep(x.cmd, &x.sw);
    nm_quiet_end();
    if ((st = nm_agree(st ? st : NM_GO)) != NM_GO) {
        no_width_sweep_free(x.sw);
        no_width_cmd_free(x.cmd);
        return st;
    }
    size_t cells = no_width_sweep_cells(x.sw);
    if (cells > (size_t)1 << 30)
        nm_die("too many cells");
    int n = (int)cells;
    x.len = no_width_sweep_cell_len(x.sw);
    double *cost = calloc(cells, sizeof *cost);
    int *owner = calloc(cells, sizeof *owner);
    if (!cost || !owner)
        nm_die("out of memory");
    for (int i = 0; nm_rank == 0 && i < n; i++)
        cost[i] = no_width_sweep_cost(x.sw, (size_t)i);
    nm_assign(cost, n, owner);
    for (int i = 0; i < n; i++)
        x.own_total += owner[i] == nm_rank;
    if (nm_rank == 0)
        no_progress_begin("width");
    nm_run(n, owner, width_work, width_take, &x);
    if (nm_rank == 0)
        no_progress_end();
    free(cost);
    free(owner);
    /* "s CPU": the total over the ranks */
    double mine = cpu_now() - t0, total = 0;
    MPI_Reduce(&mine, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (nm_rank != 0) {
        no_width_sweep_free(x.sw);
        no_width_cmd_free(x.cmd);
        return nm_bcast_int(0);
    }
    if (x.rc) {
        no_width_sweep_free(x.sw);
        no_width_cmd_free(x.cmd);
        return nm_bcast_int(no_report_error(x.err));
    }
    return nm_bcast_int(no_width_cmd_finish(x.cmd, x.sw, total));
}
