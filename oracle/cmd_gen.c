/* cmd_gen.c - `nodeoracle gen`: golden vectors (docs/check.md, docs/formats.md). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <mpfr.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "golden.h"
#include "manifest.h"
#include "path.h"
#include "problem_dir.h"
#include "progress.h"
#include "ref.h"
#include "resources.h"
#include "spec_args.h"
#include "suite.h"

const char no_cmd_gen_help[] =
    "NAME\n"
    "  nodeoracle gen - write golden reference vectors for a suite or for one problem\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle gen --suite NAME --out DIR [--prec BITS]\n"
    "  nodeoracle gen PROBLEM OPTIONS --out DIR [--prec BITS]\n"
    "\n"
    "DESCRIPTION\n"
    "  For each problem of the suite (or the one problem the PROBLEM OPTIONS describe,\n"
    "  the options of compare, below), writes a problem directory DIR/NAME/ with\n"
    "  problem.json and its arrays (.npy), and golden/: every output array correctly\n"
    "  rounded to float64 (NAME.npy), its per-element correct bits (NAME.bits.npy), the\n"
    "  values with 40 significant digits (NAME.txt) and provenance.json (versions,\n"
    "  precision, a hash of the inputs). Formats: docs/formats.md. Every value handed\n"
    "  out is known to at least 60 bits, or gen fails.\n"
    "\n"
    "  NAME is the problem's index in the suite (000 for one problem) and the sizes\n"
    "  and choices that tell problems apart:\n"
    "    NNN-FAMILY[-KERNEL-qQ | -ACTIVATION-MM]-SCHEME-ADJOINT-LL-mK-doutD[-sqrt]\n"
    "  e.g. 000-linear-euler-discrete-L8-m2-dout3,\n"
    "       001-rff-gaussian-q24-euler-discrete-L8-m2-dout3,\n"
    "       002-mlp-tanh-M6-euler-discrete-L8-m2-dout3 (the smoke suite).\n"
    "\n"
    "  gen never deletes a file it did not write.  Each problem directory holds\n"
    "  .nodeoracle-manifest, the list of the files gen wrote there (written last).\n"
    "  An existing DIR/NNN-... is replaced only if every entry in it is in its\n"
    "  manifest; anything else in it (a candidate saved there, a note), or no\n"
    "  manifest, is refused: exit 2, one line naming the entry.\n"
    "\n"
    "  All or nothing: options and destinations are checked before anything is\n"
    "  created; every problem is built into a hidden DIR/.NNN-....tmp.XXXXXX, every\n"
    "  destination checked again, then each is published with one atomic rename\n"
    "  (an existing one swapped out by renameat2 RENAME_EXCHANGE: a reader sees the\n"
    "  old or the new directory whole); if one fails, those before it are swapped\n"
    "  back.  A failed gen leaves DIR as it found it.  gen locks DIR (a second gen\n"
    "  into it exits 2) and removes the temporaries killed gens left there: only\n"
    "  directories named like them, owned by you, holding only files gen writes.\n"
    "  Details: docs/check.md.\n"
    "\n"
    "OPTIONS\n"
    "  --suite NAME   smoke (one problem per family, seconds), default (every family\n"
    "                 x euler, rk4 x discrete, continuous adjoint, and sqrt scaling),\n"
    "                 deep (L up to 1024), wide (q, M up to 4096), schemes (every\n"
    "                 scheme of --scheme x every adjoint kind, L = 5, m = 2 or 1);\n"
    "                 docs/check.md\n"
    "  --out DIR      output directory (created with its parents; removed again\n"
    "                 if gen fails)\n"
    "  --prec BITS    reference precision (default 192, so that the 40 digits are\n"
    "                 covered by the certified bits)\n"
    "  --max-memory SIZE  memory gen may use (e.g. 4G; default: the cgroup limit, else\n"
    "                 MemAvailable); a suite with a problem that needs more is refused\n"
    "                 before anything is written\n"
    "  --quiet        no progress lines on stderr\n"
    "\n"
    "  Give either --suite or PROBLEM OPTIONS (at least one), not both.\n"
    "\n";

/* Every value gen hands out is known to at least this many bits.  The
 * reference never certifies more bits than its working precision, so a
 * lower --prec cannot succeed: it is refused before anything is created. */
