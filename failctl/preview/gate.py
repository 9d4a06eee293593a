"""The offline policy gate: the pack's verdict on a synthesized stack or a stack export, got
exactly as the Pulumi CLI gets it: the pack runs as its own process and is asked over the
analyzer gRPC protocol (see analyzer.py).

Per resource the gate asks Remediate (policies at the `remediate` level rewrite the inputs,
as the engine applies them before analysis), then Analyze on the result; then AnalyzeStack
once. Diagnostics are sorted into violations by enforcement level, remediations, and policies
that could not decide because a value they read is unknown at preview (the server says
"can't run policy ... during preview"). It fails closed: a pack that crashes while analyzing
a resource is a mandatory violation on that resource, never a pass.

The resources are asked a few at a time (each one's Remediate then Analyze on one thread), as
many as the pack's server answers at once; the answers are read back in the plan's order, so a
report does not depend on which call came back first. The engine makes no promise of an order
either: every policy sees one resource per call, and Configure comes before, AnalyzeStack after.
"""

from __future__ import annotations

import atexit
import contextlib
import difflib
import fnmatch
import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from failctl.preview.analyzer import (
    LEVELS as LEVEL_NUMBERS,
)
from failctl.preview.analyzer import (
    AnalyzedResource,
    AnalyzerError,
    PackServer,
    PolicyInfo,
    is_unknown_at_preview,
    level_name,
)
from failctl.preview.synth import SourceLocation, SynthResource
from failure_guards import exemptions as exemption_rules
from failure_guards.exemptions import Exemption

LEVELS = tuple(LEVEL_NUMBERS)
MANDATORY = "mandatory"
PACK_FAILURE = "(policy pack)"
# pulumi_policy's server answers on a pool of 4 threads (`PolicyPack`, `futures.ThreadPoolExecutor(
# max_workers=4)`): more calls in flight would wait in its queue with their deadlines running.
CONCURRENT_CALLS = 4


class GateInputError(Exception):
    """The pack or its config cannot be used; the message says why."""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str | None
    message: str


@dataclass(frozen=True)
class Undecided:
    policy: str
    urn: str | None
    reason: str


@dataclass(frozen=True)
class GateResult:
    """The pack's verdict on one plan, built once when the judging is done."""

    pack: str
    policies: int
    resources: int
    components: int = 0
    violations: list[Violation] = field(default_factory=list)
    undecided: list[Undecided] = field(default_factory=list)
    exemptions: list[Exemption] = field(default_factory=list)
    # Where the program declared each resource (by URN), when the plan came from a program.
    sources: dict[str, SourceLocation] = field(default_factory=dict)
    # The program's folder (stack-level findings point at its Pulumi.yaml) and the folder paths
    # are given relative to: the git work tree holding it, else the program's folder.
    program_dir: Path | None = None
    source_root: Path | None = None

    def location(self, urn: str | None) -> tuple[str, int] | None:
        """(path relative to source_root, line) where the finding's resource was declared; a
        stack-level finding points at the project file; None when the position is not known
        (a stack export written without source positions)."""
        root = self.source_root or self.program_dir
        if root is None:
            return None
        source = self.sources.get(urn) if urn else None
        if urn is None and self.program_dir is not None:
            source = SourceLocation(self.program_dir / "Pulumi.yaml", 1)
        return (source.relative_to(root), source.line) if source is not None else None

    def where(self, urn: str | None) -> dict[str, Any]:
        found = self.location(urn)
        return {"file": found[0], "line": found[1]} if found else {"file": None, "line": None}

    @property
    def blocked(self) -> bool:
        return any(v.level == MANDATORY for v in self.violations)

    def as_json(self, options: ReportOptions | None = None) -> dict[str, Any]:
        options = options or ReportOptions()
        severities = options.severities()
        return {
            "verdict": {
                "blocked": self.blocked,
                "softFail": options.soft_fail,
                "skipped": [{"policy": name, "level": level} for name, level in options.skipped],
            },
            "violations": [
                v.__dict__ | {"severity": severities.get(v.policy) or None} | self.where(v.urn) for v in self.violations
            ],
            "undecided": [u.__dict__ | self.where(u.urn) for u in self.undecided],
            "exemptions": [
                e.__dict__ | {"expired": e.expired, "inForce": e.in_force} | self.where(e.urn) for e in self.exemptions
            ],
        }


@dataclass
class Pack:
    """A running pack (one process per directory, kept for the life of this process)."""

    name: str
    policies: list[PolicyInfo]
    server: PackServer


