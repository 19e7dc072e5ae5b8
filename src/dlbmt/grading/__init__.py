"""The grading engine: how a submission becomes points. Instructor side only.

Never imported by notebooks, and hidden from the kernel of a graded submission.
The pipeline: :mod:`.autograde` hands each submission to nbgrader's autograde
converter, whose preprocessors (:mod:`.nbgrader_plugins`) run the notebook in
the sandbox (:mod:`.sandbox`, :mod:`.execution`, :mod:`.kernel_runner`), where
the hidden test cells only record the student's answers. The graders in
``graders/<assignment>/`` then judge those answers in a sandboxed process of their
own (:mod:`.graders`, :mod:`.grader_plugin`, reading with :mod:`.answers`),
against the answer key (:mod:`.keys`) and against what they compute themselves on
held-out data (:mod:`.references`). Their points go into the gradebook
(:mod:`.gradebook`, one writer) with German feedback (:mod:`.feedback`), and each
result is recorded with its provenance (:mod:`.provenance`) so that runs resume.
"""
