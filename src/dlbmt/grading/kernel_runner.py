"""Runs one notebook cell by cell; started by ``dlbmt.grading.execution`` inside the sandbox.

It reports to the trusted parent through a dedicated pipe (``--result-fd``),
one JSON line per executed cell, so that everything up to a crash or a killed
run is known. The kernel does not inherit that pipe.

A kernel whose cell hits the time or memory limit, or that dies, is replaced
by a fresh one and the run goes on with the
next cell, so that one broken task does not cost the later ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

TRUNCATION_NOTE = "\n[Ausgabe gekürzt: die Zelle hat mehr als {limit} Bytes ausgegeben.]\n"


def _limit_outputs(cell, limit: int) -> bool:
    """Trim a cell's outputs to ``limit`` bytes of JSON; True when something was cut."""
    kept, used = [], 0
    for output in cell.get("outputs", []):
        size = len(json.dumps(output))
        if used + size > limit:
            kept.append(
                nbformat.v4.new_output(
                    "stream", name="stderr", text=TRUNCATION_NOTE.format(limit=limit)
                )
            )
            cell["outputs"] = kept
            return True
        kept.append(output)
        used += size
    return False


class Runner:
    def __init__(self, notebook, cell_timeout: int, output_limit: int, report):
        self.notebook = notebook
        self.cell_timeout = cell_timeout
        self.output_limit = output_limit
        self.report = report

    def _client(self) -> NotebookClient:
        return NotebookClient(
            self.notebook,
            timeout=self.cell_timeout,
            allow_errors=True,
            interrupt_on_timeout=False,
            kernel_name="python3",
            shutdown_kernel="immediate",
            resources={"metadata": {"path": os.getcwd()}},
        )

    def run(self) -> None:
        indices = [i for i, c in enumerate(self.notebook.cells) if c.cell_type == "code"]
        position = 0
        while position < len(indices):
            client = self._client()
            with client.setup_kernel():
                while position < len(indices):
                    index = indices[position]
                    position += 1
                    status = self._execute(client, index)
                    if status in {"timeout", "kernel_died", "memory"}:
                        break  # this kernel is unusable: start a fresh one
            # leaving the context shuts the kernel down (killing it if needed)

    def _execute(self, client: NotebookClient, index: int) -> str:
        cell = self.notebook.cells[index]
        started = time.monotonic()
        try:
            client.execute_cell(cell, index)
            status = _status_of(cell)
        except CellTimeoutError:
            status = "timeout"
        except DeadKernelError:
            status = "kernel_died"
        truncated = _limit_outputs(cell, self.output_limit)
        self.report(
            {
                "index": index,
                "status": status,
                "truncated": truncated,
                "seconds": round(time.monotonic() - started, 3),
                "outputs": cell.get("outputs", []),
            }
        )
        return status


def _status_of(cell) -> str:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if any(o.get("ename") == "MemoryError" for o in errors):
        # The memory is still held by the kernel; later tasks need a fresh one.
        return "memory"
    return "error" if errors else "ok"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebook")
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--cell-timeout", type=int, default=600)
    parser.add_argument("--output-limit", type=int, default=1_000_000)
    parser.add_argument("--user", type=int, help="become this user before starting the kernel")
    args = parser.parse_args(argv)
    if args.user is not None:
        from dlbmt.grading.sandbox import SANDBOX_GID, become_user

        become_user(args.user, SANDBOX_GID)

    result = os.fdopen(args.result_fd, "w", encoding="utf-8", buffering=1)
    os.set_inheritable(args.result_fd, False)

    def report(line: dict) -> None:
        result.write(json.dumps(line) + "\n")
        result.flush()

    notebook = nbformat.read(args.notebook, as_version=4)
    Runner(notebook, args.cell_timeout, args.output_limit, report).run()
    report({"done": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
