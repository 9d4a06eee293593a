"""Which program and which stack `failctl preview` gates, found as the Pulumi CLI finds them.

The program: the CLI walks up from the working directory (or `-C/--cwd`) to the nearest folder
holding a project file (pulumi/pulumi `sdk/go/common/workspace/paths.go`, `DetectProjectPathFrom`
with `findProjectInDir`: `Pulumi.json`, `Pulumi.yaml`, then `Pulumi.yml`, in that order, per folder).

The stack: `PULUMI_STACK` when set, else the one `pulumi stack select` stored in the workspace file
`<PULUMI_HOME or ~/.pulumi>/workspaces/<project>-<sha1 of the project file's path>-workspace.json`
(`pkg/workspace/workspace.go`, `settingsPath`; `pkg/backend/state/stacks.go`, `getCurrentStackName`):
with no per-backend `stacks` map, its legacy `stack`; else the entry for the current backend, falling
back to `stack`. The stack file is `Pulumi.<stack name>.yaml`, the name being the last part of a
fully qualified `org/project/stack`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# encoding.Exts order: JSON, YAML, then the unsanctioned `.yml`.
PROJECT_FILES = ("Pulumi.json", "Pulumi.yaml", "Pulumi.yml")


class WorkspaceError(Exception):
    """No program here, or no stack chosen: the message says what to pass."""


@dataclass(frozen=True)
class Selection:
    program_dir: Path
    stack: str
    selected_by: str  # "--stack", "PULUMI_STACK" or the workspace file's path


def find_project_file(start: Path, resolve: bool = True) -> Path:
    """The nearest project file at or above `start`, as `DetectProjectPathFrom` finds it (walking
    up by names, as filepath.Dir does, when `resolve` is False: a symlinked folder stays one)."""
    current = start.resolve() if resolve else Path(os.path.abspath(start))
    if current.is_file():
        current = current.parent
    for folder in (current, *current.parents):
        for name in PROJECT_FILES:
            candidate = folder / name
            if candidate.is_file():
                if name != "Pulumi.yaml":
                    raise WorkspaceError(f"{candidate}: the offline preview reads only Pulumi.yaml projects")
                return candidate
    raise WorkspaceError(
        f"no Pulumi.yaml project file found (searching upwards from {current}): run in a Pulumi program's "
        "folder or pass -C/--cwd DIR"
    )


def pulumi_home(environ: Mapping[str, str] = os.environ) -> Path:
    """paths.go `GetPulumiHomeDir`: PULUMI_HOME, else ~/.pulumi."""
    return Path(environ["PULUMI_HOME"]) if environ.get("PULUMI_HOME") else Path.home() / ".pulumi"


def workspace_file(project_file: Path, project_name: str, environ: Mapping[str, str] | None = None) -> Path:
    digest = hashlib.sha1(str(project_file).encode()).hexdigest()
    home = pulumi_home(os.environ if environ is None else environ)
    return home / "workspaces" / f"{project_name}-{digest}-workspace.json"


def current_backend(project_backend: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The backend the CLI would use: PULUMI_BACKEND_URL, the project's `backend.url`, the login's `current`."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if env.get("PULUMI_BACKEND_URL"):
        return env["PULUMI_BACKEND_URL"]
    if project_backend:
        return project_backend
    try:
        credentials = json.loads((pulumi_home(env) / "credentials.json").read_text())
    except (OSError, ValueError):
        return None
    current = credentials.get("current") if isinstance(credentials, dict) else None
    return current if isinstance(current, str) and current else None


def selected_stack(
    project_file: Path, project_name: str, project_backend: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """(stack name, where it came from), or None when nothing selects one."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if env.get("PULUMI_STACK"):
        return _short(env["PULUMI_STACK"]), "PULUMI_STACK"
    path = workspace_file(project_file, project_name, env)
    try:
        settings = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise WorkspaceError(f"could not parse file {path}: {error}; pass --stack NAME") from None
    if not isinstance(settings, dict):
        raise WorkspaceError(f"could not parse file {path}: not a JSON object; pass --stack NAME")
    legacy = settings.get("stack") if isinstance(settings.get("stack"), str) else ""
    stacks = settings.get("stacks") if isinstance(settings.get("stacks"), dict) else {}
    name = legacy
    if stacks:
        backend = current_backend(project_backend, env)
        if backend is not None and isinstance(stacks.get(backend), str):
            name = stacks[backend]
        elif backend is None and len(stacks) == 1 and not legacy:
            (name,) = stacks.values()
        elif not legacy:
            raise WorkspaceError(
                f"{path} selects stacks for {len(stacks)} backends and the current one is not known offline: "
                "pass --stack NAME"
            )
    return (_short(name), str(path)) if name else None


def _short(name: str) -> str:
    """`org/project/stack` names the stack file by its last part."""
    return name.rsplit("/", 1)[-1]


def stack_files(program_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in program_dir.glob("Pulumi.*.yaml"))


def select(cwd: Path | None, stack: str | None) -> Selection:
    """The program folder and stack a `failctl preview` run gates (see the module docstring)."""
    from failctl.preview.project_config import ProjectFileError, load_project

    # The CLI names the workspace file after the project file's path as Go's os.Getwd gives it: $PWD
    # when that is the working folder (the path through a symlink, as the shell shows it), else the
    # physical path, as after `-C` (os.Chdir leaves $PWD behind).
    logical_file = find_project_file(cwd.resolve() if cwd is not None else _getwd(), resolve=False)
    project_file = logical_file.resolve()
    program_dir = project_file.parent
    if stack:
        return Selection(program_dir, stack, "--stack")
    try:
        project = load_project(program_dir)
    except ProjectFileError as error:
        raise WorkspaceError(str(error)) from None
    found = selected_stack(logical_file, project.name, _project_backend(project_file))
    if found is None:
        files = stack_files(program_dir)
        known = f" (stack files here: {', '.join(files)})" if files else ""
        raise WorkspaceError(
            f"no stack selected for project {project.name} in {program_dir}: pass -s/--stack NAME{known}, "
            "or `pulumi stack select`"
        )
    return Selection(program_dir, found[0], found[1])


def _getwd() -> Path:
    """Go's os.Getwd: $PWD when it is an absolute name of the working folder, else the folder's path."""
    logical = os.environ.get("PWD", "")
    try:
        if os.path.isabs(logical) and os.path.samefile(logical, "."):
            return Path(logical)
    except OSError:
        pass
    return Path.cwd()


def _project_backend(project_file: Path) -> str | None:
    """The project's `backend: {url: ...}`, read loosely (project_config does not carry that section)."""
    import yaml

    try:
        document = yaml.safe_load(project_file.read_text())
    except (OSError, yaml.YAMLError):
        return None
    backend = document.get("backend") if isinstance(document, dict) else None
    url = backend.get("url") if isinstance(backend, dict) else None
    return url if isinstance(url, str) else None
