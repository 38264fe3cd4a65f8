/* theorem_commands.h - the theorem checks of `nodeoracle theorem`, one file
 * each (oracle/theorem_NAME.c): run takes the arguments after NAME and
 * returns the exit status; help is the man-page text of `--help`. */
#ifndef NO_THEOREM_COMMANDS_H
#define NO_THEOREM_COMMANDS_H

int no_thm_pl(int argc, char **argv);
int no_thm_kappa(int argc, char **argv);
int no_thm_lambda(int argc, char **argv);
int no_thm_local_convergence(int argc, char **argv);
int no_thm_linear_counterexample(int argc, char **argv);

extern const char no_thm_pl_help[];
extern const char no_thm_kappa_help[];
extern const char no_thm_lambda_help[];
extern const char no_thm_local_convergence_help[];
extern const char no_thm_linear_counterexample_help[];

#endif
