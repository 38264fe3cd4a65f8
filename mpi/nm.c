/* nm.c - see nm.h. */
#define _GNU_SOURCE /* syncfs */
#include "nm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "cmd.h"
#include "path.h"
#include "report.h"

int nm_rank, nm_size = 1;

/* One tag for every item message: a rank's items reach rank 0 in the order
 * they were sent (MPI does not let messages of one sender, tag and
 * communicator overtake each other), which is the order rank 0 takes them
 * in; so no tag is needed to tell them apart (a tag could not hold every
 * index of a large sweep anyway: MPI promises only 32767). */
#define NM_TAG 7
/* The largest piece of one message (counts are ints). */
#define NM_CHUNK ((size_t)1 << 30)

void nm_die(const char *msg)
{
    fprintf(stderr, "nodeoracle: rank %d: %s\n", nm_rank, msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, NO_EXIT_USAGE);
    exit(NO_EXIT_USAGE);
}

/* Waiting politely.  Open MPI's blocking calls poll at full speed without
 * giving the processor away, so a rank that waits (another rank for rank 0
 * to take its outcomes, rank 0 for the next outcome) would keep a core from
 * a rank still computing whenever there are more ranks than cores, or other
 * work on the node.  These poll too, but yield the processor between
 * polls: to whoever else is ready to run, else straight back.  (Sleeping
 * instead would stall the transfers themselves: a large message moves in
 * pieces, each needing both ranks to poll.) */
static void nap(void)
{
    sched_yield();
}

static void wait_all(int n, MPI_Request *req)
{
    for (;;) {
        int done = 0;
        MPI_Testall(n, req, &done, MPI_STATUSES_IGNORE);
        if (done)
            return;
        nap();
    }
}

static void wait_message(int src)
{
    for (;;) {
        int there = 0;
        MPI_Iprobe(src, NM_TAG, MPI_COMM_WORLD, &there, MPI_STATUS_IGNORE);
        if (there)
            return;
        nap();
    }
}

/* ---- options checked on every rank, errors printed once ------------------ */

static int quiet_saved = -1;
static FILE *quiet_file;
static char quiet_line[512];

void nm_quiet_begin(void)
{
    quiet_line[0] = 0;
    if (nm_rank == 0)
        return;
    fflush(stderr);
    quiet_file = tmpfile();
    quiet_saved = quiet_file ? dup(2) : -1;
    if (quiet_saved >= 0)
        dup2(fileno(quiet_file), 2);
}

void nm_quiet_end(void)
{
    if (nm_rank == 0 || quiet_saved < 0)
        return;
    fflush(stderr);
    dup2(quiet_saved, 2);
    close(quiet_saved);
    quiet_saved = -1;
    rewind(quiet_file);
    if (!fgets(quiet_line, sizeof quiet_line, quiet_file))
        quiet_line[0] = 0;
    quiet_line[strcspn(quiet_line, "\n")] = 0;
    fclose(quiet_file);
    quiet_file = NULL;
}

typedef struct {
    int32_t status;
    char line[512];
} nm_said;

int nm_agree(int status)
{
    nm_said mine, *all = NULL;
    memset(&mine, 0, sizeof mine);
    mine.status = status;
    snprintf(mine.line, sizeof mine.line, "%s", quiet_line);
    if (nm_rank == 0 && !(all = calloc((size_t)nm_size, sizeof *all)))
        nm_die("out of memory");
    MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, 0,
               MPI_COMM_WORLD);
    int result = status;
    if (nm_rank == 0 && status == NM_GO)
        for (int r = 1; r < nm_size; r++)
            if (all[r].status != NM_GO) {
                const char *s = all[r].line;
                if (!strncmp(s, "nodeoracle: ", 12))
                    s += 12;
                char msg[640];
                snprintf(msg, sizeof msg, "rank %d: %s", r,
                         s[0] ? s : "refused what rank 0 accepted (its memory?)");
                result = no_report_error(msg);
                break;
            }
    free(all);
    return nm_bcast_int(result);
}

