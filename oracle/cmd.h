/* cmd.h - the subcommands of `nodeoracle` (oracle/main.c dispatches). */
#ifndef NO_CMD_H
#define NO_CMD_H

#include <stddef.h>

#define NODEORACLE_VERSION "0.2.0"

/* Exit status: 0 every comparison passed, 1 a comparison failed, 2 usage or
 * input error, 3 nothing failed but something could not be judged (an
 * unverifiable problem, or a reference too weak even at the precision cap). */
enum { NO_EXIT_PASS = 0, NO_EXIT_MISMATCH = 1, NO_EXIT_USAGE = 2, NO_EXIT_UNJUDGED = 3 };

/* "nodeoracle: MSG (try 'nodeoracle help')" on stderr; returns NO_EXIT_USAGE. */
int no_cmd_usage_error(const char *msg);

/* --json anywhere among argv: from now on an error is also the JSON error
 * object on stdout (oracle/report.h), even one found in an option before
 * --json is reached.  switches: the command's options that take no value
 * (NULL-terminated; --json, --quiet, --help and -h are always switches), so
 * that an option's value is never taken for --json. */
void no_cmd_json_prescan(int argc, char **argv, const char *command,
                         const char *const *switches);

/* --prec: bits in [REF_PREC_MIN, REF_CERTIFY_PREC_MAX] (53..43691: the
 * certification run needs half as many bits again); 0, or -1 for a bad value. */
int no_cmd_parse_prec(const char *v, long *prec);
/* The usage error of a bad --prec value v (the range in one place). */
int no_cmd_prec_error(const char *v);

/* --eta, a learning rate (train, check --train): a finite number > 0 into
 * *eta and 0, or the usage error (one line, NO_EXIT_USAGE). */
int no_cmd_parse_eta(const char *v, double *eta);

/* An integer option f = v in [lo, hi] into *out and 0; or -1 with err
 * (one line naming f, the range and the value). */
int no_cmd_parse_count(const char *f, const char *v, size_t lo, size_t hi, size_t *out,
                       char *err, size_t len);
/* --impl: "fast" gives 0, "ref" 1, into *is_ref; else -1 with err. */
int no_cmd_parse_impl(const char *v, int *is_ref, char *err, size_t len);

/* A finite real option f = v in [lo, hi] ((lo, hi] when open_lo) into *out
 * and 0; or -1 with err. */
int no_cmd_parse_real(const char *f, const char *v, double lo, double hi, int open_lo,
                      double *out, char *err, size_t len);

/* What every command's option loop shares, for argument f (value v, NULL
 * when f is the last): --help/-h gives NO_CMD_ARG_HELP (the caller prints
 * its help, exits 0); --json, and --quiet when quiet is not NULL (it also
 * silences progress), set their flag and give NO_CMD_ARG_SWITCH; an option
 * without a value prints the usage error and gives NO_EXIT_USAGE; anything
 * else gives NO_CMD_ARG_VALUE: f takes the value v. */
enum { NO_CMD_ARG_VALUE = -1, NO_CMD_ARG_SWITCH = -2, NO_CMD_ARG_HELP = -3 };
int no_cmd_arg_common(const char *f, const char *v, int *json, int *quiet);

int no_cmd_gen(int argc, char **argv);
int no_cmd_check(int argc, char **argv);
int no_cmd_train(int argc, char **argv);
int no_cmd_width(int argc, char **argv);
int no_cmd_depth(int argc, char **argv);
int no_cmd_theorem(int argc, char **argv);
int no_cmd_potential(int argc, char **argv);
int no_cmd_cot_distance(int argc, char **argv);
int no_cmd_cot_flow(int argc, char **argv);
/* `help theorem [NAME]`: the list of theorems, or one theorem's help. */
int no_cmd_theorem_help(int argc, char **argv);

extern const char no_cmd_gen_help[];
extern const char no_cmd_check_help[];
extern const char no_cmd_train_help[];
extern const char no_cmd_width_help[];
extern const char no_cmd_depth_help[];
extern const char no_cmd_potential_help[];
extern const char no_cmd_cot_distance_help[];
extern const char no_cmd_cot_flow_help[];

#endif
