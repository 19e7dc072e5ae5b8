"""The instructor's tooling: the ``dlbmt`` command, data and model building, reports,
example submissions, the graders' self-test and the benchmarks.

Never imported by notebooks or graders, and not part of the student package.
Some modules here hold answers (the true lab sheet, the training recipes).
"""
