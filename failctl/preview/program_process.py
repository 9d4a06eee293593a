"""The program runs in a process of its own, as under the Pulumi CLI (its language host), never in
the gate's: what the program does cannot reach the verdict's code or its output.

In one process a program could end the gate with `sys.exit(0)` or `os._exit(0)` (CI reads exit 0
and no verdict as clean), print into the SARIF or JSON on stdout, or replace the gate's functions.
Here the child (`python -m failctl.preview.program_process RESULT_FD`) reads its request on stdin,
runs `synth.synthesize`, and writes one JSON answer to the pipe RESULT_FD; everything the program
prints goes to our stderr. A child that ends without an answer is a failed program, never a pass.
A program that sets out to forge the answer can do so, as it can register other resources offline
than it deploys: the gate that cannot be bypassed is the Pulumi CLI's, in the deployment itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from failctl.preview import synth
from failctl.preview.synth import SourceLocation, Synthesis, SynthResource

KILL_WAIT_SECONDS = 5
RELAY_WAIT_SECONDS = 2


class ProgramProcessError(Exception):
    """The program failed, or its process ended without an answer; the message says where and why."""

    def __init__(self, message: str, traceback_text: str = "") -> None:
        super().__init__(message)
        self.traceback_text = traceback_text


class StackInputError(Exception):
    """The project, stack file or config the program was given is wrong (bad input)."""


def synthesize(
    stack: str,
    *,
    project_dir: Path,
    account_id: str,
    region: str | None = None,
    secrets: dict[str, str] | None = None,
    stack_references: dict[str, dict[str, Any]] | None = None,
) -> Synthesis:
    """`synth.synthesize` in a child process; raises StackInputError or ProgramProcessError."""
    request = {
        "stack": stack,
        "project_dir": str(project_dir),
        "account_id": account_id,
        "region": region,
        "secrets": secrets or {},
        "stack_references": stack_references or {},
    }
    read_end, write_end = os.pipe()
    try:
        child = subprocess.Popen(
            # -P: the program's folder (the working folder) is not put before our own packages, so a
            # `failctl/` or `json.py` there cannot stand in for the code that reports on it.
            [sys.executable, "-P", "-m", "failctl.preview.program_process", str(write_end)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(write_end,),
            cwd=_program_folder(project_dir),
            # Out of the terminal's process group: Ctrl-C reaches us alone, and we stop the child
            # (else it could land in the child's startup and print a traceback of its imports).
            start_new_session=True,
        )
    finally:
        os.close(write_end)
    relays: list[threading.Thread] = []
    try:
        relays = [_relay(stream) for stream in (child.stdout, child.stderr)]
        with os.fdopen(read_end, "rb") as answers:
            assert child.stdin is not None  # started with stdin=PIPE
            child.stdin.write(json.dumps(request).encode())
            child.stdin.close()
            answer = answers.read()
        _end_session(child)
        code = child.wait()
    except BaseException:  # Ctrl-C or any failure here: the program's process goes too
        _stop(child)
        raise
    for relay in relays:  # a background process the program left may hold the pipes: no waiting on it
        relay.join(RELAY_WAIT_SECONDS)
    return _synthesis(answer, code)


def _end_session(child: subprocess.Popen[bytes]) -> None:
    """Whatever the program started in the background (`os.system("... &")`) ends with the preview.
    The child is waited for but not reaped first, so its id still names its own process group."""
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        os.killpg(child.pid, signal.SIGTERM)
    except (ChildProcessError, ProcessLookupError, PermissionError):
        pass


def _program_folder(project_dir: Path) -> Path:
    """The language host's working folder: the folder of the program `main` names."""
    try:
        program = synth.entry_point(project_dir)
    except synth.StackConfigError as error:
        raise StackInputError(str(error)) from None
    return program if program.is_dir() else program.parent


def _relay(stream: Any) -> threading.Thread:
    """What the program prints, line by line, to our stderr (never to the report on stdout)."""

    def run() -> None:
        for line in iter(stream.readline, b""):
            sys.stderr.write(line.decode(errors="replace"))
        stream.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(KILL_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _synthesis(answer: bytes, code: int) -> Synthesis:
    if code == -signal.SIGINT:
        raise KeyboardInterrupt
    try:
        document = json.loads(answer) if answer else None
    except ValueError:
        document = None
    if not isinstance(document, dict) or ("synthesis" not in document and "error" not in document):
        ended = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        raise ProgramProcessError(
            f"the program's process {ended} before the preview finished (os._exit, a crash or a kill?): "
            "nothing was judged"
        )
    if "error" in document:
        error = document["error"]
        if error.get("kind") == "input":
            raise StackInputError(error["message"])
        raise ProgramProcessError(error["message"], error.get("traceback", ""))
    return _from_json(document["synthesis"])


def _from_json(data: dict[str, Any]) -> Synthesis:
    resources = []
    for raw in data.pop("resources"):
        source = raw.pop("source")
        resources.append(
            SynthResource(**raw, source=SourceLocation(Path(source["path"]), source["line"]) if source else None)
        )
    return Synthesis(**data, resources=resources)


# ---- The child ---------------------------------------------------------------------------------


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    from lambda_failures.components.settings import ConfigError

    project_dir = Path(request["project_dir"])
    try:
        synthesis = synth.synthesize(
            request["stack"],
            project_dir=project_dir,
            account_id=request["account_id"],
            region=request["region"],
            secrets=request["secrets"],
            stack_references=request["stack_references"],
        )
    except (ConfigError, synth.StackConfigError) as error:
        return {"error": {"kind": "input", "message": str(error)}}
    except SystemExit as error:  # the program's own sys.exit: it stopped before it was done
        where = synth.failed_at(error, project_dir)
        at = f" at {where.relative_to(project_dir)}:{where.line}" if where else ""
        message = f"the program called sys.exit({error.code!r}){at} before it finished: nothing was judged"
        return {"error": {"kind": "program", "message": message, "traceback": _traceback(error)}}
    except Exception as error:
        message = str(synth.ProgramError(error, project_dir))
        return {"error": {"kind": "program", "message": message, "traceback": _traceback(error)}}
    return {"synthesis": asdict(synthesis)}


def _traceback(error: BaseException) -> str:
    import traceback

    return "".join(traceback.format_exception(error))


def _child(result_fd: int) -> None:
    os.set_inheritable(result_fd, False)  # a process the program starts must not hold the answer's pipe
    result = os.fdopen(result_fd, "w")
    request = json.loads(sys.stdin.read())
    answer = json.dumps(_answer(request), default=str)
    result.write(answer)
    result.flush()
    os._exit(0)  # no interpreter teardown: the program's loops and threads have nothing more to say


if __name__ == "__main__":
    _child(int(sys.argv[1]))
