"""failctl replay: selection, dry run, exactly-once execution, throttling and failures reported."""

import argparse
import io
import json
from datetime import date

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ParamValidationError, ReadTimeoutError
from moto import mock_aws
from support.archive import FUNCTION, FUNCTION_ARN, build_archive

from failctl import cli
from failctl.archive import replay, replay_command
from failctl.archive.stores import FolderStore, S3Store


class FakeLambda:
    """Records invocations; can throttle past retries or answer for the stream consumer."""

    def __init__(self, stream_response=None, fail_function=None):
        self.calls = []
        self.stream_response = stream_response or {"batchItemFailures": []}
        self.fail_function = fail_function

    def invoke(self, **request):
        if request["FunctionName"].split(":")[-1] == self.fail_function:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")
        self.calls.append(request)
        if request["InvocationType"] == "RequestResponse":
            return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.stream_response).encode())}
        return {"StatusCode": 202}


@pytest.fixture
def archive(tmp_path):
    build_archive(tmp_path, days=3)
    return tmp_path


@pytest.fixture(autouse=True)
def no_backoff_waits(monkeypatch):
    monkeypatch.setattr(replay, "backoff_sleep", lambda seconds: None)


def markers(archive, state=None):
    found = [json.loads(p.read_text()) for p in (archive / ".failctl" / "markers").rglob("*.json")]
    return [m for m in found if state is None or m["state"] == state]


def args(source, **overrides):
    base = {
        "source": str(source),
        "function": None,
        "first": None,
        "last": None,
        "error_type": None,
        "action": None,
        "execute": False,
        "json": True,
        "bucket_owner": None,
        "key": None,
    }
    return argparse.Namespace(**(base | overrides))


def run(capsys, namespace, client=None):
    code = replay_command.run(namespace, client)
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def test_dry_run_lists_the_selection_and_changes_nothing(archive, capsys):
    before = sorted(p.relative_to(archive).as_posix() for p in archive.rglob("*"))
    code, plan, err = run(capsys, args(archive, first=date(2026, 11, 18), last=date(2026, 11, 18)))
    assert code == 0
    assert len(plan["plan"]) == 12 + 1  # day one's async failures and the stream batch
    assert "skipped aws/lambda/async/" in err  # malformed objects are reported, not fatal
    assert sorted(p.relative_to(archive).as_posix() for p in archive.rglob("*")) == before


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"action": "refund"}, 3),
        ({"error_type": "ForcedError"}, 6),
        ({"error_type": "EventAgeExceeded"}, 1),
        ({"function": "no-such-function"}, 0),
        ({"action": "process", "first": date(2026, 11, 19), "last": date(2026, 11, 19)}, 2),
    ],
)
def test_selection_filters(archive, capsys, filters, expected):
    _, plan, _ = run(capsys, args(archive, **filters))
    assert len(plan["plan"]) == expected


def test_execute_redrives_each_record_once_and_a_second_run_nothing(archive, capsys):
    client = FakeLambda()
    code, first, _ = run(capsys, args(archive, action="refund", execute=True), client)
    assert code == 0 and [o["status"] for o in first["outcomes"]] == ["replayed"] * 3
    assert [json.loads(c["Payload"]) for c in client.calls] == [{"action": "refund", "value": 1}] * 3
    assert all(c["FunctionName"] == FUNCTION_ARN and c["InvocationType"] == "Event" for c in client.calls)
    code, second, _ = run(capsys, args(archive, action="refund", execute=True), client)
    assert [o["status"] for o in second["outcomes"]] == ["skipped"] * 3
    assert len(client.calls) == 3
    assert len(markers(archive, "done")) == 3 == len(markers(archive))