#define GEN_MIN_BITS 60

/* The directory name of problem i: its index, then what tells problems of
 * different suites (and of one suite) apart, in the order of problem.json:
 *   NNN-<family>[-<kernel|activation>-q<q>|-M<M>]-<scheme>-<adjoint>-L<L>-m<m>-dout<d_out>[-sqrt]
 * e.g. 001-rff-gaussian-q24-euler-discrete-L8-m2-dout3 (docs/formats.md, "gen's
 * layout"). */
static void problem_name(char *buf, size_t n, int i, const no_spec *s)
{
    char width[64] = "";
    if (s->family == NO_FAMILY_RFF)
        snprintf(width, sizeof width, "-%s-q%zu", no_kernel_name(s->kernel), s->q);
    else if (s->family == NO_FAMILY_MLP)
        snprintf(width, sizeof width, "-%s-M%zu", no_activation_name(s->activation), s->M);
    snprintf(buf, n, "%03d-%s%s-%s-%s-L%zu-m%zu-dout%zu%s", i, no_family_name(s->family), width,
             no_scheme_name(s->scheme), no_adjoint_name(s->adjoint), s->L, s->m, s->d_out,
             s->scaling == NO_SCALING_SQRT ? "-sqrt" : "");
}

/* The 40-significant-digit strings of every element of the high result. */
static char ***digit_strings(const ref_result *hi)
{
    char ***d = calloc((size_t)hi->count, sizeof *d);
    for (int i = 0; d && i < hi->count; i++) {
        d[i] = calloc(hi->a[i].n, sizeof **d);
        for (size_t e = 0; d[i] && e < hi->a[i].n; e++)
            if (mpfr_asprintf(&d[i][e], "%.39Re", hi->a[i].v[e]) < 0)
                d[i][e] = NULL;
    }
    return d;
}

static void digit_strings_free(char ***d, const ref_result *hi)
{
    for (int i = 0; d && i < hi->count; i++) {
        for (size_t e = 0; d[i] && e < hi->a[i].n; e++)
            mpfr_free_str(d[i][e]);
        free(d[i]);
    }
    free(d);
}

static double min_bits(const no_arrays *bits)
{
    double mb = 1e300;
    for (int i = 0; i < bits->count; i++)
        for (size_t e = 0; e < bits->a[i].n; e++)
            mb = bits->a[i].v[e] < mb ? bits->a[i].v[e] : mb;
    return mb;
}

/* SPEC 6 hands out correctly rounded doubles.  The value x (the higher-
 * precision result, with at least c correct bits: |x - x*| <= 2^(EXP(x)-c))
 * determines RN(x*) when both ends of that interval, rounded outward, round
 * to the same double: round-to-nearest is monotone, so everything between
 * rounds there too.  (mpfr_can_round's RNDZ-and-one-more-bit test is
 * stricter: it refuses every exactly representable x, e.g. the states
 * z_0 = A x with A the identity.)  Exact zeros (claimed to full precision)
 * round to 0 exactly. */
static int correctly_rounded(mpfr_srcptr x, mpfr_exp_t c)
{
    if (mpfr_zero_p(x))
        return 1;
    mpfr_t lo, hi, e;
    mpfr_inits2(mpfr_get_prec(x) + 2, lo, hi, e, (mpfr_ptr)0);
    mpfr_set_ui_2exp(e, 1, mpfr_get_exp(x) - c, MPFR_RNDN);
    mpfr_sub(lo, x, e, MPFR_RNDD);
    mpfr_add(hi, x, e, MPFR_RNDU);
    int ok = mpfr_get_d(lo, MPFR_RNDN) == mpfr_get_d(hi, MPFR_RNDN);
    mpfr_clears(lo, hi, e, (mpfr_ptr)0);
    return ok;
}

