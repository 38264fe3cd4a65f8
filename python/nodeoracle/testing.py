"""pytest helpers: ``assert_matches_reference``.

Use in a test of your own implementation::

    import nodeoracle
    from nodeoracle.testing import assert_matches_reference

    def test_my_model_matches_reference():
        prob = nodeoracle.load_problem("problems/000-linear-euler-discrete-L8-m2-dout3")
        outputs = my_model(prob)   # {"output": ..., "loss": ..., "grad_W": ...}
        assert_matches_reference(prob, outputs)
"""

from ._check import check, format_report


def assert_matches_reference(problem, outputs_or_candidate_dir, binary=None, **opts):
    """Assert that a candidate passes ``nodeoracle check``.

    problem:  a problem directory or a :class:`nodeoracle.Problem`.
    outputs_or_candidate_dir: a candidate directory, or a mapping of outputs (as for
              :func:`nodeoracle.save_candidate`; saved into a temporary directory, with
              ``precision=`` and ``grid=`` declared in its candidate.json).
    binary, opts: as for :func:`nodeoracle.check` (``precision="float32"``,
              ``on_the_fly=True``, ``prec=256``, ...).

    Returns the JSON report when the verdict is ``pass`` (exit status 0). Otherwise
    raises AssertionError whose message is :func:`nodeoracle.format_report` of the
    report: the table of errors and tolerances and, on a failure, the diagnosis (the
    cause check's reference runs matched, e.g. ``sign_flip``). An ``unverifiable``
    verdict (exit status 3: the problem cannot be judged in the declared precision)
    is an AssertionError too, never a pass. An input error (exit status 2) raises
    :class:`nodeoracle.NodeOracleError` with check's message.

    One run of check: the message is formatted from the same JSON report the
    assertion judged (no second run without ``--json``)."""
    __tracebackhide__ = True  # pytest: show the caller's line, not this one
    report = check(problem, outputs_or_candidate_dir, binary=binary, **opts)
    if report.get("verdict") == "pass" and report.get("exit_status") == 0:
        return report
    where = outputs_or_candidate_dir
    msg = format_report(report)
    if isinstance(where, (str, bytes)) or hasattr(where, "__fspath__"):
        msg += "\n  candidate: %s" % (where,)
    raise AssertionError(msg)
