"""Run the real Pulumi program under Pulumi's mock engine, as a fresh stack's preview sees it.

The mocks answer the provider's invokes (account, region, partition) and return each
resource's inputs as its planned state, so inputs stay known and everything the provider
computes (ids, ARNs, key ids) stays unknown: the same picture `pulumi preview` gives the
policy pack on a brand-new stack. Props are kept as the engine sends them (camelCase,
numbers as floats, unknowns as the engine's sentinel strings).
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import json
import re
import runpy
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pulumi
from google.protobuf import json_format
from pulumi.runtime import config as pulumi_runtime_config
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.rpc import UNKNOWN, _special_secret_sig, _special_sig_key
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

import failctl as failctl_package
import lambda_failures as lambda_failures_package
from failctl.preview.asset_paths import AssetPathError, check_asset_paths
from failctl.preview.plan_order import plan_order
from failctl.preview.project_config import ProjectFileError, load_project
from failctl.preview.regions import RegionError, partition_of
from failctl.preview.stack_config import load_stack_config

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The engine's secret wrapper, without the value: what a secret output is to anyone reading the plan.
SECRET = {_special_sig_key: _special_secret_sig}
REGION_KEY = "aws:region"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
ACCOUNT_ID = re.compile(r"\d{12}")


class StackConfigError(Exception):
    """The project or stack files break a rule the engine enforces, or lack what the provider needs."""


class AccountUnknownError(Exception):
    """No account was given and none could be learned from AWS credentials."""


HINT = "failctl hint: "  # prefix of the notes (PEP 678) synthesize adds to a program's exception


class ProgramError(Exception):
    """The program raised: the exception, where in the program, and what flag would have helped
    (the hints synthesize noted on the exception, which it re-raises as the program raised it)."""

    def __init__(self, original: BaseException, program_dir: Path) -> None:
        self.original = original
        hints = [n.removeprefix(HINT) for n in getattr(original, "__notes__", []) if n.startswith(HINT)]
        self.hints = hints
        self.where = failed_at(original, program_dir)
        text = "; ".join(line.strip() for line in str(original).splitlines() if line.strip())[:500]
        if isinstance(original, pulumi.ConfigMissingError):  # its advice is the CLI's; the hints give ours
            text = f"missing required configuration variable {original.key!r}"
        at = f" at {self.where.relative_to(program_dir)}:{self.where.line}" if self.where else ""
        problem = f"the program failed{at}: {type(original).__name__}: {text}"
        super().__init__(problem + "".join(f"; {hint}" for hint in hints))


class OfflineInvokeError(Exception):
    """The program called a provider function the offline preview has no answer for."""


@dataclass(frozen=True)
class SourceLocation:
    """Where the program declared a resource: the file and the line of the constructor call."""

    path: Path
    line: int

    def relative_to(self, base: Path) -> str:
        try:
            return self.path.relative_to(base).as_posix()
        except ValueError:
            return self.path.as_posix()


@dataclass
class SynthResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    props: dict[str, Any]
    protect: bool = False
    dependencies: dict[str, list[str]] = field(default_factory=dict)
    source: SourceLocation | None = None


@dataclass
class Synthesis:
    project: str
    stack: str
    resources: list[SynthResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    account_id: str = ""
    region: str = ""
    warnings: list[str] = field(default_factory=list)

    def of_type(self, type_: str) -> list[SynthResource]:
        return [r for r in self.resources if r.type == type_]


class PreviewMocks(pulumi.runtime.Mocks):
    def __init__(
        self,
        account_id: str,
        region: str,
        partition: str = "aws",
        stack_references: dict[str, dict[str, Any]] | None = None,
        dns_suffix: str = "amazonaws.com",
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.partition = partition
        self.dns_suffix = dns_suffix
        self.stack_references = stack_references or {}
        self.unanswered: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(str(args.inputs.get("name") or args.name))
        # An empty id is unknown in preview; inputs are the planned state, as on a create.
        return "", dict(args.inputs)

    def _stack_reference(self, name: str) -> tuple[str, dict[str, Any]]:
        """Another stack's outputs, as given (`--stack-reference NAME=FILE`); none otherwise."""
        if name not in self.stack_references:
            self.unanswered.append(f"stack reference {name}")
        outputs = self.stack_references.get(name, {})
        return name, {"name": name, "outputs": outputs, "secretOutputNames": []}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The invoke's result and no check failures (the SDK's mock protocol)."""
        return self._answer(args), []

    def _answer(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:{self.partition}:iam::{self.account_id}:user/preview",
                "userId": "AIDAPREVIEW",
                "id": self.account_id,
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": self.partition, "dnsSuffix": self.dns_suffix, "id": self.partition}
        if args.token == "aws:iam/getPolicyDocument:getPolicyDocument":
            return policy_document(dict(args.args))
        # Anything else needs AWS: the program gets nothing back, and the preview says so.
        self.unanswered.append(args.token)
        return {}


def _one_or_many(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def _statement(raw: dict[str, Any]) -> dict[str, Any]:
    """One statement as the provider's getPolicyDocument renders it (IAM's JSON names)."""
    statement: dict[str, Any] = {}
    if raw.get("sid"):
        statement["Sid"] = raw["sid"]
    statement["Effect"] = raw.get("effect") or "Allow"
    for source, target in (("actions", "Action"), ("notActions", "NotAction")):
        if raw.get(source):
            statement[target] = _one_or_many(sorted(raw[source]))
    for source, target in (("resources", "Resource"), ("notResources", "NotResource")):
        if raw.get(source):
            statement[target] = _one_or_many(sorted(raw[source]))
    for source, target in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        if raw.get(source):
            principal: dict[str, Any] = {}
            for entry in raw[source]:
                principal.setdefault(entry["type"], []).extend(entry.get("identifiers") or [])
            statement[target] = {k: _one_or_many(sorted(v)) for k, v in principal.items()}
    if raw.get("conditions"):
        condition: dict[str, dict[str, Any]] = {}
        for entry in raw["conditions"]:
            condition.setdefault(entry["test"], {})[entry["variable"]] = _one_or_many(list(entry.get("values") or []))
        statement["Condition"] = condition
    return statement


def policy_document(args: dict[str, Any]) -> dict[str, Any]:
    """aws.iam.get_policy_document computed here, as the provider computes it (no AWS call)."""
    document: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    if args.get("policyId"):
        document["Id"] = args["policyId"]
    document["Statement"] = [_statement(s) for s in args.get("statements") or []]
    if args.get("sourcePolicyDocuments") or args.get("overridePolicyDocuments"):
        raise OfflineInvokeError("getPolicyDocument with source or override documents is not computed offline")
    return {
        "id": "offline",
        "json": json.dumps(document, indent=2),
        "minifiedJson": json.dumps(document, separators=(",", ":")),
    }


# Frames in these folders are not the user's program: the SDKs and this project's own packages.
_NOT_PROGRAM = tuple(
    Path(file).resolve().parent
    for module in (pulumi, failctl_package, lambda_failures_package)
    if (file := getattr(module, "__file__", None))
)


def _frame_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def _in_program(path: Path, program_dir: Path) -> bool:
    if {"site-packages", "dist-packages"} & set(path.parts):
        return False
    if any(path.is_relative_to(folder) for folder in _NOT_PROGRAM):
        return False
    return path.is_relative_to(program_dir)


def failed_at(error: BaseException, program_dir: Path) -> SourceLocation | None:
    """The innermost frame of the traceback in the program's own files."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        # `<frozen runpy>` and `<string>` are no files: resolved, they would land in the working folder.
        path = Path(frame.filename).resolve() if frame.filename and not frame.filename.startswith("<") else None
        if path is not None and frame.lineno and _in_program(path, program_dir):
            return SourceLocation(path, frame.lineno)
    return None


