"""A live migration rehearsal: the example service under load walks every phase and back.

`python -m examples.rehearsal --help` (or `make rehearse`) runs it; `run.rehearse` is the same
as a function, which the short rehearsal in the test suite calls.
"""