@dataclass(frozen=True)
class ReportOptions:
    """What the command line adds to a verdict's reports, apart from the verdict itself: the pack
    that judged and the config it judged with; the policies it left out (--check/--skip-check)
    with the level each would have had, and --soft-fail, which every format says, so a pass that
    did not check everything never looks clean; where the rules document is published
    (--rules-url, SARIF's helpUri)."""

    pack: Pack | None = None
    config: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    soft_fail: bool = False
    rules_url: str = ""

    @property
    def skipped_mandatory(self) -> list[str]:
        return [name for name, level in self.skipped if level in (MANDATORY, "remediate")]

    def severities(self) -> dict[str, str]:
        return {p.name: p.severity for p in self.pack.policies} if self.pack else {}


_RUNNING: dict[Path, Pack] = {}


@atexit.register
def stop_all() -> None:
    """Stop every pack process this process started (at exit, or when interrupted)."""
    for pack in list(_RUNNING.values()):
        pack.server.close()
    _RUNNING.clear()


def load_pack(directory: str | Path) -> Pack:
    """Start the pack as the CLI would (or reuse the one already running) and read its policies."""
    path = Path(directory).resolve()
    if path in _RUNNING and _RUNNING[path].server.alive:
        return _RUNNING[path]
    if not (path / "PulumiPolicy.yaml").exists():
        raise GateInputError(f"{directory} is not a policy pack (no PulumiPolicy.yaml)")
    try:
        server = PackServer(path)
    except AnalyzerError as error:
        raise GateInputError(str(error)) from None
    try:
        name, policies = server.info()
    except AnalyzerError as error:
        server.close()
        raise GateInputError(str(error)) from None
    except BaseException:  # Ctrl-C while it answers: the process must not outlive us
        server.close()
        raise
    _RUNNING[path] = Pack(name, policies, server)
    return _RUNNING[path]


