"""Open review items, each tested the way it broke."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest
from support.archive import build_archive

from failctl import cli


def test_a_failed_preview_leaves_another_threads_idle_event_loop_open(tmp_path):
    """A library caller's thread between two uses of its loop: the preview's clean-up after a
    failed program closes only the loops that run made."""
    from failctl.preview import synth

    (tmp_path / "Pulumi.yaml").write_text("name: broken\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "__main__.py").write_text("raise KeyError('boom')\n")
    idle, resume, outcome = threading.Event(), threading.Event(), {}

    def caller() -> None:
        loop = asyncio.new_event_loop()
        loop.run_until_complete(asyncio.sleep(0))
        idle.set()
        resume.wait(60)
        try:
            outcome["second use"] = loop.run_until_complete(asyncio.sleep(0, result="ran"))
        except RuntimeError as error:
            outcome["second use"] = str(error)
        finally:
            loop.close()

    thread = threading.Thread(target=caller)
    thread.start()
    assert idle.wait(30)
    try:
        with pytest.raises(Exception, match="boom"):
            synth.synthesize(project_dir=tmp_path, account_id="123456789012")
    finally:
        resume.set()
        thread.join(60)
    assert outcome == {"second use": "ran"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_a_folder_the_user_cannot_read_is_one_line_not_a_traceback(tmp_path, capsys):
    build_archive(tmp_path, days=1)
    locked = next(p for p in (tmp_path / "aws" / "lambda" / "async").iterdir() if p.is_dir())
    locked.chmod(0)
    try:
        code = cli.main(["query", "--sql", "SELECT count(*) AS n FROM failed_events", "--source", str(tmp_path)])
    finally:
        locked.chmod(0o755)
    err = capsys.readouterr().err
    assert code == 3 and len(err.strip().splitlines()) == 1 and "Permission denied" in err, err


def deny(monkeypatch, folder: Path) -> None:
    """What the OS answers a user without read permission on `folder` (the tests may run as root)."""
    real_scandir, real_open = os.scandir, open

    def scandir(path="."):
        # A file descriptor (shutil.rmtree's walk) is not a path to deny.
        if isinstance(path, str | os.PathLike) and Path(path).resolve() == folder.resolve():
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def guarded_open(file, *args, **kwargs):
        if isinstance(file, str | Path) and folder.resolve() in Path(file).resolve().parents:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr("builtins.open", guarded_open)


@pytest.mark.parametrize("command", ["query", "replay"])
def test_a_folder_denied_mid_read_is_one_line_and_exit_3(tmp_path, capsys, monkeypatch, command):
    build_archive(tmp_path, days=1)
    locked = next(p for p in (tmp_path / "aws" / "lambda" / "async").iterdir() if p.is_dir())
    deny(monkeypatch, locked)
    argv = ["--sql", "SELECT count(*) AS n FROM failed_events"] if command == "query" else []
    code = cli.main([command, *argv, "--source", str(tmp_path)])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if not line.startswith("skipped ")]
    assert code == 3 and len(errors) == 1 and "Permission denied" in errors[0] and str(locked) in errors[0], err


def test_the_rows_file_is_removed_when_a_read_fails_mid_load(tmp_path, monkeypatch):
    import tempfile

    from failctl.archive.local_query import run_local
    from failctl.archive.stores import FolderStore

    build_archive(tmp_path / "archive", days=2)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    store = FolderStore(tmp_path / "archive")
    real_read, reads = store.read, []

    def read(key: str) -> bytes:
        reads.append(key)
        if len(reads) == 3:
            raise PermissionError(13, "Permission denied", key)
        return real_read(key)

    monkeypatch.setattr(store, "read", read)
    with pytest.raises(PermissionError):
        run_local(store, "SELECT count(*) AS n FROM failed_events")
    assert len(reads) == 3 and list(scratch.iterdir()) == []
