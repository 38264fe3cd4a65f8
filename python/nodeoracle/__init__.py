"""nodeoracle from Python: load a problem, save your outputs, check them.

    import nodeoracle
    prob = nodeoracle.load_problem("problems/000-linear-euler-discrete-L8-m2-dout3")
    outputs = my_model(prob.spec, prob.arrays)   # output, loss, grad_<P> [, adjoint, states]
    nodeoracle.save_candidate("my_candidate", outputs, problem=prob)
    report = nodeoracle.check(prob, "my_candidate")   # the JSON report, as a dict
    print(nodeoracle.format_report(report))

In a pytest test: ``nodeoracle.testing.assert_matches_reference(prob, outputs)``.

File formats: docs/formats.md; check and its diagnosis: docs/check.md (in the
nodeoracle repository). The checks themselves are the ``nodeoracle`` executable's:
this package only reads and writes files and runs it.
"""

from ._candidate import MANIFEST, CandidateError, save_candidate
from ._check import NodeOracleError, check, find_binary, format_report
from ._problem import PARAMS, Problem, ProblemError, load_problem

__version__ = "0.2.0"

__all__ = ["load_problem", "Problem", "ProblemError", "save_candidate", "CandidateError",
           "check", "format_report", "find_binary", "NodeOracleError", "PARAMS", "MANIFEST",
           "__version__"]
