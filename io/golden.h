/* golden.h - the reference outputs of a problem, PROBLEM/golden/
 * (docs/formats.md, "Golden reference values"), and the hash that ties them
 * to the problem's inputs.
 *
 * For every output array NAME (the layout of arrays.h):
 *   NAME.npy       the reference correctly rounded to float64
 *   NAME.bits.npy  per element, the number of correct bits of the reference
 *   NAME.txt       per element, row-major: "<40 significant digits> <bits>\n"
 * and provenance.json, written last (a golden/ with it is complete):
 *   {"nodeoracle": VERSION, "mpfr": mpfr_get_version(), "gmp": gmp_version,
 *    "precision": BITS, "inputs_hash": "16 lowercase hex digits",
 *    "sha256": {"NAME.npy": "64 lowercase hex digits", ...}}
 * with exactly these members; "sha256" holds the SHA-256 of every file above
 * (NAME.npy, NAME.bits.npy, NAME.txt), so that a golden file changed after
 * gen is an input error (no_golden_verify), not a failing candidate. */
#ifndef NO_GOLDEN_H
#define NO_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include "arrays.h"
#include "problem.h"
#include "sha256.h"

/* Write dir/golden/ (created if missing).  values and bits have the same
 * arrays (names and shapes), as ref_certify() returns them.  digits is NULL
 * or has values->count entries, each NULL or values->a[i].n strings: the
 * reference of each element with 40 significant digits, as
 * mpfr_asprintf("%.39Re") gives it from the high-precision result (no
 * whitespace).  Where a string is not given, the line holds the float64
 * value's own digits and min(bits, 53): a correctly rounded double is within
 * a relative 2^-53 of the reference, and the text must not claim more.
 * version is nodeoracle's version string; prec the working precision in bits.
 * Returns 0, or -1 with err filled. */
int no_golden_write(const char *dir, const no_arrays *values, const no_arrays *bits,
                    const char *const *const *digits, long prec, uint64_t inputs_hash,
                    const char *version, char *err, size_t len);

/* Read dir/golden/NAME.npy and NAME.bits.npy for every array of spec's
 * output layout (all required; loss may have shape () or (1,)); shapes are
 * checked against spec, values and bits must be finite, bits >= 0.
 * The contents are not checked against provenance.json's hashes: call
 * no_golden_verify first (check does).
 * Returns 0, or -1 with err filled and values, bits empty. */
int no_golden_read(const char *dir, const no_spec *spec, no_arrays *values, no_arrays *bits,
                   char *err, size_t len);

/* At most three files per output array. */
#define NO_GOLDEN_MAX_FILES (3 * NO_MAX_ARRAYS)

typedef struct {
    char name[NO_NAME_LEN + 16]; /* a file in golden/: "grad_W.bits.npy" */
    unsigned char sha256[NO_SHA256_SIZE];
} no_golden_file_hash;

typedef struct {
    char version[64]; /* nodeoracle's */
    char mpfr[64];
    char gmp[64];
    long prec;
    uint64_t inputs_hash;
    int nfiles; /* the "sha256" member */
    no_golden_file_hash files[NO_GOLDEN_MAX_FILES];
} no_golden_provenance;

/* Read dir/golden/provenance.json.  "sha256" is required: a golden/ written
 * before it existed is refused with the advice to regenerate it.  Its keys
 * must be plain file names (letters, digits, '_', '.'; not starting with
 * '.'), never paths: they are only looked up, never opened.  Returns 0, or
 * -1 with err filled. */
int no_golden_provenance_read(const char *dir, no_golden_provenance *pv, char *err, size_t len);

/* Check that dir/golden/NAME.npy and NAME.bits.npy of every array of spec's
 * output layout (what no_golden_read reads) have the SHA-256 that pv
 * records.  Returns 0, or -1 with err filled: "DIR/golden/grad_W.npy:
 * SHA-256 mismatch with provenance.json (modified after gen?)", or no hash
 * recorded for it, or the file cannot be read. */
int no_golden_verify(const char *dir, const no_spec *spec, const no_golden_provenance *pv,
                     char *err, size_t len);

/* The inputs hash: FNV-1a 64 (offset basis 0xcbf29ce484222325, prime
 * 0x100000001b3) over, in this order, the bytes of
 * no_problem_dir_canonical(&p->spec) (without its terminating NUL), then the
 * elements of every input array of the family in the order of
 * no_problem_dir_arrays() (X Y A B, Omega beta, W, a u b), each element as
 * its 8 bytes of IEEE 754 binary64, little-endian (the .npy data bytes).
 * A change detector, not a cryptographic hash.  Returns 0 and *hash, or -1
 * (an array is missing, out of memory, or a seed above 2^63 - 1). */
int no_problem_hash(const no_problem *p, uint64_t *hash);

#endif