def declared_at(frames: Any, program_dir: Path) -> SourceLocation | None:
    """The first frame, innermost out, in the program's own files: what the SDK sends the engine
    as the registration's stack trace (`_get_stack_trace`), less the SDKs, installed packages
    and this project's packages (a component's children land on the user's call to the component)."""
    for frame in frames:
        path = _frame_path(frame.pc.uri) if frame.HasField("pc") else None
        if path is not None and frame.pc.line > 0 and _in_program(path, program_dir):
            return SourceLocation(path, int(frame.pc.line))
    return None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Keeps each registration as the engine would hand it to an analyzer, with where it was declared."""

    def __init__(self, mocks: pulumi.runtime.Mocks, program_dir: Path | None = None) -> None:
        super().__init__(mocks)
        self.registrations: list[SynthResource] = []
        self.program_dir = (program_dir or PROJECT_DIR).resolve()
        self._sources: dict[str, SourceLocation | None] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN (deployment.go `generateURN`): the parent's whole qualified type before
        the resource's own, `$`-joined, and none for a child of the root stack. (The SDK's mock keeps
        `pulumi:pulumi:Stack$` and only the parent's last type: URNs the CLI never shows, which a
        pack config's exemption copied from `pulumi stack --show-urns` would not match.)"""
        if parent:
            qualified = parent.split("::")[2]
            if qualified.rsplit("$", 1)[-1] != ROOT_STACK_TYPE:
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]  # the SDK's mock is untyped
        # Registered outside any user frame (in an apply, say): the line of its parent component.
        source = declared_at(request.stackTrace.frames, self.program_dir) or self._sources.get(request.parent)
        self._sources[response.urn] = source
        if request.type != ROOT_STACK_TYPE:
            self.registrations.append(
                SynthResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    custom=bool(request.custom),
                    props=json_format.MessageToDict(request.object),
                    protect=bool(request.protect),
                    dependencies={key: list(deps.urns) for key, deps in request.propertyDependencies.items()},
                    source=source,
                )
            )
        return response


