/* cmd_theorem.c - `nodeoracle theorem NAME ...`: the theorems' constants
 * checked (SPEC 5.1-5.5; docs/theorems.md).  Each theorem lives in its own
 * file, oracle/theorem_NAME.c, with its run function and help; the
 * reporting they share is oracle/theorem.h. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "report.h"
#include "theorem.h"
#include "theorem_commands.h"

static const no_thm_command commands[] = {
    {"pl", no_thm_pl, no_thm_pl_help,
     "the local PL chain m(R) F <= |grad_H F|^2 <= M(R) F, link by link"},
    {"kappa", no_thm_kappa, no_thm_kappa_help,
     "kappa of the Matern / Gaussian RKHS: exact spectral moments and the slides' bound"},
    {"lambda", no_thm_lambda, no_thm_lambda_help,
     "lambda(delta): smallest Gram eigenvalue over delta-separated point sets"},
    {"local-convergence", no_thm_local_convergence, no_thm_local_convergence_help,
     "the local-convergence condition, and GD checked against its rate"},
    {"linear-counterexample", no_thm_linear_counterexample,
     no_thm_linear_counterexample_help,
     "the linear NODE with target -I from W = 0: the closed form, to 30 digits"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

const char no_cmd_theorem_help_head[] =
    "NAME\n"
    "  nodeoracle theorem - the constants of the papers' theorems, evaluated and checked\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle theorem NAME [OPTIONS] [--json]\n"
    "  nodeoracle theorem NAME --help\n"
    "\n"
    "DESCRIPTION\n"
    "  Each NAME evaluates the quantities of one result of the seeds (SPEC 5.1-5.5) on a\n"
    "  concrete problem, in the MPFR reference (and in fast where it is cheap), and checks\n"
    "  its inequalities. An inequality lhs <= rhs holds when rhs - lhs exceeds the bound on\n"
    "  the error of the two sides, fails when lhs - rhs does, and is undecided otherwise:\n"
    "  a verdict is never printed on numbers that cannot support it. The statement, its\n"
    "  seed and our normalisation are in proofs-notes/theorem-NAME.md.\n"
    "\n"
    "THEOREMS\n";

const char no_cmd_theorem_help_tail[] =
    "\n"
    "OUTPUT\n"
    "  A text table (quantities with their correct bits; inequalities with both sides,\n"
    "  their ratio and verdict), or with --json one object of kind \"theorem\"\n"
    "  (docs/theorems.md, docs/report.schema.json).\n"
    "\n"
    "EXIT STATUS\n"
    "  0 every inequality checked holds; 1 one fails (named on stderr); 2 usage or input\n"
    "  error (one line on stderr); 3 none fails but one could not be decided at the\n"
    "  precision reached.\n";

static void print_help(void)
{
    fputs(no_cmd_theorem_help_head, stdout);
    for (size_t i = 0; i < NCOMMANDS; i++)
        printf("  %-22s %s\n", commands[i].name, commands[i].summary);
    fputs(no_cmd_theorem_help_tail, stdout);
}

int no_cmd_theorem_help(int argc, char **argv)
{
    for (size_t i = 0; argc > 0 && i < NCOMMANDS; i++)
        if (!strcmp(argv[0], commands[i].name)) {
            fputs(commands[i].help, stdout);
            return NO_EXIT_PASS;
        }
    if (argc > 0)
        return no_cmd_usage_error("no such theorem (try 'nodeoracle theorem --help')");
    print_help();
    return NO_EXIT_PASS;
}

int no_cmd_theorem(int argc, char **argv)
{
    /* options come after NAME: prescan them, not NAME (it would pair with
     * the first option as its value) */
    int skip = argc > 0 && argv[0][0] != '-'; /* NAME, when there is one */
    no_cmd_json_prescan(argc - skip, argv + skip, "theorem", NULL);
    if (argc < 1)
        return no_cmd_usage_error("theorem needs a NAME (try 'nodeoracle theorem --help')");
    if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))
        return no_cmd_theorem_help(0, NULL);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[0], commands[i].name)) {
            for (int j = 1; j < argc; j++)
                if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
                    fputs(commands[i].help, stdout);
                    return NO_EXIT_PASS;
                }
            return commands[i].run(argc - 1, argv + 1);
        }
    char err[160];
    snprintf(err, sizeof err, "unknown theorem '%.60s' (try 'nodeoracle theorem --help')",
             argv[0]);
    return no_cmd_usage_error(err);
}
