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

int no_outputs_init(no_arrays *s, const no_spec *sp)
{
    memset(s, 0, sizeof *s);
    size_t st[3] = {sp->L + 1, sp->N, sp->D};
    size_t out[2] = {sp->N, sp->d_out};
    size_t one[1] = {1};
    int ok = no_arrays_add(s, "states", 3, st) && no_arrays_add(s, "output", 2, out) &&
             no_arrays_add(s, "loss", 1, one) && no_arrays_add(s, "adjoint", 3, st);
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(sp, pi);
    for (int kind = 0; ok && kind < 2; kind++)
        for (int i = 0; ok && i < np; i++) {
            char name[NO_NAME_LEN];
            snprintf(name, sizeof name, "%s_%s", kind ? "mgrad" : "grad", pi[i].name);
            ok = no_arrays_add(s, name, pi[i].ndim, pi[i].shape) != NULL;
        }
    if (!ok) {
        no_arrays_free(s);
        return -1;
    }
    return 0;
}
