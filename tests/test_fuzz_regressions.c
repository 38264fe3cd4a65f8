/* fuzz_regressions: every input the libFuzzer harnesses of fuzz/ found a
 * problem with, replayed through the reader it broke (fuzz/README.md,
 * "Findings").  The inputs are the files of fuzz/findings/, in the format of
 * the harness that found them (fuzz/fuzz_files.h: a container cut at
 * "\n@@ " into a header and files; fuzz_npy: the file itself); each test
 * unpacks one into a scratch directory, calls the reader as the harness did
 * and asserts the harness's property: no crash (a sanitizer build would
 * report memory errors: `make sanitize`), and a failure reported in one
 * non-empty line of printable ASCII with the outputs left empty. */
#define _XOPEN_SOURCE 700 /* nftw, in test_run.h */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate.h"
#include "golden.h"
#include "npy.h"
#include "problem_dir.h"
#include "test_run.h"
/* The container format and the harnesses' specs, from the harnesses
 * themselves, so the tests replay exactly what the fuzzer ran. */
#include "../fuzz/fuzz_files.h"

static char work[64];

static void setup(void)
{
    snprintf(work, sizeof work, "/tmp/no_fuzzreg_XXXXXX");
    cr_assert_not_null(mkdtemp(work), "mkdtemp failed");
    fuzz_specs_init();
}

static void teardown(void)
{
    char ignore[256];
    no_path_rmtree(work, ignore, sizeof ignore);
}

TestSuite(fuzz_regressions, .init = setup, .fini = teardown);

/* The bytes of fuzz/findings/<name>; *n their count. */
static uint8_t *finding(const char *name, size_t *n)
{
    char rel[256], path[PATH_MAX];
    snprintf(rel, sizeof rel, "fuzz/findings/%s", name);
    no_test_repo_path(path, sizeof path, rel);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: cannot open", path);
    uint8_t *buf = malloc(1 << 20);
    cr_assert_not_null(buf);
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* Unpack a container finding into work/in (and work/in/golden when golden);
 * returns the spec its header picks.  dir gets work/in. */
static const no_spec *unpack(const char *name, int golden, char *dir, size_t n)
{
    size_t size, hlen;
    const uint8_t *header;
    uint8_t *data = finding(name, &size);
    char err[256], sub[NO_PATH_MAX];
    cr_assert_eq(no_path_join(dir, n, work, "in", err, sizeof err), 0);
    cr_assert_eq(no_path_join(sub, sizeof sub, dir, golden ? "golden" : "", err, sizeof err), 0);
    cr_assert_eq(no_path_mkdirs(sub, err, sizeof err), 0, "%s", err);
    cr_assert_gt(fuzz_unpack(data, size, sub, &header, &hlen), 0);
    const no_spec *spec = fuzz_spec_of(header, hlen);
    free(data);
    return spec;
}

/* The readers' contract: a failure in one non-empty line of printable ASCII. */
static void assert_one_line(const char *err, size_t len)
{
    size_t n = strnlen(err, len);
    cr_assert(n > 0 && n < len, "message empty or not terminated");
    for (size_t i = 0; i < n; i++)
        cr_assert((unsigned char)err[i] >= 0x20 && (unsigned char)err[i] < 0x7f,
                  "byte 0x%02x at %zu of the message: %s", (unsigned char)err[i], i, err);
}

/* jansson quoted the offending bytes of a JSON file raw in its message, so
 * problem.json holding ESC [ 3 1 m (or any control byte, or invalid UTF-8)
 * put them on the terminal.  io/jsonio.c now keeps printable ASCII only. */
Test(fuzz_regressions, problem_json_escape_byte)
{
    char dir[NO_PATH_MAX], err[512];
    no_problem p;
    unpack("problem_dir-json-escape-byte", 0, dir, sizeof dir);
    cr_assert_eq(no_problem_dir_read(dir, &p, err, sizeof err), -1);
    assert_one_line(err, sizeof err);
    cr_assert(strstr(err, "near '?"), "%s", err);
}

Test(fuzz_regressions, problem_json_non_ascii)
{
    char dir[NO_PATH_MAX], err[512];
    no_problem p;
    unpack("problem_dir-json-non-ascii", 0, dir, sizeof dir);
    cr_assert_eq(no_problem_dir_read(dir, &p, err, sizeof err), -1);
    assert_one_line(err, sizeof err);
}

/* The same through candidate.json (a valid tiny candidate otherwise). */
Test(fuzz_regressions, candidate_json_bell_byte)
{
    char dir[NO_PATH_MAX], err[512];
    no_arrays out;
    no_candidate_info info;
    const no_spec *spec = unpack("candidate-json-bell-byte", 0, dir, sizeof dir);
    cr_assert_eq(no_candidate_read(dir, spec, &out, &info, err, sizeof err), -1);
    assert_one_line(err, sizeof err);
    cr_assert_eq(out.count, 0);
}

/* And through golden/provenance.json. */
Test(fuzz_regressions, provenance_escape_bytes)
{
    char dir[NO_PATH_MAX], err[512];
    no_golden_provenance pv;
    unpack("golden-provenance-escape-bytes", 1, dir, sizeof dir);
    cr_assert_eq(no_golden_provenance_read(dir, &pv, err, sizeof err), -1);
    assert_one_line(err, sizeof err);
}

/* candidate.json's "grid": "\u001b[2J\n.npy" is valid JSON, and the decoded
 * name (raw ESC, a newline) went into every later message about the grid.
 * io/candidate.c now refuses a grid name with a control character. */
Test(fuzz_regressions, candidate_grid_name_control_bytes)
{
    char dir[NO_PATH_MAX], err[512];
    no_arrays out;
    no_candidate_info info;
    const no_spec *spec = unpack("candidate-grid-name-control-bytes", 0, dir, sizeof dir);
    cr_assert_eq(no_candidate_read(dir, spec, &out, &info, err, sizeof err), -1,
                 "a grid name with control bytes was accepted");
    assert_one_line(err, sizeof err);
    cr_assert(strstr(err, "\"grid\""), "%s", err);
    cr_assert_eq(out.count, 0);
}
