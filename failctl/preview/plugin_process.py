"""A Pulumi plugin in its own process, as the CLI starts one: it announces its gRPC port on stdout.

Policy packs (analyzer.py) and the component provider (provider/) both start this way
(pulumi/pulumi `pkg/resource/plugin/plugin.go`, `execPlugin` then reading the port line).
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import grpc

START_SECONDS = 60


class PluginError(Exception):
    """The plugin could not be started, or announced no port."""


class PluginProcess:
    """One plugin process and a channel to it; close it (or use `with`) to stop the process.

    The CLI's own variables (PULUMI_*) are left out: the plugin must not find an engine or a
    stack of whoever runs this.
    """

    def __init__(self, argv: Sequence[str], cwd: str | Path) -> None:
        self._process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")},
            # Out of the terminal's process group: Ctrl-C reaches only us, and we stop the plugin
            # (else it dies first and gRPC logs the lost connection on our stderr).
            start_new_session=True,
        )
        try:
            port = self._read_port()
            self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(self.channel).result(timeout=START_SECONDS)
        except (PluginError, grpc.FutureTimeoutError) as error:
            self.close()
            raise PluginError(str(error) or "no answer on its port") from None
        except BaseException:  # Ctrl-C while it starts: the process must not outlive us
            self.close()
            raise

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    @property
    def pid(self) -> int:
        return self._process.pid

    def _read_port(self) -> int:
        deadline = time.monotonic() + START_SECONDS
        line = b""
        stdout = self._process.stdout
        assert stdout is not None
        while not line.endswith(b"\n"):
            if time.monotonic() > deadline:
                raise PluginError("no port announced in time")
            ready, _, _ = select.select([stdout], [], [], 0.2)
            if ready:
                chunk = os.read(stdout.fileno(), 64)
                if not chunk:
                    raise PluginError(self._died())
                line += chunk
            elif self._process.poll() is not None:
                raise PluginError(self._died())
        try:
            return int(line.strip().splitlines()[0])
        except ValueError:
            raise PluginError(f"announced {line[:80]!r} instead of a port") from None

    def _died(self) -> str:
        self._process.wait(timeout=10)
        stderr = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
        last = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or ["no output"]
        return f"exited with code {self._process.returncode}: {last[0][:300]}"

    def close(self) -> None:
        channel = getattr(self, "channel", None)
        if channel is not None:
            channel.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> PluginProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
