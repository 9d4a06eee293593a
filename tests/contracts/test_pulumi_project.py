"""The Pulumi engine's rules for Pulumi.yaml and Pulumi.<stack>.yaml, as failctl.preview carries them.

Every project file in the repo must pass them; a fresh stack must load with the declared defaults; and
each rule is shown to bite on a file that breaks it (including the two defects the project file had).
Nothing here reads outside the repository: the negative cases write their files under tmp_path.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.project_keys import declared_names

from failctl.preview.project_config import ProjectFileError, load_project, parse_key
from failctl.preview.stack_config import SECRET_PLACEHOLDER, load_stack_config
from failure_guards.bounds import STREAM_MAX_RETRY_ATTEMPTS

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", ".git", "node_modules", "__pycache__"}
CIPHERTEXT = "v1:Zm9vYmFyYmF6cXV4LXRoaXMtaXMtY2lwaGVydGV4dA=="


def project_dirs() -> list[Path]:
    found = []
    for folder, subdirs, files in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if d not in SKIP_DIRS]
        if "Pulumi.yaml" in files:
            found.append(Path(folder))
    return sorted(found)


def stack_names(project_dir: Path) -> list[str]:
    project = load_project(project_dir)
    folder = project_dir / project.stack_config_dir if project.stack_config_dir else project_dir
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in folder.glob("Pulumi.*.yaml"))


def write_project(folder: Path, config: str, stack: str | None = None, name: str = "demo") -> Path:
    (folder / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\nconfig:\n{config}")
    if stack is not None:
        (folder / "Pulumi.dev.yaml").write_text(stack)
    return folder


def project_error(folder: Path) -> str:
    with pytest.raises(ProjectFileError) as caught:
        load_project(folder)
    return str(caught.value)


def stack_error(folder: Path, overrides: dict[str, str] | None = None) -> str:
    project = load_project(folder)
    with pytest.raises(ProjectFileError) as caught:
        load_stack_config(project, folder, "dev", overrides)
    return str(caught.value)


# (a) every project and stack file in the repo passes


def test_the_repo_has_the_project_and_its_dev_stack():
    assert ROOT in project_dirs()
    assert "dev" in stack_names(ROOT)


@pytest.mark.parametrize("project_dir", project_dirs(), ids=lambda p: str(p.relative_to(ROOT)) or ".")
def test_every_project_file_and_its_stacks_pass_the_engine_rules(project_dir):
    project = load_project(project_dir)
    for stack in stack_names(project_dir):
        config = load_stack_config(project, project_dir, stack)
        assert config.undeclared == (), f"Pulumi.{stack}.yaml sets keys Pulumi.yaml does not declare"
        assert config.empty == ()


# (b) a fresh dev stack that sets only the region


def test_a_fresh_dev_stack_needs_only_the_region_and_gets_the_declared_defaults(tmp_path):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")  # no Pulumi.dev.yaml: what `stack init` gives
    project = load_project(tmp_path)
    config = load_stack_config(project, tmp_path, "dev", {"aws:region": "eu-west-1"})

    assert config.values["aws:region"] == "eu-west-1"
    assert config.secrets == frozenset()
    assert config.undeclared == ()
    assert set(config.values) == {f"{project.name}:{name}" for name in declared_names(project)} | {"aws:region"}
    raw = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    for key, declaration in raw.items():
        default = declaration["default"]
        expected = str(default).lower() if isinstance(default, bool) else str(default)
        assert config.values[key] == expected, key
    prefix = "lambda-failures:"
    assert config.values[prefix + "namePrefix"] == ""
    assert config.values[prefix + "reservedConcurrency"] == "-1"
    assert config.values[prefix + "bucketNamespace"] == "account-regional"
    assert config.values[prefix + "allowDestroy"] == "false"
    assert config.values[prefix + "analyticsStartDate"] == "2024-01-01"


def test_the_project_declares_no_region_and_no_archive_transition():
    project = load_project(ROOT)
    assert "aws:region" not in {d.qualified for d in project.config.values()}
    assert "archiveTransitionDays" not in declared_names(project)
    assert {"bucketNamespace", "reservedConcurrency", "namePrefix"} <= declared_names(project)
    declaration = project.config["lambda-failures:reservedConcurrency"]
    assert (declaration.type, declaration.default) == ("integer", -1)
    assert f"0..{STREAM_MAX_RETRY_ATTEMPTS}" in project.config["lambda-failures:streamMaxRetryAttempts"].description


def test_the_dev_stack_file_values_win_over_the_defaults():
    config = load_stack_config(load_project(ROOT), ROOT, "dev")
    assert config.values["aws:region"] == "us-east-1"
    assert config.values["lambda-failures:successDestination"] == "sqs"


# (c) each rule bites


def test_a_type_on_aws_region_is_refused(tmp_path):
    # The project file's defect before this change: the engine's Project.Validate rejects it.
    folder = write_project(tmp_path, "  aws:region:\n    type: string\n    description: AWS region to deploy to.\n")
    message = project_error(folder)
    assert "'aws:region'" in message
    assert "should not define a type" in message
    assert "must provide an attribute 'value'" in message


def test_a_key_outside_the_namespace_may_carry_only_a_value(tmp_path):
    assert load_project(write_project(tmp_path, "  aws:region: us-west-2\n")).config["aws:region"].value == "us-west-2"
    message = project_error(write_project(tmp_path, "  aws:region:\n    default: us-west-2\n"))
    assert "'aws:region'" in message and "default" in message


def test_a_project_key_with_no_default_and_no_stack_value_is_missing(tmp_path):
    # The project file's other defect: namePrefix, alarmEmail, ... had neither a default nor a dev value.
    folder = write_project(
        tmp_path,
        "  demo:namePrefix:\n    type: string\n  alarmEmail:\n    type: string\n  size:\n    default: 3\n",
        stack="config:\n  aws:region: us-east-1\n",
    )
    message = stack_error(folder)
    assert "Stack 'dev' is missing configuration values 'alarmEmail' and 'demo:namePrefix'" in message
    assert "'size'" not in message
    # A stack value, under either spelling of the key, satisfies it.
    project = load_project(folder)
    config = load_stack_config(project, folder, "dev", {"alarmEmail": "", "demo:namePrefix": "x"})
    assert config.values["demo:alarmEmail"] == ""
    assert config.values["demo:size"] == "3"


def test_a_default_of_the_wrong_type_is_refused(tmp_path):
    message = project_error(write_project(tmp_path, "  retries:\n    type: integer\n    default: three\n"))
    assert "'retries'" in message and "expected type 'integer'" in message


def test_an_array_without_items_is_refused(tmp_path):
    message = project_error(write_project(tmp_path, "  subnets:\n    type: array\n    default: []\n"))
    assert "'subnets'" in message and "'items'" in message
    ok = write_project(tmp_path, "  subnets:\n    type: array\n    items:\n      type: string\n    default: [a]\n")
    assert load_project(ok).config["subnets"].type_name() == "array<string>"


def test_an_unknown_type_is_refused(tmp_path):
    message = project_error(write_project(tmp_path, "  size:\n    type: number\n    default: 3\n"))
    assert "'size'" in message and "must be one of string, integer, boolean, array, object" in message


def test_default_and_value_together_are_refused(tmp_path):
    message = project_error(write_project(tmp_path, "  size:\n    default: 3\n    value: 4\n"))
    assert "'size'" in message and "both a 'default' and 'value'" in message


def test_every_problem_is_listed_at_once(tmp_path):
    folder = write_project(tmp_path, "  aws:region:\n    type: string\n  size:\n    type: float\n")
    with pytest.raises(ProjectFileError) as caught:
        load_project(folder)
    assert len(caught.value.problems) == 3
    assert all(p.startswith("Pulumi.yaml: ") for p in caught.value.problems)


def test_a_stack_value_of_the_wrong_type_is_refused(tmp_path):
    folder = write_project(
        tmp_path,
        "  retries:\n    type: integer\n    default: 2\n  on:\n    type: boolean\n    default: false\n"
        "  ids:\n    type: array\n    items:\n      type: integer\n    default: []\n",
        stack="config:\n  demo:retries: two\n  on: yes\n  ids: [1, 2.5]\n",
    )
    message = stack_error(folder)
    assert "Stack 'dev' with configuration key 'retries' must be of type 'integer'" in message
    # yaml.v3 reads `yes` as text (YAML 1.2), so it is not a boolean to the engine.
    assert "Stack 'dev' with configuration key 'on' must be of type 'boolean'" in message
    assert "Stack 'dev' with configuration key 'ids' must be of type 'array<integer>'" in message
    assert "Pulumi.dev.yaml" in message
    # Text that parses as the type is what the engine accepts.
    (folder / "Pulumi.dev.yaml").write_text("config:\n  demo:retries: two\n  on: yes\n  ids: [1, 2.0, '3']\n")
    config = load_stack_config(load_project(folder), folder, "dev", {"retries": "7", "on": "true"})
    assert (config.values["demo:retries"], config.values["demo:on"]) == ("7", "true")
    assert config.values["demo:ids"] == '[1,2,"3"]'


def test_stack_values_reach_the_program_as_the_engine_prints_them(tmp_path):
    folder = write_project(
        tmp_path,
        "  flag:\n    type: boolean\n    default: true\n  tags:\n    type: object\n    default: {}\n",
        stack="config:\n  flag: False\n  tags: {b: 2.0, a: [1, '<x>']}\n  demo:extra: 1e3\n  aws:region: us-east-1\n",
    )
    config = load_stack_config(load_project(folder), folder, "dev")
    assert config.values["demo:flag"] == "false"
    assert config.values["demo:tags"] == '{"a":[1,"\\u003cx\\u003e"],"b":2}'
    assert config.values["demo:extra"] == "1000"
    assert config.undeclared == ("demo:extra",)


def test_a_secure_value_is_a_secret_and_never_appears_in_a_message(tmp_path):
    project_config = (
        "  password:\n    type: string\n    secret: true\n"
        "  count:\n    type: integer\n  plain:\n    type: string\n    secret: true\n    default: x\n"
    )
    folder = write_project(
        tmp_path,
        project_config,
        stack=f"config:\n  password:\n    secure: {CIPHERTEXT}\n  demo:token:\n    secure: {CIPHERTEXT}\n"
        "  count: many\n  broken: [1\n",
    )
    message = stack_error(folder)  # the YAML itself is broken
    assert CIPHERTEXT not in message and "Pulumi.dev.yaml" in message

    (folder / "Pulumi.dev.yaml").write_text(
        f"config:\n  password:\n    secure: {CIPHERTEXT}\n  demo:token:\n    secure: {CIPHERTEXT}\n  count: many\n"
    )
    message = stack_error(folder)
    assert "'count' must be of type 'integer'" in message
    # secret: true with a plain default is refused too, as the engine does.
    assert "'plain' must be encrypted as it's secret" in message
    assert CIPHERTEXT not in message

    (folder / "Pulumi.yaml").write_text(
        "name: demo\nruntime: python\nconfig:\n  password:\n    type: integer\n    secret: true\n"
    )
    config = load_stack_config(load_project(folder), folder, "dev", {"count": "3"})
    assert config.secrets == frozenset({"demo:password", "demo:token"})
    assert config.values["demo:password"] == SECRET_PLACEHOLDER
    assert CIPHERTEXT not in repr(config)


def test_a_plain_value_for_a_secret_key_is_refused(tmp_path):
    folder = write_project(
        tmp_path, "  password:\n    type: string\n    secret: true\n", stack="config:\n  password: hunter2\n"
    )
    message = stack_error(folder)
    assert "'password' must be encrypted as it's secret" in message
    assert "hunter2" not in message


def test_keys_without_a_namespace_get_the_project_name(tmp_path):
    folder = write_project(tmp_path, "  size:\n    default: 1\n", stack="config:\n  size: 2\n  other: x\n")
    config = load_stack_config(load_project(folder), folder, "dev", {"third": "y"})
    assert config.values["demo:size"] == "2"
    assert config.undeclared == ("demo:other", "demo:third")
    assert "size" not in config.values


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("size", "demo:size"),
        ("demo:size", "demo:config:size"),
        ("size", "demo:config:size"),
        ("aws:region", "aws:config:region"),
    ],
)
def test_one_key_set_under_two_spellings_is_refused_naming_both(tmp_path, first, second):
    # loaders.go stackConfigNamespacedWithProject and config/map.go both fill a Go map, so which
    # spelling's value the program gets depends on map order; the message quotes both as written.
    folder = write_project(tmp_path, "  size:\n    default: 1\n", stack=f"config:\n  {first}: 2\n  {second}: 3\n")
    qualified = parse_key("demo", first)
    assert f"'{first}' and '{second}' are both '{qualified}'" in stack_error(folder)


def test_malformed_keys_and_files_are_refused(tmp_path):
    message = project_error(write_project(tmp_path, "  a:b:c:\n    default: 1\n"))
    assert "'a:b:c'" in message and "could not parse" in message
    folder = write_project(tmp_path, "  size:\n    default: 1\n", stack="config:\n  aws:x:y: 1\n")
    assert "'aws:x:y'" in stack_error(folder)
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  size: 1\n  size: 2\n")
    assert "already defined" in stack_error(folder)
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nconfig: {}\n")
    assert "'runtime'" in project_error(tmp_path)
    (tmp_path / "Pulumi.yaml").write_text("runtime: python\n")
    assert "'name'" in project_error(tmp_path)
    (tmp_path / "Pulumi.yaml").write_text("name: demo/x\nruntime: python\n")
    assert "project names may only contain" in project_error(tmp_path)


@pytest.mark.parametrize(
    ("key", "qualified"),
    [("a:", "a:"), (":a", ":a"), (":config:x", ":x"), ("a:config:", "a:"), ("aws:config:region", "aws:region")],
)
def test_keys_take_the_forms_the_engine_parses(key, qualified):
    # config/key.go ParseKey: one colon splits anything, either side may be empty; two colons only
    # in the old `<namespace>:config:<name>` spelling; anything else cannot be parsed.
    assert parse_key("demo", key) == qualified


@pytest.mark.parametrize("key", ["a:b:c", "a::b", "a:config:b:c", "::"])
def test_keys_the_engine_cannot_parse(key):
    assert parse_key("demo", key) is None


def test_a_missing_stack_file_is_a_fresh_stack(tmp_path):
    folder = write_project(tmp_path, "  size:\n    default: 1\n")
    config = load_stack_config(load_project(folder), folder, "prod")
    assert config.values == {"demo:size": "1"}
    with pytest.raises(ProjectFileError, match="stack name"):
        load_stack_config(load_project(folder), folder, "../prod")


# (d) arbitrary input never escapes as anything but ProjectFileError

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["string", "integer", "boolean", "array", "object", "secure", "demo:x", "aws:region", "yes"]),
)
keys = st.one_of(
    st.sampled_from(["type", "items", "default", "value", "secret", "description", "name", "runtime", "config"]),
    st.sampled_from(["demo:a", "a", "aws:region", "a:b:c", "a:config:b", "", "secret", "demo:"]),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
)
type_names = st.sampled_from(["string", "integer", "boolean", "array", "object"])
declarations = st.one_of(
    st.fixed_dictionaries(
        {"type": type_names},
        optional={
            "default": st.one_of(scalars, st.lists(scalars, max_size=3)),
            "items": st.fixed_dictionaries({"type": type_names}),
            "secret": st.booleans(),
            "description": st.text(max_size=10),
        },
    ),
    st.dictionaries(
        st.sampled_from(["type", "items", "default", "value", "secret", "description", "extra"]),
        st.one_of(values, type_names),
        max_size=5,
    ),
)
entries = st.one_of(scalars, st.lists(scalars, max_size=3), declarations)
project_keys = st.sampled_from(["a", "b", "demo:c", "demo:d", "aws:region", "secret"])
good_declarations = st.one_of(
    *(
        st.fixed_dictionaries({"type": st.just(name)}, optional={"default": default, "secret": st.booleans()})
        for name, default in (
            ("string", st.text(max_size=4)),
            ("integer", st.integers(-5, 5)),
            ("boolean", st.booleans()),
        )
    )
)
good_projects = st.fixed_dictionaries(
    {
        "name": st.just("demo"),
        "runtime": st.just("python"),
        "config": st.dictionaries(project_keys.filter(lambda k: k not in ("aws:region", "secret")), good_declarations),
    }
)
projects = st.one_of(
    st.fixed_dictionaries(
        {"name": st.just("demo"), "runtime": st.just("python"), "config": st.dictionaries(project_keys, entries)}
    ),
    st.fixed_dictionaries(
        {
            "name": st.one_of(st.just("demo"), scalars),
            "runtime": st.one_of(st.just("python"), values),
            "config": st.one_of(values, st.dictionaries(keys, entries, max_size=5)),
        }
    ),
    values,
)
stack_values = st.one_of(values, st.fixed_dictionaries({"secure": st.text(max_size=8)}))
stacks = st.one_of(
    st.fixed_dictionaries({"config": st.dictionaries(st.one_of(project_keys, keys), stack_values, max_size=6)}),
    values,
)
texts = st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n\t %@`,?0.1")), max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    project=st.one_of(good_projects, good_projects, projects, texts),
    stack=st.one_of(stacks, texts),
    overrides=st.dictionaries(st.one_of(project_keys, keys), st.text(max_size=5), max_size=3),
)
def test_random_files_raise_nothing_but_project_file_error(project, stack, overrides):
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for name, document in (("Pulumi.yaml", project), ("Pulumi.dev.yaml", stack)):
            text = document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True)
            (folder / name).write_text(text, encoding="utf-8")
        try:
            loaded = load_project(folder)
        except ProjectFileError as error:
            assert error.problems and all(error.problems)
            return
        try:
            config = load_stack_config(loaded, folder, "dev", overrides)
        except ProjectFileError as error:
            assert error.problems and all(error.problems)
            return
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in config.values.items())
        assert config.secrets <= set(config.values)
