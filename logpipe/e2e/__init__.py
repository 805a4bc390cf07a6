"""Issue 5's end-to-end proof: real app → FR-016 log → our Vector remap → our LogQL rules → the
real Alertmanager, every number checked against ground truth kept outside the log.

`python -m logpipe.e2e` (`make e2e`) runs a healthy and a faulty scenario and writes the last
side-by-side table to benchmarks/e2e.md; tests/e2e runs the same at a smaller size.
"""
