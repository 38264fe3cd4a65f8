/* fuzz_files.h - what the file-reader harnesses share (header-only, like
 * fuzz_common.h): a per-process scratch directory, the container format that
 * turns one fuzz input into several files, the check of error messages, and
 * the specs the candidate and golden readers are given.
 *
 * The io/ readers take paths, not buffers, so every input is written to real
 * files under the scratch directory and the reader is called on them: that
 * exercises the same fopen/fread/fstat paths the command uses.
 *
 * Container format (fuzz/README.md, "Input formats"): the input is cut at
 * every occurrence of the 4 bytes "\n@@ ".  The first piece is the header
 * (harness parameters, e.g. which spec).  Each further piece is one file:
 * its name up to the first '\n', then its content (the rest of the piece,
 * possibly empty).  So a file whose content must end in '\n' is written with
 * one more '\n' before the next separator than a reader might expect:
 *
 *   1\n@@ problem.json\n{"format": ...}\n@@ X.npy\n\x93NUMPY...
 *
 * Names are [A-Za-z0-9_.-]{1,64}, not "." or "..": a section with another
 * name is skipped, so the harness never writes outside its directory.  A
 * later section of the same name replaces an earlier one. */
#ifndef NO_FUZZ_FILES_H
#define NO_FUZZ_FILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"
#include "problem.h"
#include "suite.h"

#define FUZZ_SEP "\n@@ "
#define FUZZ_SEP_LEN 4
#define FUZZ_NAME_MAX 64
#define FUZZ_MAX_FILES 32

/* The scratch directory of this process: $TMPDIR or /tmp, then
 * nodeoracle-fuzz-XXXXXX.  Made once; removed at exit (a crash leaves it, as
 * evidence next to the saved input). */
static char fuzz_scratch_dir[NO_PATH_MAX];

static inline void fuzz_scratch_remove(void)
{
    char ignore[256];
    if (fuzz_scratch_dir[0])
        no_path_rmtree(fuzz_scratch_dir, ignore, sizeof ignore);
}

static inline const char *fuzz_scratch(void)
{
    if (!fuzz_scratch_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_scratch_dir, sizeof fuzz_scratch_dir, "%s/nodeoracle-fuzz-XXXXXX",
                 t && t[0] && strlen(t) < 1024 ? t : "/tmp");
        if (!mkdtemp(fuzz_scratch_dir)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_scratch_remove);
    }
    return fuzz_scratch_dir;
}

/* Remove everything the previous input left, and make sub (e.g. "in" or
 * "in/golden") again; returns the path of "in" in buf.  A fresh tree per
 * input, so a file of an earlier input can never make a later one pass. */
static inline void fuzz_reset(char *buf, size_t n, const char *sub)
{
    char err[512], path[NO_PATH_MAX];
    if (no_path_join(buf, n, fuzz_scratch(), "in", err, sizeof err) ||
        no_path_rmtree(buf, err, sizeof err) ||
        no_path_join(path, sizeof path, fuzz_scratch(), sub, err, sizeof err) ||
        no_path_mkdirs(path, err, sizeof err)) {
        fprintf(stderr, "fuzz: scratch: %s\n", err);
        abort();
    }
}

static inline void fuzz_write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[NO_PATH_MAX], err[256];
    if (no_path_join(path, sizeof path, dir, name, err, sizeof err)) {
        fprintf(stderr, "fuzz: %s\n", err);
        abort();
    }
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f)) {
        perror(path);
        abort();
    }
}

static inline const uint8_t *fuzz_find(const uint8_t *p, const uint8_t *end)
{
    for (; end - p >= FUZZ_SEP_LEN; p++)
        if (!memcmp(p, FUZZ_SEP, FUZZ_SEP_LEN))
            return p;
    return end;
}