def test_stream_batches_go_back_to_the_consumer_and_rejections_are_reported(archive, capsys):
    client = FakeLambda(stream_response={"batchItemFailures": [{"itemIdentifier": "800000000003126276362"}]})
    code, result, _ = run(
        capsys, args(archive, function=FUNCTION, error_type="RetryAttemptsExhausted", execute=True), client
    )
    assert code == 0  # a partial rejection is reported, not a failure of the replay
    (outcome,) = result["outcomes"]
    assert outcome["status"] == "partial" and "800000000003126276362" in outcome["detail"]
    (call,) = client.calls
    assert call["InvocationType"] == "RequestResponse"
    assert json.loads(call["Payload"])["Records"][0]["dynamodb"]["SequenceNumber"] == "800000000003126276362"


def test_throttling_beyond_retries_is_reported_and_left_for_a_later_run(archive, capsys):
    client = FakeLambda(fail_function=FUNCTION)
    code, result, _ = run(capsys, args(archive, action="validate", execute=True), client)
    assert code == 1
    assert {o["status"] for o in result["outcomes"]} == {"failed"}
    assert "TooManyRequestsException" in result["outcomes"][0]["detail"]
    # Throttling proves Lambda did not run them: claimable again by a later run.
    assert len(markers(archive, "failed")) == len(result["outcomes"]) == len(markers(archive))
    code, later, _ = run(capsys, args(archive, action="validate", execute=True), FakeLambda())
    assert code == 0 and {o["status"] for o in later["outcomes"]} == {"replayed"}


def test_s3_records_are_claimed_with_markers_and_never_deleted(archive, capsys, monkeypatch):
    refund_key = _plan(capsys, archive, "refund")[0]["key"]
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="archive", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        files = [p for p in archive.rglob("*") if p.is_file()]
        for path in files:
            s3.put_object(Bucket="archive", Key=path.relative_to(archive).as_posix(), Body=path.read_bytes())
        s3.put_object_tagging(
            Bucket="archive", Key=refund_key, Tagging={"TagSet": [{"Key": "failure-alerted", "Value": "x"}]}
        )
        monkeypatch.setattr(replay_command, "open_store", lambda source, owner: S3Store(source, s3, owner))
        code, result, _ = run(capsys, args("s3://archive", action="refund", execute=True), FakeLambda())
        assert code == 0 and [o["status"] for o in result["outcomes"]] == ["replayed"] * 3
        tags = {t["Key"] for t in s3.get_object_tagging(Bucket="archive", Key=refund_key)["TagSet"]}
        assert tags == {"failure-alerted"}  # the record is untouched: its claim says it was replayed
        listed = s3.list_objects_v2(Bucket="archive")["Contents"]
        assert len([o for o in listed if not o["Key"].startswith("markers/")]) == len(files)  # nothing deleted
        assert len([o for o in listed if o["Key"].startswith("markers/replays/")]) == 3


@pytest.mark.parametrize(
    ("bucket", "owner", "expected"),
    [
        ("orders-failures-210987654321-eu-west-1-an", None, "210987654321"),
        ("orders-failures-210987654321-eu-west-1-an", "111122223333", "111122223333"),
        ("archive", "111122223333", "111122223333"),
    ],
)
def test_every_s3_call_names_the_account_that_must_own_the_bucket(archive, capsys, bucket, owner, expected):
    """A deleted bucket whose name someone else re-created is refused by S3, not read or re-driven."""
    sent: list[tuple[str, str | None]] = []
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for path in [p for p in archive.rglob("*") if p.is_file()]:
            s3.put_object(Bucket=bucket, Key=path.relative_to(archive).as_posix(), Body=path.read_bytes())
        s3.meta.events.register(
            "before-send.s3",
            lambda request, **_: sent.append((request.method, request.headers.get("x-amz-expected-bucket-owner"))),
        )
        store = S3Store(f"s3://{bucket}", s3, owner)
        plan = list(replay.select(store, replay.Selection(action="refund"), replay.ReplayReport()))
        replay.execute(store, FakeLambda(), plan, replay.ReplayReport(), progress=False)
    assert len(plan) == 3 and {m for m, _ in sent} == {"GET", "PUT"}
    assert {header for _, header in sent} == {expected.encode()}