static int check_correctly_rounded(const char *dir, const ref_result *hi, const no_arrays *bits,
                                   char *err, size_t len)
{
    for (int i = 0; i < hi->count; i++) {
        const no_array *b = no_arrays_get(bits, hi->a[i].name);
        for (size_t e = 0; b && e < hi->a[i].n; e++)
            if (!correctly_rounded(hi->a[i].v[e], (mpfr_exp_t)b->v[e]))
                return no_errorf(err, len,
                                 "%s: %s[%zu] is not provably correctly rounded to double "
                                 "with %.0f certified bits; raise --prec",
                                 dir, hi->a[i].name, e, b->v[e]);
    }
    return 0;
}

/* Write the problem and its golden/ into dir; messages name the problem by
 * label (dir is a temporary name). */
static int gen_one(const char *dir, const char *label, const no_spec *s, long prec, char *err,
                   size_t len)
{
    no_problem p;
    if (no_problem_generate(&p, s, err, len))
        return -1;
    int rc = no_problem_dir_write(dir, &p, err, len);
    no_arrays vals, bits;
    ref_result hi;
    ref_setup setup = {.keep_hi = &hi, .progress = no_progress_ref()};
    if (!rc && !(rc = ref_certify_setup(&p, prec, &setup, &vals, &bits, err, len))) {
        uint64_t hash = 0;
        if (min_bits(&bits) < GEN_MIN_BITS) {
            rc = no_errorf(err, len, "%s: the reference has only %.0f certified bits (< %d); "
                                     "raise --prec", label, min_bits(&bits), GEN_MIN_BITS);
        } else if (check_correctly_rounded(label, &hi, &bits, err, len)) {
            rc = -1;
        } else if (no_problem_hash(&p, &hash)) {
            rc = no_errorf(err, len, "%s: cannot hash the problem's inputs", label);
        } else {
            char ***digits = digit_strings(&hi);
            rc = no_golden_write(dir, &vals, &bits, (const char *const *const *)digits, prec,
                                 hash, NODEORACLE_VERSION, err, len);
            digit_strings_free(digits, &hi);
        }
        ref_result_clear(&hi);
        no_arrays_free(&vals);
        no_arrays_free(&bits);
    }
    no_problem_free(&p);
    return rc;
}

/* ---- publishing: nothing lost, all or nothing (docs/check.md) ----------- */

/* One problem on its way to OUT/NAME. */
typedef struct {
    char name[128];
    char dest[NO_PATH_MAX];  /* OUT/NAME */
    char tmp[NO_PATH_MAX];   /* OUT/.NAME.tmp.XXXXXX: the new tree; after a swap, the old */
    char aside[NO_PATH_MAX]; /* template for a second temporary (no RENAME_EXCHANGE) */
    enum { GEN_EMPTY, GEN_BUILT, GEN_CREATED, GEN_SWAPPED } state;
} gen_slot;

/* May dest be replaced?  0 (absent, or every entry in it is gen's, by its
 * manifest), 1 or -1 with err naming the foreign entry or the problem. */
static int gen_check_dest(const char *dest, char *err, size_t len)
{
    struct stat st;
    if (lstat(dest, &st) != 0)
        return errno == ENOENT ? 0 : no_errorf(err, len, "%s: %s", dest, strerror(errno));
    char why[768];
    int rc = 1;
    if (!S_ISDIR(st.st_mode))
        snprintf(why, sizeof why, "%s: exists and is not a directory gen wrote", dest);
    else if ((rc = no_manifest_check(dest, 0, why, sizeof why)) < 0)
        return no_errorf(err, len, "%s", why);
    if (rc)
        no_errorf(err, len, "%s; gen replaces only what it wrote: move it away or choose "
                            "another --out", why);
    return rc;
}

/* Is name a temporary of gen's: .NNN-<anything>.tmp.XXXXXX (mkdtemp's six
 * letters and digits)? */
static int gen_temporary_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 5 + 11 || name[0] != '.' || !isdigit((unsigned char)name[1]) ||
        !isdigit((unsigned char)name[2]) || !isdigit((unsigned char)name[3]) || name[4] != '-' ||
        memcmp(name + n - 11, ".tmp.", 5))
        return 0;
    for (size_t i = n - 6; i < n; i++)
        if (!isalnum((unsigned char)name[i]))
            return 0;
    return 1;
}

