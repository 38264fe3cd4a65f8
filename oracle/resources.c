/* resources.c - see resources.h. */
#include "resources.h"

#include <ctype.h>
#include <gmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "arrays.h"
#include "cmd.h"
#include "fast.h"
#include "progress.h"
#include "ref.h"
#include "report.h"

/* The program itself: code, libraries, stdio and jansson buffers, the
 * heap's own overhead (measured 3.5 MiB resident for the default problem). */
#define PROCESS_BASE_BYTES (4.0 * 1024 * 1024)

/* The estimates count what ref/ and fast/ allocate; the heap's
 * fragmentation and MPFR's temporaries come on top: measured peaks were
 * within 8-18% below the modules' estimates (tests/test_resources.c), so a
 * tenth more is asked for. */
#define HEADROOM 1.1

/* A cgroup "limit" this large means none (v1 writes 2^63 rounded to pages). */
#define UNLIMITED_BYTES 0x1.0p60

static double max_memory; /* --max-memory, 0: not given */

int no_res_parse_size(const char *v, double *bytes)
{
    if (!v || !isdigit((unsigned char)v[0]))
        return -1;
    char *end;
    double x = strtod(v, &end);
    double unit = 1;
    const char *units = "KMGT";
    const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    if (u) {
        unit = ldexp(1.0, 10 * (int)(u - units + 1));
        end++;
        if (!strcmp(end, "iB") || !strcmp(end, "B"))
            end += strlen(end);
    } else if (!strcmp(end, "B")) {
        end++;
    }
    if (*end || !isfinite(x) || !(x * unit >= 1) || x * unit > 0x1.0p62)
        return -1;
    *bytes = x * unit;
    return 0;
}

void no_res_set_max_memory(double bytes)
{
    max_memory = bytes > 0 ? bytes : 0;
}

int no_res_max_memory_arg(const char *v, char *err, size_t len)
{
    double b;
    if (no_res_parse_size(v, &b))
        return no_errorf(err, len, "--max-memory: expected a size such as 4G or 512M, got '%.40s'",
                         v ? v : "");
    no_res_set_max_memory(b);
    return 0;
}

/* The first number in a file (NAN if none; "max" is cgroup v2's "no limit"). */
static double read_number(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NAN;
    char buf[64] = "";
    double x = NAN;
    if (fgets(buf, sizeof buf, f))
        x = !strncmp(buf, "max", 3) ? INFINITY : strtod(buf, NULL);
    fclose(f);
    return x > 0 ? x : NAN;
}

/* The value of "KEY:   N kB" in a /proc file, in bytes (NAN if absent). */
static double proc_kb(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NAN;
    char line[256];
    double x = NAN;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':') {
            x = strtod(line + n + 1, NULL) * 1024;
            break;
        }
    fclose(f);
    return x;
}

/* The memory limit of the cgroup this process is in: v2 (a "0::PATH" line
 * of /proc/self/cgroup) or v1 (the "memory" controller's line).  With a
 * cgroup namespace the own cgroup is the mount's root, so both the PATH
 * below the mount and the root are tried. */
static double cgroup_limit(void)
{
    double limit = NAN;
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        const char *controllers = c1 + 1, *path = c2 + 1;
        const char *dir = NULL, *file = NULL;
        if (!strcmp(line, "0") && !*controllers)
            dir = "/sys/fs/cgroup", file = "memory.max";
        else if (!strcmp(controllers, "memory"))
            dir = "/sys/fs/cgroup/memory", file = "memory.limit_in_bytes";
        if (!dir)
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s%s/%s", dir, strcmp(path, "/") ? path : "", file);
        double x = read_number(p);
        if (isnan(x)) {
            snprintf(p, sizeof p, "%s/%s", dir, file);
            x = read_number(p);
        }
        if (!isnan(x) && x < UNLIMITED_BYTES && !(x >= limit))
            limit = x;
    }
    if (f)
        fclose(f);
    return limit;
}

/* Room left under RLIMIT_AS: the limit less the address space mapped now. */
static double rlimit_room(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_AS, &r) || r.rlim_cur == RLIM_INFINITY)
        return NAN;
    double mapped = proc_kb("/proc/self/status", "VmSize");
    double room = (double)r.rlim_cur - (isnan(mapped) ? 0 : mapped);
    return room > 0 ? room : 0;
}

double no_res_available(void)
{
    if (max_memory > 0)
        return max_memory;
    double sources[] = {cgroup_limit(), proc_kb("/proc/meminfo", "MemAvailable"),
                        rlimit_room()};
    double avail = -1;
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        if (!isnan(sources[i]) && (avail < 0 || sources[i] < avail))
            avail = sources[i];
    return avail;
}

/* ---- the estimates, per command ----------------------------------------- */

/* The doubles of the problem (problem.h): X, Y, A, B, Omega, beta, parameters. */
static double problem_bytes(const no_spec *s)
{
    double n = (double)s->N * (double)(s->d_in + s->d_out) +
               (double)s->D * (double)(s->d_in + s->d_out);
    if (s->family == NO_FAMILY_RFF)
        n += (double)s->q * (double)(s->D + 1);
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    for (int i = 0; i < np; i++)
        n += (double)s->L * (double)pi[i].per_layer;
    return n * sizeof(double);
}

