/* resources.h - will a problem fit in memory?  Decided before allocating.
 *
 * Each module estimates its own allocations (ref_memory_estimate in ref/,
 * fast_memory_estimate in fast/); here they are added up per command, set
 * against the memory available to the process, and a problem that does not
 * fit is refused with one line and exit 2 instead of dying in GMP's
 * allocator or the OOM killer after minutes.  And should an allocation of
 * GMP or MPFR fail anyway, no_res_install_allocators() turns GMP's abort
 * into the same one line and exit 2. */
#ifndef NO_RESOURCES_H
#define NO_RESOURCES_H

#include <stddef.h>

#include "problem.h"

/* A size such as "4G", "512M", "1.5GiB", "65536" (bytes; K, M, G, T are
 * powers of 1024, "iB" or "B" may follow) into *bytes > 0.  0, or -1. */
int no_res_parse_size(const char *v, double *bytes);

/* --max-memory: the memory this process may use, replacing the query of
 * no_res_available() (0: back to the query). */
void no_res_set_max_memory(double bytes);

/* The --max-memory option's value: parsed and set (0), or -1 with err. */
int no_res_max_memory_arg(const char *v, char *err, size_t len);

/* Bytes available to this process: --max-memory when given, else the least
 * of the cgroup limit (v2 memory.max, v1 memory.limit_in_bytes), the
 * kernel's MemAvailable and the room left under RLIMIT_AS (ulimit -v).
 * Negative when none of them can be read (then nothing is refused). */
double no_res_available(void);

/* Peak bytes of one problem under each command, from the modules' own
 * estimates: the problem's doubles, the reference certified at prec (both
 * runs alive), fast's workspace and outputs (compare), the golden strings
 * (gen), the candidate, the grid of nsteps steps (0: none) and the
 * diagnosis's extra reference runs (check; golden: the reference is read
 * from golden/ instead of computed). */
double no_res_compare_bytes(const no_spec *s, long prec);
double no_res_gen_bytes(const no_spec *s, long prec);
double no_res_check_bytes(const no_spec *s, long prec, size_t nsteps, int golden);

/* 0 if need bytes fit in what is available; else -1 with err = "WHAT needs
 * 37.2 GiB, 22.1 GiB available; HINT (or --max-memory)". */
int no_res_require(double need, const char *what, const char *hint, char *err, size_t len);

/* GMP's (and so MPFR's) allocation functions: malloc, and on failure one
 * line on stderr and exit(2).  Called once at program start. */
void no_res_install_allocators(void);

#endif