/* Remove the temporaries that earlier, killed gens left in out: only those
 * named like ours, directories owned by us, whose contents are gen's by
 * their manifest or (killed mid-write) by their names.  The caller holds
 * out's lock, so no live gen is writing any of them.  Anything else stays,
 * silently: it is not ours to judge. */
static void gen_remove_stale(const char *out)
{
    DIR *d = opendir(out);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[NO_PATH_MAX], ignore[256];
        struct stat st;
        if (gen_temporary_name(e->d_name) &&
            !no_path_join(path, sizeof path, out, e->d_name, ignore, sizeof ignore) &&
            lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
            no_manifest_remove(path, 1, ignore, sizeof ignore);
    }
    if (d)
        closedir(d);
}

/* The length of the shortest prefix of out (a whole path component) that
 * does not exist, i.e. the first directory no_path_mkdirs will create; 0 if
 * out exists. */
static size_t gen_missing_from(const char *out)
{
    char buf[NO_PATH_MAX];
    size_t n = strlen(out);
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, out, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (i < n && (buf[i] != '/' || buf[i - 1] == '/'))
            continue;
        char c = buf[i];
        buf[i] = 0;
        struct stat st;
        int missing = lstat(buf, &st) != 0 && errno == ENOENT;
        buf[i] = c;
        if (missing)
            return i;
    }
    return 0;
}

/* Undo no_path_mkdirs: remove out and its parents down to the first one
 * that did not exist before (from, of gen_missing_from).  rmdir(2) removes
 * only empty directories, so nothing else can go with them. */
static void gen_unmake(const char *out, size_t from)
{
    char buf[NO_PATH_MAX];
    size_t n = strlen(out);
    if (!from || n >= sizeof buf)
        return;
    memcpy(buf, out, n + 1);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = 0;
    while (n >= from && rmdir(buf) == 0) {
        while (n > 0 && buf[n - 1] != '/')
            n--;
        while (n > 1 && buf[n - 1] == '/')
            n--;
        buf[n] = 0;
    }
}

/* Swap the trees at a and b (both exist).  renameat2(RENAME_EXCHANGE): one
 * step, a reader of either name sees one whole tree or the other.  Where
 * the file system cannot (EINVAL, ENOSYS: some network and FUSE file
 * systems, kernels before 3.15) three renames through a fresh temporary
 * (aside, a mkdtemp template): b is missing for the moment between two of
 * them - a reader may then fail to find it (docs/check.md). */
static int gen_swap(const char *a, const char *b, const char *aside, char *err, size_t len)
{
    int r = no_path_rename_dir(a, b, NO_RENAME_EXCHANGE, err, len);
    if (r <= 0)
        return r;
    char mid[NO_PATH_MAX];
    snprintf(mid, sizeof mid, "%s", aside);
    if (!mkdtemp(mid))
        return no_errorf(err, len, "%s: cannot create a temporary: %s", mid, strerror(errno));
    /* rename(2) of a directory onto an empty one replaces it. */
    if (rename(b, mid) != 0) {
        int e = errno;
        rmdir(mid);
        return no_errorf(err, len, "%s: cannot move aside: %s", b, strerror(e));
    }
    if (rename(a, b) != 0) {
        int e = errno;
        rename(mid, b);
        return no_errorf(err, len, "%s: cannot rename into place: %s", b, strerror(e));
    }
    if (rename(mid, a) != 0)
        return no_errorf(err, len, "%s: the earlier tree stays at %s: %s", b, mid,
                         strerror(errno));
    return 0;
}

/* Put slot s's new tree at its destination: a plain rename when there is
 * none, else a swap (the old tree goes to s->tmp). */
static int gen_publish(gen_slot *s, char *err, size_t len)
{
    struct stat st;
    if (lstat(s->dest, &st) == 0) {
        if (gen_swap(s->tmp, s->dest, s->aside, err, len))
            return -1;
        s->state = GEN_SWAPPED;
        return 0;
    }
    if (errno != ENOENT)
        return no_errorf(err, len, "%s: %s", s->dest, strerror(errno));
    if (no_path_rename_dir(s->tmp, s->dest, NO_RENAME_NOREPLACE, err, len))
        return -1;
    s->state = GEN_CREATED;
    return 0;
}

