"""Sandboxes running side by side do not share the limit on processes."""

from __future__ import annotations

import os
import threading

import pytest
from test_execution import RECORD, _notebook

from dlbmt.grading.answers import AnswerStore
from dlbmt.grading.execution import execute_notebook
from dlbmt.grading.sandbox import Limits, bubblewrap, drops_privileges, sandbox_uid

needs_own_users = pytest.mark.skipif(
    not drops_privileges(bubblewrap() is not None),
    reason="kernels get users of their own only when root grades with bubblewrap",
)


def test_each_sandbox_gets_a_user_of_its_own():
    uids = {sandbox_uid() for _ in range(16)}
    assert len(uids) == 16
    assert all(uid > 65535 and uid != os.getuid() for uid in uids)


@needs_own_users
def test_a_fork_bomb_does_not_starve_the_kernel_graded_beside_it(tmp_path):
    bomb = _notebook(
        "import os, time\nchildren = 0\nwhile True:\n    try:\n        if os.fork() == 0:\n"
        "            time.sleep(60)\n            os._exit(0)\n        children += 1\n"
        "    except OSError:\n        time.sleep(0.05)",
    )
    honest = _notebook("import time\ntime.sleep(4)", RECORD.format(task="honest", value=9))
    data = tmp_path / "data"
    data.mkdir()
    results = {}

    def run(name, notebook, limits):
        results[name] = execute_notebook(
            notebook, answer_dir=tmp_path / name, data_dir=data, limits=limits
        )

    bomb_run = threading.Thread(
        target=run, args=("bomb", bomb, Limits(cell_seconds=20, wall_seconds=60, max_processes=64))
    )
    bomb_run.start()
    run("honest", honest, Limits(cell_seconds=60, wall_seconds=120, max_processes=64))
    bomb_run.join()
    assert any(event.get("cell") == 0 for event in results["bomb"].events)
    assert results["honest"].events == []
    assert AnswerStore(tmp_path / "honest").task("honest").get("value") == 9