static inline int fuzz_name_ok(const uint8_t *s, size_t n)
{
    if (n == 0 || n > FUZZ_NAME_MAX || (n == 1 && s[0] == '.') ||
        (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return 0;
    return 1;
}

/* Split data (container format above) into files in dir.  *header and
 * *header_len get the header piece.  Returns the number of files written. */
static inline int fuzz_unpack(const uint8_t *data, size_t size, const char *dir, const uint8_t **header,
                       size_t *header_len)
{
    const uint8_t *end = data + size, *p = fuzz_find(data, end);
    *header = data;
    *header_len = (size_t)(p - data);
    int files = 0;
    while (p < end && files < FUZZ_MAX_FILES) {
        p += FUZZ_SEP_LEN;
        const uint8_t *next = fuzz_find(p, end), *nl = p;
        while (nl < next && *nl != '\n')
            nl++;
        if (nl < next && fuzz_name_ok(p, (size_t)(nl - p))) {
            char name[FUZZ_NAME_MAX + 1];
            memcpy(name, p, (size_t)(nl - p));
            name[nl - p] = 0;
            fuzz_write_file(dir, name, nl + 1, (size_t)(next - nl - 1));
            files++;
        }
        p = next;
    }
    return files;
}

/* The readers' contract (docs/formats.md): a bad file is reported in one
 * line naming the problem.  So a failure must leave a non-empty message, NUL
 * terminated inside the buffer, with no line break, no other control
 * character and no byte >= 0x80: hostile bytes must not reach the terminal
 * raw, and io/ quotes file text through no_jsonio_clean (printable ASCII).
 * The scratch paths are ASCII, so every other byte came from the input. */
static inline void fuzz_check_message(const char *who, int rc, const char *err, size_t len)
{
    if (rc != 0 && rc != -1) {
        fprintf(stderr, "FUZZ PROPERTY VIOLATED: %s returned %d (not 0 or -1)\n", who, rc);
        abort();
    }
    /* NO_FUZZ_VERBOSE=1: say what each reader made of the input (replay). */
    if (getenv("NO_FUZZ_VERBOSE"))
        fprintf(stderr, "%s: %s\n", who, rc ? err : "ok");
    if (rc == 0)
        return;
    size_t n = strnlen(err, len);
    const char *why = n == len ? "is not NUL-terminated" : n == 0 ? "is empty" : NULL;
    for (size_t i = 0; !why && i < n; i++)
        if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] >= 0x7f)
            why = err[i] == '\n' || err[i] == '\r' ? "has a line break"
                  : (unsigned char)err[i] >= 0x80    ? "has a non-ASCII byte"
                                                     : "has a control character";
    if (why) {
        fprintf(stderr, "FUZZ PROPERTY VIOLATED: %s failed and its message %s: \"%.*s\"\n", who,
                why, (int)(n < 1024 ? n : 1024), err);
        abort();
    }
}

/* The specs of the candidate and golden harnesses, chosen by the header's
 * first byte ('0' + k, any byte works modulo the count): k = 0, 1, 2 are the
 * smoke suite's problems (linear, rff gaussian, mlp tanh: what `nodeoracle
 * gen --suite smoke` writes, so the seed corpus is real files), k = 3, 4, 5
 * the same families with every size 1 or 2, so that a whole input is a few
 * hundred bytes and the fuzzer mutates structure, not data. */
#define FUZZ_NSPECS 6
static no_spec fuzz_specs[FUZZ_NSPECS];

static inline void fuzz_specs_init(void)
{
    no_spec smoke[NO_SUITE_MAX];
    if (no_suite_specs("smoke", smoke) != 3) {
        fprintf(stderr, "fuzz: the smoke suite no longer has 3 problems; update fuzz_files.h\n");
        abort();
    }
    for (int k = 0; k < 3; k++) {
        fuzz_specs[k] = smoke[k];
        no_spec *t = &fuzz_specs[3 + k];
        *t = smoke[k];
        t->N = t->d_in = t->d_out = t->L = t->m = 1;
        t->D = 2;
        if (t->q)
            t->q = 2;
        if (t->M)
            t->M = 2;
    }
    char err[256];
    for (int k = 0; k < FUZZ_NSPECS; k++)
        if (no_spec_validate(&fuzz_specs[k], 0, err, sizeof err)) {
            fprintf(stderr, "fuzz: spec %d does not validate: %s\n", k, err);
            abort();
        }
}

static inline const no_spec *fuzz_spec_of(const uint8_t *header, size_t n)
{
    /* + 240 keeps it positive; 240 is a multiple of 6, so '0' is spec 0. */
    return &fuzz_specs[n ? (unsigned)(header[0] + 240 - '0') % FUZZ_NSPECS : 0];
}

#endif