/* Undo gen_publish; on failure, note (appended to err) what is left. */
static void gen_unpublish(gen_slot *s, char *err, size_t len)
{
    char why[512];
    int rc = 0;
    if (s->state == GEN_SWAPPED)
        rc = gen_swap(s->tmp, s->dest, s->aside, why, sizeof why);
    else if (s->state == GEN_CREATED)
        rc = no_path_rename_dir(s->dest, s->tmp, NO_RENAME_NOREPLACE, why, sizeof why);
    if (rc) {
        size_t at = strlen(err);
        if (at < len)
            snprintf(err + at, len - at, "; and could not roll back %s: %.200s", s->name, why);
    }
    s->state = GEN_BUILT;
}

/* ---- gen in steps (suite.h): the serial command below, and nodeoracle-mpi -- */

struct no_gen {
    const char *suite, *out;
    long prec;
    int n;
    no_spec specs[NO_SUITE_MAX];
    gen_slot *slots;
    int lock;    /* the lock on out, or -1 */
    size_t made; /* gen_missing_from(out): what no_path_mkdirs created */
};

/* Make slot s's temporary OUT/.NAME.tmp.XXXXXX (mkdtemp: 0700, private). */
static int gen_slot_mkdtemp(gen_slot *s, const char *out, char *err, size_t len)
{
    char tname[160];
    snprintf(tname, sizeof tname, ".%s.tmp.XXXXXX", s->name);
    if (no_path_join(s->tmp, sizeof s->tmp, out, tname, err, len) ||
        no_path_join(s->aside, sizeof s->aside, out, tname, err, len))
        return -1;
    if (!mkdtemp(s->tmp))
        return no_errorf(err, len, "%s: cannot create a directory in it: %s", out,
                         strerror(errno));
    s->state = GEN_BUILT;
    return 0;
}

/* The manifest (last) and the permissions mkdir(2) would have given
 * (mkdtemp's are 0700). */
static int gen_slot_seal(gen_slot *s, char *err, size_t len)
{
    if (no_manifest_write(s->tmp, err, len))
        return -1;
    mode_t um = umask(0);
    umask(um);
    if (chmod(s->tmp, 0777 & ~um) != 0)
        return no_errorf(err, len, "%s: cannot set permissions: %s", s->tmp, strerror(errno));
    return 0;
}

/* Check the options.  Help and usage errors are printed here; *g is then
 * NULL and the return value the exit status. */