def load_config(path: str | Path | None, pack: Pack) -> dict[str, tuple[str, dict[str, Any]]]:
    """Per policy: (enforcement level, config with schema defaults), from a pack config file,
    validated against each policy's schema as the CLI does before it calls Configure."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise GateInputError(f"cannot read policy pack config {path}: {error}") from None
        if not isinstance(raw, dict):
            raise GateInputError(f"policy pack config {path} must be a JSON object")
    names = {p.name for p in pack.policies}
    unknown = sorted(set(raw) - names - {"all"})
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(names), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise GateInputError(f"policy pack config names unknown policies: {', '.join(unknown)}{hint}")
    default_level = raw.get("all")
    if default_level is not None and default_level not in LEVELS:
        raise GateInputError(f"'all' must be one of {', '.join(LEVELS)}; got {default_level!r}")
    return {p.name: _policy_config(p, raw.get(p.name), default_level) for p in pack.policies}


def skipped_by(
    before: dict[str, tuple[str, dict[str, Any]]], after: dict[str, tuple[str, dict[str, Any]]]
) -> list[tuple[str, str]]:
    """(policy, level it had) for each policy select_policies disabled."""
    return [
        (name, level) for name, (level, _) in before.items() if level != "disabled" and after[name][0] == "disabled"
    ]


def select_policies(
    config: dict[str, tuple[str, dict[str, Any]]], check: list[str], skip: list[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """`--check` runs only the policies named, `--skip-check` leaves some out: the others are disabled,
    as the engine disables a policy whose level is `disabled` (it is neither run nor reported)."""
    for name in [*check, *skip]:
        if name not in config:
            close = difflib.get_close_matches(name, list(config), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else " (`failctl policies` lists them)"
            raise GateInputError(f"no policy named {name}{hint}")
    chosen = set(check) if check else set(config)
    return {
        name: ("disabled", settings) if name not in chosen or name in skip else (level, settings)
        for name, (level, settings) in config.items()
    }


def _policy_config(policy: PolicyInfo, entry: Any, default_level: str | None) -> tuple[str, dict[str, Any]]:
    level = default_level or policy.level
    given: dict[str, Any] = {}
    if isinstance(entry, str):
        level = entry
    elif isinstance(entry, dict):
        given = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        level = entry.get("enforcementLevel", level)
    elif entry is not None:
        raise GateInputError(f"config for {policy.name} must be a level or an object")
    if level not in LEVELS:
        raise GateInputError(f"{policy.name}: enforcement level must be one of {', '.join(LEVELS)}; got {level!r}")
    problems = exemption_rules.config_problems(policy.name, given)
    if problems:
        raise GateInputError(problems[0])
    properties = policy.config_properties
    unknown = sorted(set(given) - set(properties))
    if unknown:
        raise GateInputError(
            f"{policy.name} has no setting {', '.join(unknown)}; it takes: {', '.join(sorted(properties)) or 'nothing'}"
        )
    config = {k: v["default"] for k, v in properties.items() if isinstance(v, dict) and "default" in v}
    config.update(given)
    if properties:
        schema = {"type": "object", "properties": properties, "required": list(policy.config_required)}
        try:
            jsonschema.validate(config, schema)
        except jsonschema.ValidationError as error:
            raise GateInputError(f"{policy.name} config: {error.message}") from None
    return level, config


def _resource(r: SynthResource) -> AnalyzedResource:
    return AnalyzedResource(r.urn, r.type, r.name, r.props, r.parent, r.protect, r.dependencies)


def source_root(program_dir: Path) -> Path:
    """The git work tree holding the program (what code scanning paths are relative to), else the program."""
    program_dir = program_dir.resolve()
    for folder in (program_dir, *program_dir.parents):
        if (folder / ".git").exists():
            return folder
    return program_dir


def evaluate(
    pack: Pack,
    resources: Iterable[SynthResource],
    config: dict[str, tuple[str, dict[str, Any]]] | None = None,
    program_dir: Path | None = None,
) -> GateResult:
    resources = list(resources)
    custom = [_resource(r) for r in resources if r.custom]
    config = config or load_config(None, pack)
    active = [name for name, (level, _) in config.items() if level != "disabled"]
    program = program_dir.resolve() if program_dir is not None else None
    # A stack export's positions are relative to the project: resolved against the program's folder.
    sources = {
        r.urn: r.source
        if r.source.path.is_absolute() or program is None
        else SourceLocation(program / r.source.path, r.source.line)
        for r in resources
        if r.source is not None
    }
    descriptions = {p.name: p.description for p in pack.policies}
    try:
        pack.server.configure(config)
    except AnalyzerError as error:
        raise GateInputError(str(error)) from None
    analyzed = []
    violations: list[Violation] = []
    undecided: list[Undecided] = []
    with _calls() as pool:
        answers = pool.map(lambda resource: _judged(pack, resource), custom)
        exemptions = _exemptions(custom, config)  # read here while the pack answers
        for judged in answers:  # in the plan's order, whichever call ends first
            analyzed.append(judged.resource)
            violations.extend(judged.violations)
            _sort(judged.diagnostics, judged.resource.urn, descriptions, violations, undecided)
    # The engine hands AnalyzeStack every resource of the stack, components too (step_generator.go
    # `AnalyzeResources` ranges over all new states): a dependency on a component resolves.
    components = [_resource(r) for r in resources if not r.custom]
    try:
        _sort(pack.server.analyze_stack(analyzed + components), None, descriptions, violations, undecided)
    except AnalyzerError as error:
        violations.append(Violation(PACK_FAILURE, MANDATORY, None, f"fail closed: {error}"))
    return GateResult(
        pack.name,
        len(active),
        len(custom),
        components=len(components),
        violations=violations,
        undecided=undecided,
        exemptions=exemptions,
        sources=sources,
        program_dir=program,
        source_root=source_root(program_dir) if program_dir is not None else None,
    )


def unmatched_exemptions(
    config: dict[str, tuple[str, dict[str, Any]]], resources: Iterable[SynthResource]
) -> list[str]:
    """The pack config's exemptions that name no resource of this plan: a URN copied with a typo,
    or from another stack's output, excuses nothing and would otherwise say nothing."""
    urns = [r.urn for r in resources if r.custom]
    if not urns:
        return []
    stack, project = urns[0].removeprefix("urn:pulumi:").split("::")[:2]

    def meant_here(pattern: str) -> bool:  # a shared config's exemptions for other programs are not ours
        parts = pattern.removeprefix("urn:pulumi:").split("::")
        return len(parts) == 4 and fnmatch.fnmatchcase(stack, parts[0]) and fnmatch.fnmatchcase(project, parts[1])

    return [
        f"the pack config's exemption {entry['urn']!r} from {policy} matches no resource of this plan"
        for policy, (level, settings) in config.items()
        if level != "disabled"
        for entry in exemption_rules.config_entries(settings)
        if isinstance(entry.get("urn"), str)
        and meant_here(entry["urn"])
        and not any(exemption_rules.urn_matches(entry["urn"], u) for u in urns)
    ]


def _exemptions(resources: list[AnalyzedResource], config: dict[str, tuple[str, dict[str, Any]]]) -> list[Exemption]:
    """Every exemption declared for this plan (by tag or config), read as the pack reads them
    (only on the resource types each of this pack's policies judges; another pack's: any type)."""
    from failure_guards.policies import JUDGES  # loads pulumi_policy, which running the pack needs anyway

    found = []
    for resource in resources:
        for policy, (level, policy_config) in config.items():
            if level == "disabled":
                continue
            exemption = exemption_rules.find(
                policy, resource.urn, resource.props, policy_config, level == "advisory", JUDGES.get(policy)
            )
            if exemption is not None:
                found.append(exemption)
    return found


@dataclass
class _Judged:
    """One resource's answers: its inputs after remediation, what remediating it found (a failed
    call included), and Analyze's diagnostics on the remediated inputs."""

    resource: AnalyzedResource
    violations: list[Violation]
    diagnostics: list[Any]


