/* nodeoracle.c - the public interface (include/nodeoracle.h) over the
 * library's internal modules: problem/, ref/, fast/, io/.  Nothing here
 * computes; it only hides the internal types behind opaque handles. */
#include "../include/nodeoracle.h"

#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "candidate.h"
#include "cmd.h"
#include "fast.h"
#include "problem.h"
#include "problem_dir.h"
#include "ref.h"
#include "spec_args.h"

struct nodeoracle_problem {
    no_problem p;
    no_array in[NO_PROBLEM_DIR_MAX_ARRAYS]; /* views of p's input arrays */
    int nin;
};

struct nodeoracle_arrays {
    no_arrays a;
};

const char *nodeoracle_version(void)
{
    return NODEORACLE_VERSION;
}

static nodeoracle_problem *problem_new(char *err, size_t len)
{
    nodeoracle_problem *h = calloc(1, sizeof *h);
    if (!h)
        no_errorf(err, len, "out of memory");
    return h;
}

static int problem_done(nodeoracle_problem *h, nodeoracle_problem **out)
{
    h->nin = no_problem_dir_arrays(&h->p, h->in);
    *out = h;
    return 0;
}

int nodeoracle_problem_generate(const char *const *options, nodeoracle_problem **out,
                                char *err, size_t len)
{
    if (!out)
        return no_errorf(err, len, "nodeoracle_problem_generate: out is NULL");
    *out = NULL;
    no_spec s;
    no_spec_default(&s);
    for (size_t i = 0; options && options[i]; i += 2) {
        const char *flag = options[i], *value = options[i + 1];
        if (!value)
            return no_errorf(err, len, "%s: needs a value", flag);
        int r = no_spec_arg(&s, flag, value, err, len);
        if (r < 0)
            return -1;
        if (r == 0)
            return no_errorf(err, len, "unknown problem option '%s'", flag);
    }
    nodeoracle_problem *h = problem_new(err, len);
    if (!h)
        return -1;
    if (no_problem_generate(&h->p, &s, err, len)) {
        free(h);
        return -1;
    }
    return problem_done(h, out);
}

int nodeoracle_problem_read(const char *dir, nodeoracle_problem **out, char *err, size_t len)
{
    if (!out || !dir)
        return no_errorf(err, len, "nodeoracle_problem_read: dir or out is NULL");
    *out = NULL;
    nodeoracle_problem *h = problem_new(err, len);
    if (!h)
        return -1;
    if (no_problem_dir_read(dir, &h->p, err, len)) {
        free(h);
        return -1;
    }
    return problem_done(h, out);
}

void nodeoracle_problem_free(nodeoracle_problem *h)
{
    if (!h)
        return;
    no_problem_free(&h->p);
    free(h);
}

void nodeoracle_problem_describe(const nodeoracle_problem *h, char *buf, size_t len)
{
    if (buf && len)
        no_spec_describe(&h->p.spec, buf, len);
}

static void shape_out(int nd, const size_t *sh, int *ndim, size_t shape[4])
{
    if (ndim)
        *ndim = nd;
    for (int d = 0; shape && d < 4; d++)
        shape[d] = d < nd ? sh[d] : 0;
}

const double *nodeoracle_problem_input(const nodeoracle_problem *h, const char *name,
                                       int *ndim, size_t shape[4])
{
    for (int i = 0; h && name && i < h->nin; i++)
        if (!strcmp(h->in[i].name, name)) {
            shape_out(h->in[i].ndim, h->in[i].shape, ndim, shape);
            return h->in[i].v;
        }
    return NULL;
}

static nodeoracle_arrays *arrays_new(char *err, size_t len)
{
    nodeoracle_arrays *a = calloc(1, sizeof *a);
    if (!a)
        no_errorf(err, len, "out of memory");
    return a;
}

int nodeoracle_reference(const nodeoracle_problem *h, long prec, nodeoracle_arrays **values,
                         nodeoracle_arrays **bits, char *err, size_t len)
{
    if (!h || !values)
        return no_errorf(err, len, "nodeoracle_reference: problem or values is NULL");
    *values = NULL;
    if (bits)
        *bits = NULL;
    nodeoracle_arrays *v = arrays_new(err, len), *b = arrays_new(err, len);
    if (!v || !b || ref_certify(&h->p, (mpfr_prec_t)prec, &v->a, &b->a, err, len)) {
        free(v);
        free(b);
        return -1;
    }
    *values = v;
    if (bits)
        *bits = b;
    else
        nodeoracle_arrays_free(b);
    return 0;
}

int nodeoracle_fast(const nodeoracle_problem *h, nodeoracle_arrays **out, char *err, size_t len)
{
    if (!h || !out)
        return no_errorf(err, len, "nodeoracle_fast: problem or out is NULL");
    *out = NULL;
    nodeoracle_arrays *a = arrays_new(err, len);
    if (!a || fast_run(&h->p, &a->a, err, len)) {
        free(a);
        return -1;
    }
    *out = a;
    return 0;
}

int nodeoracle_candidate_read(const nodeoracle_problem *h, const char *dir,
                              nodeoracle_arrays **out, char *err, size_t len)
{
    if (!h || !dir || !out)
        return no_errorf(err, len, "nodeoracle_candidate_read: problem, dir or out is NULL");
    *out = NULL;
    nodeoracle_arrays *a = arrays_new(err, len);
    no_candidate_info info;
    if (!a || no_candidate_read(dir, &h->p.spec, &a->a, &info, err, len)) {
        free(a);
        return -1;
    }
    *out = a;
    return 0;
}

int nodeoracle_arrays_count(const nodeoracle_arrays *a)
{
    return a ? a->a.count : 0;
}

const char *nodeoracle_arrays_name(const nodeoracle_arrays *a, int i)
{
    return a && i >= 0 && i < a->a.count ? a->a.a[i].name : NULL;
}

const double *nodeoracle_arrays_get(const nodeoracle_arrays *a, const char *name, size_t *n,
                                    int *ndim, size_t shape[4])
{
    const no_array *x = a && name ? no_arrays_get(&a->a, name) : NULL;
    if (!x)
        return NULL;
    if (n)
        *n = x->n;
    shape_out(x->ndim, x->shape, ndim, shape);
    return x->v;
}

void nodeoracle_arrays_free(nodeoracle_arrays *a)
{
    if (!a)
        return;
    no_arrays_free(&a->a);
    free(a);
}