int no_gen_open(int argc, char **argv, no_gen **gp)
{
    *gp = NULL;
    const char *suite = NULL, *out = NULL;
    long prec = 192;
    char err[1024]; /* room for a long path and what to do about it */
    no_spec one;
    no_spec_default(&one);
    int gave_problem = 0;
    for (int i = 0; i < argc; i += 2) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(no_cmd_gen_help, stdout);
            fputs(no_spec_args_help, stdout);
            return NO_EXIT_PASS;
        }
        if (!strcmp(f, "--quiet")) { /* no progress lines; takes no value */
            no_progress_enable(0);
            i--;
            continue;
        }
        if (!v)
            return no_cmd_usage_error("option needs a value");
        if (!strcmp(f, "--max-memory")) {
            if (no_res_max_memory_arg(v, err, sizeof err))
                return no_cmd_usage_error(err);
        } else if (!strcmp(f, "--suite"))
            suite = v;
        else if (!strcmp(f, "--out"))
            out = v;
        else if (!strcmp(f, "--prec")) {
            if (no_cmd_parse_prec(v, &prec))
                return no_cmd_prec_error(v);
        } else {
            int r = no_spec_arg(&one, f, v, err, sizeof err);
            if (r < 0)
                return no_cmd_usage_error(err);
            if (r == 0) {
                snprintf(err, sizeof err, "unknown option '%s'", f);
                return no_cmd_usage_error(err);
            }
            gave_problem = 1;
        }
    }
    if (suite && gave_problem)
        return no_cmd_usage_error("gen: give either --suite or problem options, not both");
    if ((!suite && !gave_problem) || !out)
        return no_cmd_usage_error("gen needs --suite NAME or problem options (e.g. --family "
                                  "rff), and --out DIR");
    no_gen *g = calloc(1, sizeof *g);
    if (!g)
        return no_cmd_usage_error("out of memory");
    g->suite = suite;
    g->out = out;
    g->prec = prec;
    g->lock = -1;
    g->n = 1;
    if (suite) {
        g->n = no_suite_specs(suite, g->specs);
        if (g->n < 0) {
            free(g);
            snprintf(err, sizeof err, "unknown suite '%s' (known: %s)", suite, no_suite_names());
            return no_cmd_usage_error(err);
        }
    } else {
        g->specs[0] = one;
    }
    int n = g->n;
    for (int i = 0; i < n; i++)
        if (no_spec_validate(&g->specs[i], NO_REQ_NONE, err, sizeof err)) {
            free(g);
            return no_cmd_usage_error(err);
        }
    /* Everything that can be refused is refused before anything is made. */
    if (prec < GEN_MIN_BITS) {
        free(g);
        snprintf(err, sizeof err, "--prec: gen needs at least %d bits (every golden value "
                                  "must have %d certified bits), got %ld",
                 GEN_MIN_BITS, GEN_MIN_BITS, prec);
        return no_cmd_usage_error(err);
    }
    for (int i = 0; i < n; i++) {
        char what[64];
        if (suite)
            snprintf(what, sizeof what, "problem %d of %d of suite %.16s", i + 1, n, suite);
        else
            snprintf(what, sizeof what, "this problem");
        if (no_res_require(no_res_gen_bytes(&g->specs[i], prec), what, "use a smaller --prec",
                           err, sizeof err)) {
            free(g);
            fprintf(stderr, "nodeoracle: %s\n", err);
            return NO_EXIT_USAGE;
        }
    }
    g->slots = calloc((size_t)(n > 0 ? n : 1), sizeof *g->slots);
    if (!g->slots) {
        free(g);
        return no_cmd_usage_error("out of memory");
    }
    for (int i = 0; i < n; i++)
        problem_name(g->slots[i].name, sizeof g->slots[i].name, i, &g->specs[i]);
    *gp = g;
    return NO_EXIT_PASS;
}

int no_gen_count(const no_gen *g)
{
    return g->n;
}

const no_spec *no_gen_spec(const no_gen *g, int i)
{
    return &g->specs[i];
}

const char *no_gen_name(const no_gen *g, int i)
{
    return g->slots[i].name;
}

const char *no_gen_out(const no_gen *g)
{
    return g->out;
}

int no_gen_prepare(no_gen *g, char *err, size_t len)
{
    int rc = 0;
    struct stat st;
    int out_exists = stat(g->out, &st) == 0 && S_ISDIR(st.st_mode);
    for (int i = 0; !rc && i < g->n; i++)
        rc = no_path_join(g->slots[i].dest, sizeof g->slots[i].dest, g->out, g->slots[i].name,
                          err, len) ||
             (out_exists && gen_check_dest(g->slots[i].dest, err, len));
    g->made = rc ? 0 : gen_missing_from(g->out);
    if (!rc && no_path_mkdirs(g->out, err, len))
        rc = -1;
    /* The lock keeps a second gen out of this directory (each would take
     * the other's temporaries for stale ones), and lets us remove stale
     * ones: no live gen is writing them.  Without locks (NFS) none are. */
    if (!rc) {
        int r = no_path_lock_dir(g->out, &g->lock, err, len);
        if (r == 1) {
            rc = no_errorf(err, len, "%s: another nodeoracle gen is writing into it; "
                                     "wait for it to finish", g->out);
            g->made = 0; /* that gen may have made it, a moment after we looked */
        } else if (r < 0) {
            rc = -1;
        } else if (r == 0) {
            gen_remove_stale(g->out);
        }
    }
    return rc ? -1 : 0;
}

int no_gen_write(const no_gen *g, int i, const char *dir, char *err, size_t len)
{
    char label[NO_PATH_MAX]; /* OUT/NAME, as the serial gen's messages name it */
    if (no_path_join(label, sizeof label, g->out, g->slots[i].name, err, len) ||
        gen_one(dir, label, &g->specs[i], g->prec, err, len) ||
        no_manifest_write(dir, err, len))
        return -1;
    return 0;
}