def caller_account() -> str:
    """The account of the AWS credentials at hand, as the provider's getCallerIdentity would see."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        return str(boto3.client("sts").get_caller_identity()["Account"])
    except (ImportError, BotoCoreError, ClientError) as error:
        raise AccountUnknownError(
            f"cannot learn the account id from AWS credentials ({type(error).__name__}); pass --account <12 digits>"
        ) from None


@dataclass
class StackInputs:
    """The config a fresh stack's program receives, and what the preview should say about it."""

    values: dict[str, str]
    secret_keys: list[str]
    warnings: list[str]
    undecrypted: list[str] = field(default_factory=list)
    # Keys in the project's namespace that Pulumi.yaml does not declare, and the stack file's name:
    # warned about only if the program never reads them.
    undeclared: list[str] = field(default_factory=list)
    stack_file: str = ""

    def unread_warnings(self, read: set[str]) -> list[str]:
        return [
            f"{key} is set in {self.stack_file} but not declared in Pulumi.yaml, and the program never read it"
            for key in self.undeclared
            if key not in read
        ]


class ConfigReads(dict[str, Any]):
    """The config map the SDK reads (`pulumi.runtime.config.CONFIG`), noting every key looked up."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def stack_inputs(
    project_dir: Path,
    stack: str,
    overrides: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
) -> StackInputs:
    """Pulumi.yaml and Pulumi.<stack>.yaml merged by the engine's rules (project_config, stack_config), with
    `secure:` values the preview cannot decrypt: given ones stay secret, others are left out."""
    try:
        project = load_project(project_dir)
        loaded = load_stack_config(project, project_dir, stack, overrides)
    except ProjectFileError as error:
        raise StackConfigError(str(error)) from None
    values = dict(loaded.values)
    given = {_qualified(project.name, key): value for key, value in (secrets or {}).items()}
    warnings = [
        f"{key} has an empty value in {loaded.path.name}: the program reads it as unset" for key in loaded.empty
    ]
    undecrypted = []
    for key in sorted(loaded.secrets):
        if key in given:
            values[key] = given.pop(key)
        else:
            del values[key]
            undecrypted.append(key)
            warnings.append(f"{key} is a secret the offline preview cannot decrypt: planned without it (--secret)")
    for key, value in given.items():
        values[key] = value
    secret_keys = sorted(set(loaded.secrets) | set(given))
    return StackInputs(values, secret_keys, warnings, undecrypted, list(loaded.undeclared), loaded.path.name)


def _qualified(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def synthesize(
    stack: str = "dev",
    config: dict[str, str] | None = None,
    project_dir: Path = PROJECT_DIR,
    account_id: str | None = None,
    region: str | None = None,
    secrets: dict[str, str] | None = None,
    stack_references: dict[str, dict[str, Any]] | None = None,
) -> Synthesis:
    """Run `__main__.py` once, fresh, and return what it registered and exported.

    `config` is set on top of the stack file, as `pulumi config set` would (tests build variants
    this way); a missing stack file is a fresh stack. The region is `region`, else the stack's
    `aws:region`, else an error, as with the AWS provider; the account is `account_id`, else
    the one AWS credentials belong to.
    """
    overrides = dict(config or {})
    if region is not None:
        overrides[REGION_KEY] = region
    inputs = stack_inputs(project_dir, stack, overrides, secrets)
    region = inputs.values.get(REGION_KEY)
    if not region:
        raise StackConfigError(
            f"aws:region is not set for stack {stack}: `pulumi config set aws:region <region>`, or pass --region"
        )
    try:
        partition = partition_of(region)
    except RegionError as error:
        raise StackConfigError(f"aws:region of stack {stack}: {error}") from None
    if account_id is None:
        account_id = caller_account()
    if not ACCOUNT_ID.fullmatch(account_id):
        raise StackConfigError(f"account {account_id!r} is not a 12-digit AWS account id")
    project = load_project(project_dir).name
    mocks = PreviewMocks(account_id, region, partition.id, stack_references, partition.dns_suffix)
    monitor = RecordingMonitor(mocks, project_dir)

    pulumi_settings.reset_options(project=project, stack=stack, preview=True)
    set_all_config(dict(inputs.values), inputs.secret_keys)
    reads = ConfigReads(pulumi_runtime_config.CONFIG.get())
    pulumi_runtime_config.CONFIG.set(reads)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=True, monitor=monitor)

    # As `python DIR` runs it: the program's folder leads the import path while it runs, so
    # its own modules import as they do under the Pulumi CLI.
    program = str(entry_point(project_dir))
    # A library caller's loops, which are not ours to close.
    theirs: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet(_loops())
    try:
        _sync_await(run_pulumi_func(lambda: _run_path(program)))
    except Exception as error:
        _abandon_loop(theirs)
        for hint in _failure_hints(error, inputs, mocks, stack, project_dir):
            error.add_note(HINT + hint)
        raise
    except BaseException:
        _abandon_loop(theirs)
        raise

    try:  # as the engine reads them before any provider call: relative to the program's folder
        check_asset_paths(monitor.registrations, Path(program) if Path(program).is_dir() else Path(program).parent)
    except AssetPathError as error:
        raise StackConfigError(str(error)) from None
    root = pulumi_settings.get_root_resource()
    outputs = _sync_await(_resolve_outputs(dict(getattr(root, "outputs", {}) or {})))
    warnings = (
        inputs.unread_warnings(reads.read)
        + inputs.warnings
        + [
            f"{token} has no outputs offline (--stack-reference NAME=FILE gives them)"
            if token.startswith("stack reference")
            else f"invoke {token} needs AWS and got no answer offline: what the program read from it was empty"
            for token in sorted(set(mocks.unanswered))
        ]
    )
    return Synthesis(project, stack, plan_order(monitor.registrations), outputs, account_id, region, warnings)


def _run_path(program: str) -> None:
    runpy.run_path(program, run_name="__main__")


def _project_document(project_dir: Path) -> dict[str, Any]:
    """Pulumi.yaml read loosely, for the attributes project_config does not carry (main, runtime options)."""
    import yaml

    try:
        document = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return document if isinstance(document, dict) else {}


def _virtualenv(project_dir: Path) -> str | None:
    runtime = _project_document(project_dir).get("runtime")
    options = runtime.get("options") if isinstance(runtime, dict) else None
    venv = options.get("virtualenv") if isinstance(options, dict) else None
    return venv if isinstance(venv, str) and venv else None


def entry_point(project_dir: Path) -> Path:
    """The program the language host runs: the project's `main` (a folder with `__main__.py`, or a
    file) relative to its folder, else the folder itself (project.json `main`)."""
    project_dir = project_dir.resolve()
    main = _project_document(project_dir).get("main")
    if not isinstance(main, str) or not main.strip():
        return project_dir
    program = (project_dir / main).resolve()
    if not program.is_relative_to(project_dir):
        raise StackConfigError(f"Pulumi.yaml: main {main!r} is outside the project folder {project_dir}")
    if program.is_dir() and not (program / "__main__.py").is_file():
        raise StackConfigError(f"Pulumi.yaml: main {main!r} is a folder without a __main__.py to run")
    if not program.exists():
        raise StackConfigError(f"Pulumi.yaml: main {main!r} does not exist in {project_dir}")
    # A folder's __main__.py runs as its folder does, with the folder first on the import path.
    return program.parent if program.name == "__main__.py" else program


def _failure_hints(
    error: Exception, inputs: StackInputs, mocks: PreviewMocks, stack: str, project_dir: Path
) -> list[str]:
    """What the offline preview left out that the program may have needed, as the flag that gives it."""
    hints = []
    missing = getattr(error, "key", None) if isinstance(error, pulumi.ConfigMissingError) else None
    if missing is not None:
        if missing in inputs.undecrypted:
            hints.append(f"{missing} is a secret the offline preview cannot decrypt: pass --secret {missing}=VALUE")
        else:
            hints.append(
                f"{missing} is not set for stack {stack}: set it in its stack file, or pass --secret {missing}=VALUE"
            )
    venv = _virtualenv(project_dir)
    if isinstance(error, ModuleNotFoundError) and venv is not None:
        hints.append(
            f"the program's virtualenv {venv} (Pulumi.yaml) is not used offline: failctl runs the program with "
            f"its own Python, so install failctl into it ({venv}/bin/pip install 'lambda-failures[tooling]') "
            f"and run {venv}/bin/failctl"
        )
    references = {u.removeprefix("stack reference ") for u in mocks.unanswered if u.startswith("stack reference")}
    for name in sorted(references):
        hints.append(f"stack reference {name} has no outputs offline: pass --stack-reference {name}=FILE")
    return hints


def _abandon_loop(theirs: weakref.WeakSet[asyncio.AbstractEventLoop], wait_seconds: float = 5) -> None:
    """After a failed program: cancel what the runtime left pending, close its event loops and
    start a fresh one. Left to the interpreter's exit, a loop may be collected after its own
    self-pipe and print a traceback (`Invalid file descriptor: -1`) after our one-line error."""
    loop = asyncio.get_event_loop()
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=wait_seconds))
    asyncio.set_event_loop(asyncio.new_event_loop())
    _close_idle_loops(asyncio.get_event_loop(), theirs)
    atexit.register(_close_idle_loops, None, theirs)


def _loops() -> list[asyncio.BaseEventLoop]:
    return [candidate for candidate in gc.get_objects() if _is_loop(candidate)]


def _is_loop(candidate: object) -> bool:
    try:
        return isinstance(candidate, asyncio.BaseEventLoop)
    except ReferenceError:  # a weak proxy (matplotlib keeps some) whose object is gone
        return False


def _close_idle_loops(
    keep: asyncio.AbstractEventLoop | None, theirs: weakref.WeakSet[asyncio.AbstractEventLoop]
) -> None:
    """Close the idle event loops the program's run made (the runtime makes some of its own, in
    threads too), never `keep` nor one that existed before it: another thread of a library
    caller may be between two uses of its loop."""
    for candidate in _loops():
        if candidate is not keep and candidate not in theirs:
            if not candidate.is_running() and not candidate.is_closed():
                candidate.close()


async def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        known = await output.is_known()
        if await output.is_secret():
            resolved[key] = dict(SECRET)
        else:
            resolved[key] = await output.future() if known else UNKNOWN
    return resolved