/* Doubles of one set of outputs (arrays.h) and their element count. */
static double outputs_bytes(const no_spec *s, double *count)
{
    no_array lay[NO_MAX_ARRAYS];
    int k = no_outputs_layout(s, lay);
    double n = 0;
    for (int i = 0; i < k; i++)
        n += (double)lay[i].n;
    if (count)
        *count = n;
    return n * sizeof(double);
}

double no_res_compare_bytes(const no_spec *s, long prec)
{
    /* fast first (its outputs stay), then the certified reference and the
     * tolerance model. */
    double out = outputs_bytes(s, NULL);
    double ref = out + ref_memory_estimate(s, (mpfr_prec_t)prec, 0) + out;
    return PROCESS_BASE_BYTES + HEADROOM * (problem_bytes(s) + fmax(fast_memory_estimate(s), ref));
}

double no_res_gen_bytes(const no_spec *s, long prec)
{
    /* The certification keeps its high-precision result for the 40-digit
     * strings ("%.39Re": about 50 bytes in a 64-byte chunk, and a pointer). */
    double count;
    outputs_bytes(s, &count);
    return PROCESS_BASE_BYTES + HEADROOM * (problem_bytes(s) +
                                            ref_memory_estimate(s, (mpfr_prec_t)prec, 0) +
                                            count * (64 + sizeof(char *)));
}

double no_res_check_bytes(const no_spec *s, long prec, size_t nsteps, int golden)
{
    double out = outputs_bytes(s, NULL);
    double grid = nsteps ? ((double)nsteps + 1) * sizeof(double) : 0;
    /* The reference: read from golden/ (values and bits) or certified. */
    double ref = golden ? 2 * out : ref_memory_estimate(s, (mpfr_prec_t)prec, nsteps);
    /* On failure the diagnosis runs the reference once per hypothesis, one
     * at a time, with up to twice the substeps (the adjoint gap's order),
     * and holds up to three results as doubles besides check's own. */
    size_t twice = 2 * s->L * s->m; /* < 2^41 for a validated spec */
    double diag = 2 * out + 3 * out +
                  ref_run_memory_estimate(s, (mpfr_prec_t)prec, nsteps > twice ? nsteps : twice);
    return PROCESS_BASE_BYTES +
           HEADROOM * (problem_bytes(s) + out /* the candidate */ + grid + fmax(ref, diag));
}

/* "37.2 GiB" or "512.0 MiB": one decimal in the largest unit below the size. */
static void format_bytes(char *buf, size_t len, double b)
{
    const char *unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (u < 6 && b >= 1024) {
        b /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%.0f %s", b, unit[u]);
    else if (b < 1e6)
        snprintf(buf, len, "%.1f %s", b, unit[u]);
    else
        snprintf(buf, len, "%.3g %s", b, unit[u]);
}

int no_res_require(double need, const char *what, const char *hint, char *err, size_t len)
{
    double avail = no_res_available();
    if (avail < 0 || need <= avail)
        return 0;
    char n[32], a[32];
    format_bytes(n, sizeof n, need);
    format_bytes(a, sizeof a, avail);
    return no_errorf(err, len, "%s needs %s, %s available; %s (or --max-memory)", what, n, a,
                     hint);
}

/* ---- GMP's allocation functions ----------------------------------------- */

/* GMP aborts (SIGABRT, "GNU MP: Cannot allocate memory") when an allocation
 * fails; these end the program the way every other input error does. */
static void out_of_memory(size_t n)
{
    no_progress_end(); /* a terminal's progress line would run into the message */
    /* The message is formatted without allocating: stdio may have no memory. */
    char msg[200];
    int k = snprintf(msg, sizeof msg,
                     "nodeoracle: out of memory: GMP/MPFR could not allocate %zu bytes; reduce "
                     "N or --prec (or --max-memory)\n",
                     n);
    if (k > 0 && write(STDERR_FILENO, msg, (size_t)k) < 0)
        k = 0; /* nothing more to do */
    if (k > 12) { /* under --json, the error object on stdout too (without the
                     "nodeoracle: " prefix and the newline, as no_report_error) */
        msg[k - 1] = 0;
        no_report_error_json_noalloc(msg + 12);
    }
    exit(NO_EXIT_USAGE);
}

static void *gmp_alloc(size_t n)
{
    void *p = malloc(n);
    if (!p && n)
        out_of_memory(n);
    return p;
}

static void *gmp_realloc(void *p, size_t old, size_t n)
{
    (void)old;
    void *q = realloc(p, n);
    if (!q && n)
        out_of_memory(n);
    return q;
}

static void gmp_free(void *p, size_t n)
{
    (void)n;
    free(p);
}

void no_res_install_allocators(void)
{
    mp_set_memory_functions(gmp_alloc, gmp_realloc, gmp_free);
}
