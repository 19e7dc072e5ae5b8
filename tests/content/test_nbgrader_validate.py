"""nbgrader's own validator: the source passes, the release fails (checked in code,
because `nbgrader validate` exits 0 even when validation fails)."""

from __future__ import annotations

import pytest
from conftest import ASSIGNMENTS
from course_tools import REPO
from nbgrader.validator import Validator
from traitlets.config import Config


@pytest.fixture(autouse=True)
def smoke_mode(monkeypatch):
    # Validation checks which test cells pass, not model quality: the smoke mode keeps
    # these extra executions short. The real mode runs in the pipeline tests.
    monkeypatch.setenv("DLBMT_SMOKE", "1")


def _validate(path, invert: bool) -> dict:
    config = Config()
    config.Validator.invert = invert
    config.Execute.timeout = 600
    return Validator(config=config).validate(str(path))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_passes_nbgrader_validate(assignment):
    result = _validate(REPO / "source" / assignment / f"{assignment}.ipynb", invert=False)
    assert not result.get("failed") and not result.get("changed"), result


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_fails_on_the_release_under_validate_invert(assignment):
    # With --invert, nbgrader complains about ("passed") every test cell that passes.
    result = _validate(REPO / "release" / assignment / f"{assignment}.ipynb", invert=True)
    assert "passed" not in result, f"test cells pass on the untouched release: {result}"
