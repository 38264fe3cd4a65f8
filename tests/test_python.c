/* python: the Python package in python/ (python/README.md), installed the
 * documented way, offline, and its pytest file run against this build's
 * nodeoracle.
 *
 *  - python/ (pyproject.toml, README.md, nodeoracle/) is copied into the
 *    scratch directory, so that the in-tree build of setuptools (build/,
 *    nodeoracle.egg-info/) never lands in the repository;
 *  - a venv with the system site packages (Debian's NumPy and pytest) gets it
 *    with `V/bin/pip install --no-build-isolation --no-index`: no network,
 *    Debian's setuptools as the build backend;
 *  - `import nodeoracle` in that venv is the installed copy (not python/ of
 *    the checkout), and python/tests/test_nodeoracle.py passes there with
 *    NODEORACLE set to the nodeoracle next to this test binary and
 *    examples/numpy/resnet_numpy.py as the outside implementation: a correct
 *    candidate passes, the sign_flip mutant fails with the diagnosis in the
 *    assertion's message, unverifiable is never a pass, save_candidate's
 *    atomic replacement and refusals, load_problem's errors.
 *
 * Skipped, with the reason, when /usr/bin/python3 lacks venv, pip, pytest,
 * NumPy or setuptools (Debian: python3-venv python3-pip python3-pytest
 * python3-numpy python3-setuptools). About 15 s, most of it creating the venv
 * and starting pip. */
#define _XOPEN_SOURCE 700 /* nftw, in test_run.h */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_run.h"

#define PYTHON "/usr/bin/python3"

NO_TEST_SCRATCH("no_python_")

TestSuite(python, .init = scratch_setup, .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S);

Test(python, install_offline_and_pytest)
{
    /* Criterion 2.4 runs no .fini after cr_skip_test: the scratch goes first */
    const char *bin = nodeoracle();
    if (!bin) {
        no_test_rmtree(scratch);
        cr_skip_test("nodeoracle binary not built");
    }
    /* found, not imported: importing setuptools after pip trips its distutils check */
    run_result r = run_shell(
        PYTHON " -c 'import importlib.util as u, sys; m = [n for n in (\"ensurepip\", \"venv\", "
        "\"pip\", \"pytest\", \"numpy\", \"setuptools\") if not u.find_spec(n)]; "
        "sys.exit(\"missing modules: \" + \" \".join(m) if m else 0)'");
    if (r.status != 0) {
        size_t n = strlen(r.err);
        while (n > 0 && r.err[n - 1] == '\n')
            r.err[--n] = 0;
        const char *last = strrchr(r.err, '\n'); /* the last line: "missing modules: X" */
        no_test_rmtree(scratch);
        cr_skip_test("%s lacks what the package needs (%s): apt-get install python3-venv "
                     "python3-pip python3-pytest python3-numpy python3-setuptools",
                     PYTHON, last ? last + 1 : r.err);
    }
    run_free(&r);

    char pkg[PATH_MAX], tests[PATH_MAX], examples[PATH_MAX];
    no_test_repo_path(pkg, sizeof pkg, "python");
    no_test_repo_path(tests, sizeof tests, "python/tests/test_nodeoracle.py");
    no_test_repo_path(examples, sizeof examples, "examples/numpy");

    char cmd[6 * PATH_MAX];
    snprintf(cmd, sizeof cmd,
             "mkdir '%s/src' && cp -R '%s/pyproject.toml' '%s/README.md' '%s/nodeoracle' '%s/src/'"
             " && find '%s/src' -name __pycache__ -prune -exec rm -r {} +",
             scratch, pkg, pkg, pkg, scratch, scratch);
    r = run_shell(cmd);
    cr_assert_eq(r.status, 0, "copying python/: %s", r.err);
    run_free(&r);

    /* the documented install (python/README.md), offline */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && " PYTHON " -m venv --system-site-packages V && "
             "PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 "
             "V/bin/pip install --no-build-isolation --no-index ./src",
             scratch);
    r = run_shell(cmd);
    cr_assert_eq(r.status, 0, "pip install failed (status %d):\n%s\n%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "Successfully installed nodeoracle") != NULL, "pip said:\n%s", r.out);
    run_free(&r);

    /* the venv imports its installed copy, not the checkout's python/ */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && V/bin/python -c 'import nodeoracle; print(nodeoracle.__file__)'", scratch);
    r = run_shell(cmd);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s/V/lib/", scratch);
    cr_assert(r.status == 0 && strstr(r.out, want) == r.out,
              "import nodeoracle in the venv: '%s' (expected below %s) %s", r.out, want, r.err);
    run_free(&r);

    /* the pytest file, run from the scratch directory (nothing written into the
     * checkout: no bytecode, no cache, pytest's temporaries in the scratch) */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && NODEORACLE='%s' NODEORACLE_EXAMPLES_NUMPY='%s' "
             "NODEORACLE_PY_EXPECT_PREFIX='%s/V/' PYTHONDONTWRITEBYTECODE=1 "
             "V/bin/python -m pytest -p no:cacheprovider -q -rs --basetemp='%s/pytest' '%s'",
             scratch, bin, examples, scratch, scratch, tests);
    r = run_shell(cmd);
    cr_assert_eq(r.status, 0, "pytest failed (status %d):\n%s\n%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, " passed") != NULL && strstr(r.out, "skipped") == NULL,
              "every test should run here:\n%s", r.out);
    run_free(&r);
}