int no_gen_build(no_gen *g, int i, const char *label, char *err, size_t len)
{
    gen_slot *s = &g->slots[i];
    no_progress_begin(label);
    int rc = gen_slot_mkdtemp(s, g->out, err, len) ||
             gen_one(s->tmp, s->dest, &g->specs[i], g->prec, err, len) ||
             gen_slot_seal(s, err, len);
    no_progress_end();
    return rc ? -1 : 0;
}

int no_gen_slot_open(no_gen *g, int i, char *path, size_t n, char *err, size_t len)
{
    gen_slot *s = &g->slots[i];
    if (gen_slot_mkdtemp(s, g->out, err, len))
        return -1;
    if (strlen(s->tmp) >= n)
        return no_errorf(err, len, "%s: path too long", s->tmp);
    memcpy(path, s->tmp, strlen(s->tmp) + 1);
    return 0;
}

int no_gen_slot_seal(no_gen *g, int i, char *err, size_t len)
{
    return gen_slot_seal(&g->slots[i], err, len);
}

int no_gen_finish(no_gen *g, int rc, const char *why)
{
    char err[1024];
    snprintf(err, sizeof err, "%s", rc ? why : "");
    int n = g->n;
    gen_slot *slots = g->slots;
    /* All problems are built into temporaries first, every destination is
     * checked again (under the lock), and only then published, each by a
     * swap; a failed publish swaps the earlier ones back.  The unit is the
     * whole suite: a failed gen leaves --out as it found it. */
    for (int i = 0; !rc && i < n; i++)
        rc = gen_check_dest(slots[i].dest, err, sizeof err);
    if (!rc) {
        /* An interrupt now would leave some problems new and some old:
         * it waits until every one is published or rolled back. */
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGHUP);
        sigaddset(&block, SIGQUIT);
        sigprocmask(SIG_BLOCK, &block, &old);
        for (int i = 0; !rc && i < n; i++)
            if ((rc = gen_publish(&slots[i], err, sizeof err)))
                for (int j = i - 1; j >= 0; j--)
                    gen_unpublish(&slots[j], err, sizeof err);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    /* The temporaries: the new trees after a failure, the old ones (already
     * checked to be gen's) after success. */
    for (int i = 0; i < n; i++) {
        char note[512];
        if (slots[i].state != GEN_EMPTY &&
            no_manifest_remove(slots[i].tmp, 1, note, sizeof note) && !rc)
            fprintf(stderr, "nodeoracle: note: kept %s: %s\n", slots[i].tmp, note);
    }
    char first[NO_PATH_MAX]; /* the one problem's directory, for the last line */
    snprintf(first, sizeof first, "%s", slots[0].dest);
    const char *suite = g->suite, *out = g->out;
    size_t made = g->made;
    no_gen_free(g);
    if (rc) {
        gen_unmake(out, made);
        fprintf(stderr, "nodeoracle: %s\n", err);
        return NO_EXIT_USAGE;
    }
    if (suite)
        printf("nodeoracle: wrote %d problems with golden references to %s\n", n, out);
    else
        printf("nodeoracle: wrote 1 problem with golden references to %s\n", first);
    return NO_EXIT_PASS;
}

void no_gen_free(no_gen *g)
{
    if (!g)
        return;
    if (g->lock >= 0)
        close(g->lock);
    free(g->slots);
    free(g);
}

int no_cmd_gen(int argc, char **argv)
{
    no_gen *g;
    int status = no_gen_open(argc, argv, &g);
    if (!g)
        return status;
    char err[1024];
    int n = g->n;
    int rc = no_gen_prepare(g, err, sizeof err);
    for (int i = 0; !rc && i < n; i++) {
        clock_t t0 = clock();
        char label[32];
        snprintf(label, sizeof label, "[%d/%d]", i + 1, n);
        rc = no_gen_build(g, i, label, err, sizeof err);
        if (!rc)
            fprintf(stderr, "[%d/%d] %s (%.1f s)\n", i + 1, n, g->slots[i].name,
                    (double)(clock() - t0) / CLOCKS_PER_SEC);
    }
    return no_gen_finish(g, rc, err);
}