int nm_bcast_int(int x)
{
    int32_t v = x;
    MPI_Request req;
    MPI_Ibcast(&v, 1, MPI_INT32_T, 0, MPI_COMM_WORLD, &req);
    wait_all(1, &req);
    return v;
}

static int show_split(void)
{
    const char *show = getenv("NODEORACLE_MPI_SPLIT");
    return show && show[0] && strcmp(show, "0");
}

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- the split -------------------------------------------------------------- */

/* An item for the split's order: largest cost first, then the lower index
 * (a total order: the sort's result does not depend on the algorithm). */
typedef struct {
    double cost;
    int index;
} nm_item;

static int by_cost_then_index(const void *a, const void *b)
{
    const nm_item *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

void nm_assign(const double *cost, int n, int *owner)
{
    if (nm_rank == 0) {
        nm_item *item = malloc((size_t)(n ? n : 1) * sizeof *item);
        int *order = malloc((size_t)(n ? n : 1) * sizeof *order);
        double *load = calloc((size_t)nm_size, sizeof *load);
        if (!item || !order || !load)
            nm_die("out of memory");
        /* n can be a few hundred thousand cells, which often arrive in
         * increasing cost (width sweeps): O(n log n), not an insertion sort */
        for (int i = 0; i < n; i++)
            item[i] = (nm_item){cost[i] == cost[i] ? cost[i] : 0.0, i}; /* NaN: 0 */
        qsort(item, (size_t)n, sizeof *item, by_cost_then_index);
        for (int i = 0; i < n; i++)
            order[i] = item[i].index;
        free(item);
        for (int k = 0; k < n; k++) {
            int best = 0;
            for (int r = 1; r < nm_size; r++)
                if (load[r] < load[best])
                    best = r;
            owner[order[k]] = best;
            load[best] += cost[order[k]] > 0 ? cost[order[k]] : 0;
        }
        /* NODEORACLE_MPI_SPLIT=1: the split on stderr (docs/mpi.md) */
        if (show_split()) {
            double total = 0;
            for (int r = 0; r < nm_size; r++)
                total += load[r];
            for (int r = 0; r < nm_size; r++) {
                int items = 0;
                for (int i = 0; i < n; i++)
                    items += owner[i] == r;
                fprintf(stderr, "nodeoracle-mpi: rank %d: %d of %d items, %.1f%% of the "
                                "estimated work\n",
                        r, items, n, total > 0 ? 100 * load[r] / total : 0.0);
            }
        }
        free(order);
        free(load);
    }
    if (n > 0)
        MPI_Bcast(owner, n, MPI_INT, 0, MPI_COMM_WORLD);
}

/* ---- moving bytes ------------------------------------------------------------ */

int nm_buf_give(no_bytes *b, nm_blob *out)
{
    if (b->bad) {
        free(b->data);
        return -1;
    }
    out->data = b->data;
    out->len = b->len;
    return 0;
}

typedef struct {
    uint64_t len;
    char *data;
    MPI_Request req[1 + 64];
    int nreq;
} nm_out;

static void send_blob(nm_out *o, nm_blob *b)
{
    o->len = b->len;
    o->data = b->data;
    b->data = NULL;
    o->nreq = 0;
    MPI_Isend(&o->len, 1, MPI_UINT64_T, 0, NM_TAG, MPI_COMM_WORLD, &o->req[o->nreq++]);
    for (size_t at = 0; at < o->len; at += NM_CHUNK) {
        size_t k = o->len - at < NM_CHUNK ? o->len - at : NM_CHUNK;
        if (o->nreq == (int)(sizeof o->req / sizeof o->req[0]))
            nm_die("an outcome of more than 64 GiB");
        MPI_Isend(o->data + at, (int)k, MPI_BYTE, 0, NM_TAG, MPI_COMM_WORLD,
                  &o->req[o->nreq++]);
    }
}

static void recv_blob(int src, nm_blob *b)
{
    uint64_t len;
    wait_message(src);
    MPI_Recv(&len, 1, MPI_UINT64_T, src, NM_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    b->len = (size_t)len;
    if (!(b->data = malloc(b->len ? b->len : 1)))
        nm_die("out of memory receiving an outcome");
    for (size_t at = 0; at < b->len; at += NM_CHUNK) {
        size_t k = b->len - at < NM_CHUNK ? b->len - at : NM_CHUNK;
        MPI_Request req;
        MPI_Irecv(b->data + at, (int)k, MPI_BYTE, src, NM_TAG, MPI_COMM_WORLD, &req);
        wait_all(1, &req);
    }
}

/* NODEORACLE_MPI_SPLIT=1: where a rank's time went, on stderr. */
static void show_times(double t0, double t1, double c0, double c1, int items)
{
    if (!show_split())
        return;
    double t2 = wall_now();
    fprintf(stderr, "nodeoracle-mpi: rank %d: %d items computed in %.2f s (%.2f s CPU), then "
                    "%.2f s %s\n",
            nm_rank, items, t1 - t0, c1 - c0, t2 - t1,
            nm_rank == 0 ? "taking every outcome in order" : "until rank 0 took its outcomes");
}

void nm_run(int n, const int *owner, nm_work_fn work, nm_take_fn take, void *ctx)
{
    double t0 = wall_now(), c0 = (double)clock() / CLOCKS_PER_SEC;
    int items = 0;
    if (nm_rank == 0) {
        nm_blob *own = calloc((size_t)(n ? n : 1), sizeof *own);
        if (!own)
            nm_die("out of memory");
        for (int i = 0; i < n; i++)
            if (owner[i] == 0) {
                if (work(ctx, i, &own[i]))
                    nm_die("out of memory");
                items++;
            }
        double t1 = wall_now(), c1 = (double)clock() / CLOCKS_PER_SEC;
        for (int i = 0; i < n; i++) {
            nm_blob b = own[i];
            if (owner[i] != 0)
                recv_blob(owner[i], &b);
            take(ctx, i, &b);
            free(b.data);
        }
        free(own);
        show_times(t0, t1, c0, c1, items);
        return;
    }
    int mine = 0;
    for (int i = 0; i < n; i++)
        mine += owner[i] == nm_rank;
    nm_out *out = calloc((size_t)(mine ? mine : 1), sizeof *out);
    if (!out)
        nm_die("out of memory");
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (owner[i] != nm_rank)
            continue;
        nm_blob b = {NULL, 0};
        if (work(ctx, i, &b))
            nm_die("out of memory");
        send_blob(&out[k++], &b);
    }
    double t1 = wall_now(), c1 = (double)clock() / CLOCKS_PER_SEC;
    for (int j = 0; j < k; j++) {
        wait_all(out[j].nreq, out[j].req);
        free(out[j].data);
    }
    free(out);
    show_times(t0, t1, c0, c1, k);
}

void nm_bcast_bytes(char **data, size_t *len)
{
    uint64_t n = nm_rank == 0 ? *len : 0;
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (nm_rank != 0) {
        *len = (size_t)n;
        if (!(*data = malloc(n ? n : 1)))
            nm_die("out of memory");
    }
    for (size_t at = 0; at < n; at += NM_CHUNK) {
        size_t k = n - at < NM_CHUNK ? n - at : NM_CHUNK;
        MPI_Bcast(*data + at, (int)k, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
}

/* ---- outcomes as bytes --------------------------------------------------------- */

/* ---- a directory tree as bytes ---------------------------------------------------- */

/* Entries: 'd' or 'f', the path relative to the top, and (files) the size
 * and the bytes; then 'e'. */
static int pack_dir(const char *top, const char *rel, no_bytes *b, char *err, size_t len)
{
    char path[NO_PATH_MAX];
    if (no_path_join(path, sizeof path, top, rel, err, len))
        return -1;
    DIR *d = opendir(path);
    if (!d)
        return no_errorf(err, len, "%s: cannot read: %s", path, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            (!rel[0] && e->d_name[0] == '.'))
            continue;
        char sub[NO_PATH_MAX], full[NO_PATH_MAX];
        struct stat st;
        if (no_path_join(sub, sizeof sub, rel, e->d_name, err, len) ||
            no_path_join(full, sizeof full, top, sub, err, len)) {
            rc = -1;
            break;
        }
        if (lstat(full, &st)) {
            rc = no_errorf(err, len, "%s: %s", full, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            no_bytes_put(b, "d", 1);
            no_bytes_put_str(b, sub);
            rc = pack_dir(top, sub, b, err, len);
        } else if (S_ISREG(st.st_mode)) {
            FILE *f = fopen(full, "rb");
            char *data = f ? malloc((size_t)st.st_size + 1) : NULL;
            size_t got = data ? fread(data, 1, (size_t)st.st_size, f) : 0;
            if (!f || !data || got != (size_t)st.st_size)
                rc = no_errorf(err, len, "%s: cannot read", full);
            else {
                no_bytes_put(b, "f", 1);
                no_bytes_put_str(b, sub);
                no_bytes_put_u64(b, (unsigned long long)got);
                no_bytes_put(b, data, got);
            }
            free(data);
            if (f)
                fclose(f);
        } else {
            rc = no_errorf(err, len, "%s: not a directory or a regular file", full);
        }
    }
    closedir(d);
    return rc;
}

int nm_tree_pack(const char *dir, no_bytes *b, char *err, size_t len)
{
    if (pack_dir(dir, "", b, err, len))
        return -1;
    no_bytes_put(b, "e", 1);
    return b->bad ? no_errorf(err, len, "out of memory packing %s", dir) : 0;
}

/* A relative path of plain components (no "", ".", ".." and no leading /). */
static int tame_path(const char *p)
{
    if (!p[0] || p[0] == '/')
        return 0;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        s += n;
        if (*s)
            s++;
    }
    return 1;
}

int nm_tree_unpack(no_reader *r, const char *dir, char *err, size_t len)
{
    for (;;) {
        char kind, rel[NO_PATH_MAX], path[NO_PATH_MAX];
        if (no_reader_get(r, &kind, 1))
            return no_errorf(err, len, "%s: a truncated tree", dir);
        if (kind == 'e')
            return 0;
        if ((kind != 'd' && kind != 'f') || no_reader_str(r, rel, sizeof rel) || !tame_path(rel) ||
            no_path_join(path, sizeof path, dir, rel, err, len))
            return no_errorf(err, len, "%s: a malformed tree", dir);
        if (kind == 'd') {
            if (mkdir(path, 0777) != 0)
                return no_errorf(err, len, "%s: cannot create: %s", path, strerror(errno));
            continue;
        }
        unsigned long long n;
        if (no_reader_u64(r, &n) || n > r->len - r->at)
            return no_errorf(err, len, "%s: a truncated tree", dir);
        if (no_atomic_write_nosync(path, r->data + r->at, (size_t)n, err, len))
            return -1;
        r->at += (size_t)n;
    }
}

int nm_tree_flush(const char *dir, char *err, size_t len)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return no_errorf(err, len, "%s: %s", dir, strerror(errno));
    int rc = syncfs(fd);
    int e = errno;
    close(fd);
    return rc ? no_errorf(err, len, "%s: cannot flush the file system: %s", dir, strerror(e))
              : 0;
}

const char *nm_private_base(void)
{
    const char *t = getenv("TMPDIR");
    struct stat st;
    if (t && t[0])
        return t;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        return "/dev/shm";
    return "/tmp";
}
