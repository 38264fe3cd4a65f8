/* arrays.c - see arrays.h. */
#include "arrays.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

no_array *no_arrays_add(no_arrays *s, const char *name, int ndim, const size_t *shape)
{
    if (s->count >= NO_MAX_ARRAYS || strlen(name) >= NO_NAME_LEN || ndim < 1 || ndim > 4)
        return NULL;
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (no_mul_size(n, shape[i], &n))
            return NULL;
    no_array *a = &s->a[s->count];
    memset(a, 0, sizeof *a);
    a->v = calloc(n ? n : 1, sizeof(double));
    if (!a->v)
        return NULL;
    snprintf(a->name, sizeof a->name, "%s", name);
    a->ndim = ndim;
    memcpy(a->shape, shape, (size_t)ndim * sizeof(size_t));
    a->n = n;
    s->count++;
    return a;
}

no_array *no_arrays_find(no_arrays *s, const char *name)
{
    for (int i = 0; i < s->count; i++)
        if (!strcmp(s->a[i].name, name))
            return &s->a[i];
    return NULL;
}

const no_array *no_arrays_get(const no_arrays *s, const char *name)
{
    return no_arrays_find((no_arrays *)s, name);
}

void no_arrays_free(no_arrays *s)
{
    for (int i = 0; i < s->count; i++)
        free(s->a[i].v);
    s->count = 0;
}

double no_metric_factor(const no_spec *spec)
{
    double f = 1.0 / no_spec_step(spec);
    return spec->family == NO_FAMILY_MLP ? f * (double)spec->M : f;
}

int no_outputs_layout(const no_spec *sp, no_array out[NO_MAX_ARRAYS])
{
    int n = 0;
    const char *base[4] = {"states", "output", "loss", "adjoint"};
    for (int i = 0; i < 4; i++) {
        no_array *a = &out[n++];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "%s", base[i]);
        if (i == 1) {
            a->ndim = 2, a->shape[0] = sp->N, a->shape[1] = sp->d_out;
        } else if (i == 2) {
            a->ndim = 1, a->shape[0] = 1;
        } else {
            a->ndim = 3, a->shape[0] = sp->L + 1, a->shape[1] = sp->N, a->shape[2] = sp->D;
        }
    }
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(sp, pi);
    for (int kind = 0; kind < 2; kind++)
        for (int i = 0; i < np; i++) {
            no_array *a = &out[n++];
            memset(a, 0, sizeof *a);
            snprintf(a->name, sizeof a->name, "%s_%s", kind ? "mgrad" : "grad", pi[i].name);
            a->ndim = pi[i].ndim;
            memcpy(a->shape, pi[i].shape, sizeof pi[i].shape);
        }
    for (int i = 0; i < n; i++) {
        out[i].n = 1;
        for (int d = 0; d < out[i].ndim; d++)
            out[i].n *= out[i].shape[d];
    }
    return n;
}

int no_outputs_init(no_arrays *s, const no_spec *sp)
{
    memset(s, 0, sizeof *s);
    no_array lay[NO_MAX_ARRAYS];
    int n = no_outputs_layout(sp, lay);
    for (int i = 0; i < n; i++)
        if (!no_arrays_add(s, lay[i].name, lay[i].ndim, lay[i].shape)) {
            no_arrays_free(s);
            return -1;
        }
    return 0;
}
