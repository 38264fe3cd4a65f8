/* spec_args.h - command-line flags that describe a problem (shared by every
 * command that takes a problem). */
#ifndef NO_SPEC_ARGS_H
#define NO_SPEC_ARGS_H

#include <stddef.h>

#include "problem.h"

/* If flag (e.g. "--family") is a problem flag, parse value into s and return 1;
 * return 0 if it is not a problem flag; -1 with err on a bad value. */
int no_spec_arg(no_spec *s, const char *flag, const char *value, char *err, size_t len);

/* The last branch of every command's option loop: flag is a problem flag
 * (parsed into s, 0) or the option is unknown (-1, err "unknown option
 * 'FLAG'"); -1 with err also on a bad value. */
int no_spec_arg_or_unknown(no_spec *s, const char *flag, const char *value, char *err,
                           size_t len);

/* The help text of the problem flags. */
extern const char no_spec_args_help[];

#endif
