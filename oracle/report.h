/* report.h - the report of a comparison: the human-readable table, and the
 * versioned JSON report. */
#ifndef NO_REPORT_H
#define NO_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "compare.h"

/* Header line (problem, precision, tolerance model), then one row per array. */
void no_report_print(FILE *f, const no_cmp_report *rep, int index, int total);

/* ---- the JSON report: docs/check.md, "JSON report"; docs/report.schema.json.
 * Every report object starts with "schema" (NO_REPORT_SCHEMA), "version" (the
 * tool's, as --version prints it), "kind" ("check", "check_directory",
 * "compare" or "error") and "command".  Every non-finite number is null. */

#define NO_REPORT_SCHEMA "nodeoracle-report/1"

/* A row's verdict as a lowercase token: "pass", "fail", "fail_nonfinite",
 * "fail_missing", "ref_too_weak", "unverifiable". */
const char *no_report_verdict_token(no_verdict v);
/* A comparison's verdict: "pass", "fail", "unverifiable" (some row is), or
 * "ref_too_weak" (nothing failed, nothing unverifiable, some row too weak). */
const char *no_report_outcome_token(const no_cmp_report *rep);
/* 0 pass, 1 fail, 3 unjudged. */
int no_report_outcome_exit(no_outcome o);

/* x as a JSON number, or null when x is NaN or infinite. */
json_t *no_report_num(double x);
/* s as a JSON string; bytes that are not printable ASCII become '?' when s
 * is not valid UTF-8 (a path), so that the member is never dropped. */
json_t *no_report_str(const char *s);
/* {"schema", "version", "kind", "command"}: the start of every report. */
json_t *no_report_json_new(const char *kind, const char *command);
/* Add one comparison to o: description, verdict, exit_status, scheme,
 * reference_bits(_asked, _cap), raise_note, meaningful_tol_max,
 * tolerance_model and arrays. */
void no_report_json_comparison(json_t *o, const no_cmp_report *rep);
/* Print root on stdout (indented, members in insertion order) and free it. */
void no_report_json_print(json_t *root);

/* From now on (--json was seen) an input or usage error also prints
 * {"schema", "version", "kind": "error", "command", "error": {"message",
 * "exit_status": 2}} on stdout, once.  no_cmd_usage_error calls
 * no_report_error_json. */
void no_report_json_errors(const char *command);
void no_report_error_json(const char *msg);
/* "nodeoracle: MSG" on stderr (and the error object under --json); returns
 * NO_EXIT_USAGE. */
/* The same object for a process that has run out of memory: no allocation. */
void no_report_error_json_noalloc(const char *msg);

int no_report_error(const char *msg);

#endif