def test_a_bucket_owner_that_is_not_an_account_is_bad_input():
    with pytest.raises(ValueError, match="not a 12-digit account id"):
        S3Store("s3://archive", object(), "me")


def _plan(capsys, archive, action):
    _, plan, _ = run(capsys, args(archive, action=action))
    return plan["plan"]


def test_cli_text_dry_run(archive, capsys):
    code = cli.main(["replay", "--source", str(archive), "--action", "refund"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Dry run: 3 records selected, 3 would be re-driven")
    assert f"would re-invoke {FUNCTION} (Event)" in out


def test_cli_bad_source_exits_2(capsys):
    assert cli.main(["replay", "--source", "/nonexistent"]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_folder_claims_cannot_be_won_twice_and_failed_ones_can_be_taken_over(tmp_path):
    from lambda_failures.claims import Claim, ClaimState

    replays = FolderStore(tmp_path).replays
    assert replays.state("a/b") is None
    first = replays.claim("a/b")
    assert isinstance(first, Claim) and replays.claim("a/b") is ClaimState.UNCERTAIN
    replays.settle(first, ClaimState.FAILED)
    again = replays.claim("a/b")
    assert isinstance(again, Claim) and replays.state("a/b") is ClaimState.UNCERTAIN
    replays.settle(again, ClaimState.DONE)
    assert replays.claim("a/b") is ClaimState.DONE
    with pytest.raises(RuntimeError):
        replays.settle(first, ClaimState.DONE)  # a stale holder can never overwrite


def test_execute_without_a_region_is_an_environment_problem(archive, capsys, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    code = cli.main(["replay", "--source", str(archive), "--action", "refund", "--execute"])
    err = capsys.readouterr().err
    assert code == 3 and "no AWS region" in err and len(err.strip().splitlines()) == 1
    assert markers(archive) == []  # nothing was claimed before the environment was found wanting


def test_one_record_by_its_key_as_an_alert_names_it(archive, capsys):
    key = _plan(capsys, archive, "refund")[0]["key"]
    client = FakeLambda()
    code, result, _ = run(capsys, args(archive, key=key, execute=True), client)
    assert code == 0 and [o["key"] for o in result["outcomes"]] == [key] and len(client.calls) == 1
    assert cli.main(["replay", "--source", str(archive), "--key", "../../etc/passwd"]) == 2


def test_concurrency_and_rate_keep_each_record_once(archive, capsys):
    client = FakeLambda()
    namespace = args(archive, action="refund", execute=True, concurrency=16, rate=200.0)
    code, result, _ = run(capsys, namespace, client)
    assert code == 0 and [o["status"] for o in result["outcomes"]] == ["replayed"] * 3 and len(client.calls) == 3


@pytest.mark.parametrize("flags", [["--concurrency", "0"], ["--concurrency", "65"], ["--rate", "-1"], ["--rate", "x"]])
def test_bad_concurrency_or_rate_is_one_line_and_exit_2(archive, capsys, flags):
    with pytest.raises(SystemExit) as exited:
        cli.main(["replay", "--source", str(archive), *flags])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("rate", ["1e-300", "1e-9", "0.001", "1e6", "inf", "nan"])
def test_a_rate_that_would_overflow_or_wait_forever_is_one_line_and_exit_2(archive, capsys, rate):
    with pytest.raises(SystemExit) as exited:
        cli.main(["replay", "--source", str(archive), "--execute", "--rate", rate])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "--rate" in err and len(err.strip().splitlines()) == 1
    assert markers(archive) == []


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_lambda_out_of_reach_sends_nothing_settles_failed_and_exits_3(archive, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    code = cli.main(["replay", "--source", str(archive), "--action", "refund", "--execute", "--json"])
    out = capsys.readouterr()
    errors = [line for line in out.err.splitlines() if not line.startswith("skipped ")]  # unreadable records
    assert code == 3 and len(errors) == 1 and "Traceback" not in out.err, out.err
    assert "cannot reach Lambda" in errors[0] and "throttled" not in out.err + out.out
    assert {o["status"] for o in json.loads(out.out)["outcomes"]} == {"not-sent"}
    # Nothing was sent: every claim taken is settled failed, free for the next run.
    assert {m["state"] for m in markers(archive)} <= {"failed"}
    code, later, _ = run(capsys, args(archive, action="refund", execute=True), FakeLambda())
    assert code == 0 and {o["status"] for o in later["outcomes"]} == {"replayed"}


def test_an_expired_sso_session_is_found_before_anything_is_claimed(archive, capsys, monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text(
        "[default]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
        "sso_account_id = 123456789012\nsso_role_name = reader\nregion = eu-west-1\n"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))
    code = cli.main(["replay", "--source", str(archive), "--action", "refund", "--execute"])
    err = capsys.readouterr().err
    assert code == 3 and "credentials could not be loaded" in err and len(err.strip().splitlines()) == 1
    assert markers(archive) == []


class ErringLambda:
    def __init__(self, error):
        self.error = error
        self.calls = 0

    def invoke(self, **request):
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "state"),
    [
        (
            ClientError({"Error": {"Code": "ServiceException"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "Invoke"),
            "uncertain",
            "uncertain",
        ),
        (ReadTimeoutError(endpoint_url="http://lambda"), "uncertain", "uncertain"),
        (ConnectionClosedError(endpoint_url="http://lambda"), "uncertain", "uncertain"),
        (ParamValidationError(report="FunctionName too long"), "failed", "failed"),
        (
            ClientError(
                {"Error": {"Code": "ResourceNotFoundException"}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "Invoke"
            ),
            "failed",
            "failed",
        ),
    ],
)
def test_only_an_error_after_the_request_may_have_been_accepted_is_uncertain(archive, capsys, error, status, state):
    client = ErringLambda(error)
    code, result, _ = run(capsys, args(archive, action="refund", execute=True), client)
    assert code == 1 and {o["status"] for o in result["outcomes"]} == {status}
    assert {m["state"] for m in markers(archive)} == {state}
    assert client.calls == len(result["outcomes"])  # none retried: retrying is how a record runs twice


def test_credentials_a_process_cannot_give_are_found_before_anything_is_claimed(archive, capsys, monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text("[default]\ncredential_process = /bin/false\nregion = eu-west-1\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    code = cli.main(["replay", "--source", str(archive), "--action", "refund", "--execute"])
    err = capsys.readouterr().err
    assert code == 3 and "credentials could not be loaded" in err and len(err.strip().splitlines()) == 1, err
    assert markers(archive) == []


def test_a_function_selection_reads_only_that_functions_records(archive, capsys, monkeypatch):
    (archive / "aws/lambda/async/other-fn/2026/11/18").mkdir(parents=True)
    (archive / "aws/lambda/async/other-fn/2026/11/18/x").write_text("{}")
    read = []
    original = FolderStore.read
    monkeypatch.setattr(FolderStore, "read", lambda self, key: read.append(key) or original(self, key))
    _, plan, _ = run(capsys, args(archive, function=FUNCTION))
    assert plan["plan"] and all(p["function"] == FUNCTION for p in plan["plan"])
    async_read = [k for k in read if k.startswith("aws/lambda/async/")]
    assert async_read and all(k.startswith(f"aws/lambda/async/{FUNCTION}/") for k in async_read)


@pytest.mark.parametrize("function", ["../other", "a/b", "", "x" * 65])
def test_a_function_that_is_not_a_lambda_name_is_bad_input(archive, function):
    with pytest.raises(replay_command.ReplayInputError, match="not a Lambda function name"):
        replay_command.run(args(archive, function=function))