def _judged(pack: Pack, resource: AnalyzedResource) -> _Judged:
    """Remediate, then Analyze the result, as the engine does for each resource. A call that
    fails (the pack crashed, or the deadline passed) is a mandatory violation, never a pass."""
    violations: list[Violation] = []
    resource = _remediated(pack, resource, violations)
    try:
        diagnostics = pack.server.analyze(resource)
    except AnalyzerError as error:
        violations.append(Violation(PACK_FAILURE, MANDATORY, resource.urn, f"fail closed: {error}"))
        diagnostics = []
    return _Judged(resource, violations, diagnostics)


@contextlib.contextmanager
def _calls() -> Iterator[ThreadPoolExecutor]:
    """Threads for CONCURRENT_CALLS calls at a time. On an error or an interrupt the calls not
    started are dropped and the running ones not waited for (their process is stopped on the way
    out: a pack stuck in a call would otherwise hold the exit for the call's whole deadline)."""
    pool = ThreadPoolExecutor(max_workers=CONCURRENT_CALLS, thread_name_prefix="gate-call")
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _remediated(pack: Pack, resource: AnalyzedResource, violations: list[Violation]) -> AnalyzedResource:
    """Apply the pack's remediations to the inputs, as the engine does before it analyzes them."""
    try:
        remediations = pack.server.remediate(resource)
    except AnalyzerError as error:
        violations.append(Violation(PACK_FAILURE, MANDATORY, resource.urn, f"fail closed: {error}"))
        return resource
    for policy, properties, diagnostic in remediations:
        if properties is None:
            if diagnostic:
                violations.append(Violation(policy, MANDATORY, resource.urn, diagnostic))
            continue
        violations.append(
            Violation(policy, "remediate", resource.urn, "remediated: the policy rewrote this resource's inputs")
        )
        resource = AnalyzedResource(
            resource.urn,
            resource.type,
            resource.name,
            properties,
            resource.parent,
            resource.protect,
            resource.dependencies,
        )
    return resource


def _sort(
    diagnostics: list[Any],
    urn: str | None,
    descriptions: dict[str, str],
    violations: list[Violation],
    undecided: list[Undecided],
) -> None:
    for d in diagnostics:
        where = d.urn or urn
        if is_unknown_at_preview(d):
            reason = d.message.split("during preview: ", 1)[-1]
            undecided.append(Undecided(d.policyName, urn, reason))
            continue
        message = d.message
        description = descriptions.get(d.policyName, "")
        if description and message.startswith(description):
            message = message[len(description) :].lstrip("\n") or description
        violations.append(Violation(d.policyName, level_name(d.enforcementLevel), where, message))


def report_lines(result: GateResult, options: ReportOptions | None = None) -> list[str]:
    options = options or ReportOptions()
    components = (
        f" (components, {result.components} more, are judged with what they contain)" if result.components else ""
    )
    lines = [f"Policy pack {result.pack}: {result.policies} policies over {result.resources} resources{components}"]
    if options.skipped:
        lines.append(f"skipped on the command line (--check/--skip-check), not checked: {len(options.skipped)}")
        lines.extend(f"  [{name}] ({level})" for name, level in options.skipped)
    severities = options.severities()

    def at(urn: str | None) -> str:
        found = result.location(urn)
        return f"{found[0]}:{found[1]}: " if found else ""

    for level in (MANDATORY, "advisory", "remediate"):
        found = [v for v in result.violations if v.level == level]
        label = "remediated" if level == "remediate" else f"{level} violations"
        lines.append(f"{label}: {len(found)}")
        for v in found:
            severity = f", {severities[v.policy]}" if severities.get(v.policy) else ""
            lines.append(f"  {at(v.urn)}[{v.policy}{severity}] {v.urn or '(stack)'}")
            lines.append(f"      {v.message}")
    lines.append(f"exemptions: {len(result.exemptions)}")
    for e in result.exemptions:
        lines.append(f"  {at(e.urn)}[{e.policy}] {e.urn}: {e.reason} ({e.state}, by {e.source})")
    lines.append(f"undecided (unknown at preview): {len(result.undecided)}")
    for u in result.undecided:
        lines.append(f"  {at(u.urn)}[{u.policy}] {u.urn or '(stack)'}: {u.reason}")
    lines.append(verdict_line(result, options))
    return lines


def verdict_line(result: GateResult, options: ReportOptions | None = None) -> str:
    options = options or ReportOptions()
    if result.blocked:
        return "BLOCKED: mandatory violations" + (" (exit 0: --soft-fail)" if options.soft_fail else "")
    skipped = options.skipped_mandatory
    unchecked = f" (mandatory policies NOT checked, skipped on the command line: {', '.join(skipped)})"
    return "PASSED: no mandatory violations" + (unchecked if skipped else "")
