/* test_theorem.c - the verdict rule every `theorem` check uses
 * (oracle/theorem.h): lhs <= rhs holds only when the margin exceeds the
 * error bound, fails only when the opposite margin does, and is undecided
 * otherwise, including on NaN, infinities and a negative or NaN bound; the
 * exit status of a report follows its worst check. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "cmd.h"
#include "theorem.h"

Test(theorem, judge_is_three_valued)
{
    cr_expect_eq(no_thm_judge(1, 2, 0.5), NO_THM_HOLDS);
    cr_expect_eq(no_thm_judge(2, 1, 0.5), NO_THM_FAILS);
    cr_expect_eq(no_thm_judge(1, 1.4, 0.5), NO_THM_UNDECIDED); /* margin 0.4 < 0.5 */
    cr_expect_eq(no_thm_judge(1.4, 1, 0.5), NO_THM_UNDECIDED);
    cr_expect_eq(no_thm_judge(1, 1, 0), NO_THM_UNDECIDED); /* equal sides: never "holds" */
    cr_expect_eq(no_thm_judge(NAN, 1, 0), NO_THM_UNDECIDED);
    cr_expect_eq(no_thm_judge(1, INFINITY, 0), NO_THM_UNDECIDED);
    cr_expect_eq(no_thm_judge(1, 2, NAN), NO_THM_UNDECIDED);
    cr_expect_eq(no_thm_judge(1, 2, -1), NO_THM_UNDECIDED);
    cr_expect_eq(no_thm_judge(1, 2, INFINITY), NO_THM_UNDECIDED);
}

static int finish_with(const double (*sides)[3], int n)
{
    no_thm_report *r = no_thm_report_new("pl", "a statement", "a source");
    cr_assert_not_null(r);
    for (int i = 0; i < n; i++)
        no_thm_check(r, "c", sides[i][0], sides[i][1], sides[i][2], NULL);
    no_thm_value(r, "v", 1.5, 60, "note");
    /* the report and the failing check's line go to /dev/null */
    FILE *keep = stdout, *keep_err = stderr;
    stdout = fopen("/dev/null", "w");
    stderr = fopen("/dev/null", "w");
    int rc = no_thm_report_finish(r, 1);
    fclose(stdout);
    fclose(stderr);
    stdout = keep;
    stderr = keep_err;
    return rc;
}

Test(theorem, exit_status_follows_the_worst_check)
{
    const double hold[][3] = {{1, 2, 0}, {0, 1, 0.1}};
    const double undec[][3] = {{1, 2, 0}, {1, 1, 0}};
    const double fail[][3] = {{1, 2, 0}, {1, 1, 0}, {3, 2, 0.5}};
    cr_expect_eq(finish_with(hold, 2), NO_EXIT_PASS);
    cr_expect_eq(finish_with(undec, 2), NO_EXIT_UNJUDGED);
    cr_expect_eq(finish_with(fail, 3), NO_EXIT_MISMATCH);
    cr_expect_eq(finish_with(hold, 0), NO_EXIT_PASS);
}
