"""failctl's exit codes: one enum of ints, and every failctl error mapped to its code in one place."""

from __future__ import annotations

import pytest

from failctl import cli
from failctl.errors import BadInputError, EnvironmentProblemError, ExitStatus, FailctlError


def test_the_exit_codes_are_the_documented_ints():
    assert [int(s) for s in ExitStatus] == [0, 1, 2, 3, 129, 130, 141, 143]
    assert ExitStatus.BAD_INPUT == 2 and isinstance(ExitStatus.BAD_INPUT, int)


@pytest.mark.parametrize(
    "raised, status",
    [
        (BadInputError("no such file: x"), 2),
        (EnvironmentProblemError("no AWS region"), 3),
        (FailctlError("the work failed"), 1),
        (KeyboardInterrupt(), 130),
    ],
)
def test_main_maps_each_error_to_its_status_with_one_line(monkeypatch, capsys, raised, status):
    def command(args):
        raise raised

    monkeypatch.setitem(cli.COMMANDS, "policies", command)
    assert cli.main(["policies"]) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("failctl policies: "), err
