/* progress.c - see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AFTER_S 2.0     /* quiet this long: most problems end before */
#define TTY_EVERY_S 1.0 /* a terminal line is rewritten at most this often */
#define LOG_EVERY_S 10.0

static struct {
    int init, on, tty;
    int active;         /* between no_progress_begin and no_progress_end */
    double after;       /* seconds of silence */
    char label[64];
    double start;       /* the problem's start */
    double base, base_f; /* where the current run's fraction started (a new run restarts it) */
    double last_f, last_print;
    int printed, width;  /* lines printed; the terminal line's length */
} pr;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void init(void)
{
    if (pr.init)
        return;
    pr.init = 1;
    const char *e = getenv("NODEORACLE_PROGRESS");
    pr.on = !(e && !strcmp(e, "0"));
    const char *a = getenv("NODEORACLE_PROGRESS_AFTER");
    char *end;
    double x = a ? strtod(a, &end) : AFTER_S;
    pr.after = a && *a && !*end && x >= 0 ? x : AFTER_S;
    pr.tty = isatty(STDERR_FILENO);
}

void no_progress_enable(int on)
{
    init();
    if (!on)
        pr.on = 0;
}

void no_progress_begin(const char *label)
{
    init();
    no_progress_end();
    snprintf(pr.label, sizeof pr.label, "%s", label ? label : "");
    pr.start = pr.base = now();
    pr.base_f = pr.last_f = 0;
    pr.last_print = -1e300;
    pr.printed = 0;
    pr.active = 1;
}

void no_progress_end(void)
{
    if (pr.tty && pr.width > 0) /* erase the line: the report comes next */
        fprintf(stderr, "\r%*s\r", pr.width, "");
    pr.width = 0;
    pr.active = 0;
}

static void fmt_seconds(char *buf, size_t len, double s)
{
    if (s < 120)
        snprintf(buf, len, "%.1f s", s);
    else if (s < 7200)
        snprintf(buf, len, "%.1f min", s / 60);
    else
        snprintf(buf, len, "%.1f h", s / 3600);
}

void no_progress_tick(void *ctx, const char *pass, size_t layer, size_t L, double f)
{
    /* Only inside a command's problem: library callers (the tests) never
     * begin one, and get no lines. */
    if (!pr.on || !pr.active)
        return;
    double t = now();
    if (f < pr.last_f) { /* a new run (the diagnosis's next hypothesis) */
        pr.base = t;
        pr.base_f = 0;
    }
    pr.last_f = f;
    if (t - pr.start < pr.after || t - pr.last_print < (pr.tty ? TTY_EVERY_S : LOG_EVERY_S))
        return;
    pr.last_print = t;
    char el[32], left[48] = "";
    fmt_seconds(el, sizeof el, t - pr.start);
    /* Remaining time at the rate of the current run so far. */
    double df = f - pr.base_f;
    if (df > 0.001 && f < 1) {
        char r[32];
        fmt_seconds(r, sizeof r, (t - pr.base) * (1 - f) / df);
        snprintf(left, sizeof left, ", ~%s left", r);
    }
    char line[256];
    const char *who = ctx ? (const char *)ctx : "";
    /* a pass counts layers, except training's iterations and width's runs */
    const char *unit = strcmp(pass, "iteration") && strcmp(pass, "run") ? " layer" : "";
    int n = snprintf(line, sizeof line, "nodeoracle: %s%s%s%s%s%s %zu of %zu, %.0f%%, %s%s",
                     pr.label, pr.label[0] ? " " : "", who, who[0] ? " " : "", pass, unit,
                     layer + 1, L, 100 * f, el, left);
    if (n < 0)
        return;
    if (pr.tty) {
        /* pad over a longer previous line */
        fprintf(stderr, "\r%s%*s", line, pr.width > n ? pr.width - n : 0, "");
        pr.width = n > pr.width ? n : pr.width;
    } else {
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
    pr.printed++;
}

/* The hooks' context names the implementation in the line. */
static char ref_name[] = "ref", fast_name[] = "fast";

ref_progress no_progress_ref(void)
{
    init();
    return pr.on ? (ref_progress){no_progress_tick, ref_name} : (ref_progress){NULL, NULL};
}

const fast_progress *no_progress_fast(void)
{
    static fast_progress hook = {no_progress_tick, fast_name};
    init();
    return pr.on ? &hook : NULL;
}

const ref_setup *no_progress_setup(void)
{
    static ref_setup setup;
    setup.progress = no_progress_ref();
    return &setup;
}
