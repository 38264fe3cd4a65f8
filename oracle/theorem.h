/* theorem.h - what every `nodeoracle theorem NAME` check shares: the
 * statement and its source, the inequalities checked with a three-valued
 * verdict, the quantities evaluated, the text table and the JSON report
 * (kind "theorem", docs/theorems.md, docs/report.schema.json), the exit
 * status.
 *
 * Never a false verdict: an inequality lhs <= rhs is judged from the two
 * sides and a bound on their absolute errors (from the reference's
 * certified bits, or the double error model of fast): it *holds* when
 * rhs - lhs exceeds the error bound, *fails* when lhs - rhs does, and is
 * *undecided* otherwise.  The exit status is 0 when every check holds, 1
 * when one fails (the first failing check is named on stderr), 3 when none
 * fails but one is undecided, 2 on bad input (the commands' usual contract).
 */
#ifndef NO_THEOREM_H
#define NO_THEOREM_H

#include <jansson.h>
#include <stddef.h>

typedef enum { NO_THM_HOLDS, NO_THM_FAILS, NO_THM_UNDECIDED } no_thm_verdict;

/* lhs <= rhs judged with err (>= 0, an absolute bound on the error of
 * rhs - lhs; NaN or infinite lhs, rhs or err: undecided). */
no_thm_verdict no_thm_judge(double lhs, double rhs, double err);

typedef struct no_thm_report no_thm_report;

/* theorem: the command's name ("pl", "kappa", ...); statement: the result
 * in our normalisation, one or two lines; source: seed and section ("seed
 * 004, slides 'Local P-L Condition'"). NULL on no memory. */
no_thm_report *no_thm_report_new(const char *theorem, const char *statement,
                                 const char *source);
void no_thm_report_free(no_thm_report *r);

/* One inequality lhs <= rhs named name (e.g. "m(R) F <= |grad F|^2" or
 * "F(theta^3) <= (1 - eta m)^3 F(theta^0)"), judged by no_thm_judge; note
 * (may be NULL) says what the sides are or which reading of a seed it is.
 * The report keeps copies of the strings.  Returns the verdict. */
no_thm_verdict no_thm_check(no_thm_report *r, const char *name, double lhs, double rhs,
                            double err, const char *note);

/* A quantity evaluated (a constant, a moment, a smallest eigenvalue, a
 * link's ratio...): name, value, correct bits (0: not stated), note. */
void no_thm_value(no_thm_report *r, const char *name, double value, double bits,
                  const char *note);

/* Extra structured data for the JSON report only (a table of iterates, the
 * point sets, ...): key must be new; the report takes the reference. */
void no_thm_detail(no_thm_report *r, const char *key, json_t *value);

/* Prints the report (text table on stdout, or the JSON object when json)
 * and returns the exit status: 0 all hold, 1 one fails (also named on
 * stderr in one line), 3 none fails but one is undecided.  Frees r. */
int no_thm_report_finish(no_thm_report *r, int json);

/* Dispatch of `nodeoracle theorem NAME ...` (oracle/cmd_theorem.c): each
 * theorem is one function taking the arguments after NAME, and one help. */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
    const char *summary; /* one line for `nodeoracle theorem --help` */
} no_thm_command;

#endif
