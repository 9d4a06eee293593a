"""`failctl replay --execute` as an operator meets it during an incident: a profile that is
not configured, a session that is already expired (or expires mid-run), records of a
function in another account or region, an error nobody foresaw in a worker."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ClientError

from failctl import cli
from failctl.archive import replay, replay_command
from failctl.archive.stores import FolderMarkers
from failctl.emulation.lambda_writer import async_failure_key, async_failure_record

MOMENT = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
HOME_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:orders"


@pytest.fixture(autouse=True)
def no_backoff_waits(monkeypatch):
    monkeypatch.setattr(replay, "backoff_sleep", lambda seconds: None)


def write(root, arn: str, count: int = 2) -> None:
    for i in range(count):
        path = root / async_failure_key("orders", MOMENT, f"{arn.split(':')[4]}-{arn.split(':')[3]}-{i}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(async_failure_record(arn + ":$LATEST", {"value": i}, MOMENT, RuntimeError("x"))))


def states(root) -> list[str]:
    return sorted(json.loads(p.read_text())["state"] for p in (root / ".failctl" / "markers").rglob("*.json"))


def namespace(source) -> argparse.Namespace:
    return argparse.Namespace(
        source=str(source), function=None, first=None, last=None, error_type=None, action=None,
        execute=True, json=True, bucket_owner=None, key=None,
    )  # fmt: skip


class Lambda:
    def __init__(self, region: str = "eu-west-1", error: Exception | None = None) -> None:
        self.meta = argparse.Namespace(region_name=region)
        self.calls: list[str] = []
        self.error = error

    def invoke(self, **request):
        self.calls.append(request["FunctionName"])
        if self.error:
            raise self.error
        return {"StatusCode": 202}


def test_a_record_of_another_account_reinvokes_that_accounts_function_not_a_namesake_here(tmp_path, capsys):
    other = "arn:aws:lambda:eu-west-1:999999999999:function:orders"
    write(tmp_path, other, 1)
    write(tmp_path, HOME_ARN, 1)
    client = Lambda()
    assert replay_command.run(namespace(tmp_path), client) == 0
    # The unqualified ARN the record names: Lambda decides whether this caller may invoke it.
    assert sorted(client.calls) == [HOME_ARN, other]


def test_a_record_of_another_region_is_refused_before_sending_and_left_claimable(tmp_path, capsys):
    write(tmp_path, "arn:aws:lambda:us-east-1:123456789012:function:orders", 2)
    client = Lambda(region="eu-west-1")
    assert replay_command.run(namespace(tmp_path), client) == 1
    outcomes = json.loads(capsys.readouterr().out)["outcomes"]
    assert client.calls == [] and {o["status"] for o in outcomes} == {"failed"}
    assert "AWS_REGION=us-east-1" in outcomes[0]["detail"] and states(tmp_path) == ["failed", "failed"]


def test_an_error_nobody_foresaw_in_a_worker_settles_its_claim_uncertain(tmp_path, capsys):
    write(tmp_path, HOME_ARN, 3)
    client = Lambda(error=KeyError("surprise"))
    assert replay_command.run(namespace(tmp_path), client) == 1
    outcomes = json.loads(capsys.readouterr().out)["outcomes"]
    assert {o["status"] for o in outcomes} == {"uncertain"} and "KeyError" in outcomes[0]["detail"]
    assert states(tmp_path) == ["uncertain"] * 3  # none left `claimed`


def _expired_client(endpoint: str):
    """A real Lambda client whose credentials refresh to an already expired session, as a
    credential_process or an SSO cache hands one out when the session ends mid-run."""
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    def refresh():
        return {"access_key": "AKIA", "secret_key": "s", "token": "t", "expiry_time": past}

    credentials = RefreshableCredentials.create_from_metadata(refresh(), refresh, "custom-process")
    session = boto3.Session(region_name="eu-west-1")
    session._session._credentials = credentials
    return session.client("lambda", endpoint_url=endpoint, config=Config(retries={"total_max_attempts": 1}))


def test_a_session_expiring_mid_run_sends_nothing_more_and_stops_as_an_environment_problem(tmp_path, capsys):
    write(tmp_path, HOME_ARN, 4)
    client = _expired_client("http://127.0.0.1:9")
    with pytest.raises(replay_command.EnvironmentProblemError, match="still expired"):
        replay_command.run(namespace(tmp_path), client)
    outcomes = json.loads(capsys.readouterr().out)["outcomes"]
    assert {o["status"] for o in outcomes} == {"not-sent"}
    assert set(states(tmp_path)) <= {"failed"}  # free for the next run, none `claimed`


def _profile(tmp_path, monkeypatch, body: str) -> None:
    config = tmp_path / "config"
    config.write_text(body)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


def test_a_credential_process_handing_out_an_expired_session_is_one_line_and_exit_3(tmp_path, capsys, monkeypatch):
    script = tmp_path / "expired.sh"
    script.write_text(
        '#!/bin/sh\necho \'{"Version": 1, "AccessKeyId": "AKIA", "SecretAccessKey": "s", '
        '"SessionToken": "t", "Expiration": "2020-01-01T00:00:00Z"}\'\n'
    )
    os.chmod(script, 0o755)
    _profile(tmp_path, monkeypatch, f"[default]\ncredential_process = {script}\nregion = eu-west-1\n")
    records = tmp_path / "archive"
    write(records, HOME_ARN, 1)
    code = cli.main(["replay", "--source", str(records), "--execute"])
    err = capsys.readouterr().err
    assert code == 3 and "still expired" in err and len(err.strip().splitlines()) == 1, err
    assert not (records / ".failctl").exists()


def test_aws_profile_naming_a_missing_profile_is_one_line_and_exit_3(tmp_path, capsys, monkeypatch):
    _profile(tmp_path, monkeypatch, "[default]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_PROFILE", "incident")
    code = cli.main(["replay", "--source", "s3://some-bucket", "--execute"])
    err = capsys.readouterr().err
    assert code == 3 and "incident" in err and len(err.strip().splitlines()) == 1, err


def test_retry_uncertain_says_which_records_it_redrove_that_may_have_run_before(tmp_path, capsys):
    from botocore.exceptions import ClientError

    write(tmp_path, HOME_ARN, 3)
    server_error = ClientError({"Error": {"Code": "ServiceException"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "")
    throttled = ClientError(
        {"Error": {"Code": "TooManyRequestsException"}, "ResponseMetadata": {"HTTPStatusCode": 429}}, "Invoke"
    )
    keys = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    first = namespace(tmp_path)
    first.key = keys[0]
    assert replay_command.run(first, Lambda(error=server_error)) == 1  # uncertain: may have run
    second = namespace(tmp_path)
    second.key = keys[1]
    assert replay_command.run(second, Lambda(error=throttled)) == 1  # failed: proved not run
    capsys.readouterr()
    again = namespace(tmp_path)
    again.retry_uncertain, again.json = True, False
    assert replay_command.run(again, Lambda()) == 0
    out = capsys.readouterr().out
    assert "1 of those re-driven were uncertain and may now have run twice" in out, out
    (line,) = [line for line in out.splitlines() if "may have run before" in line]
    assert keys[0] in line  # the uncertain one, not the one that had failed, nor the new one


def test_a_stop_while_reading_says_nothing_was_claimed_rather_than_listing_records_not_sent(
    tmp_path, capsys, monkeypatch
):
    import signal

    write(tmp_path, HOME_ARN, 5)
    real = replay.select

    def interrupted(*a, **k):
        for index, planned in enumerate(real(*a, **k)):
            if index == 2:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the archive is being listed
            yield planned

    monkeypatch.setattr(replay, "select", interrupted)
    client = Lambda()
    assert replay_command.run(namespace(tmp_path), client) == 130
    out = capsys.readouterr()
    assert json.loads(out.out)["outcomes"] == [] and client.calls == []
    assert "SIGINT while reading" in out.err and "nothing was claimed or sent" in out.err
    assert not (tmp_path / ".failctl").exists()


def test_lambda_throttling_every_record_stops_the_run_instead_of_grinding_through_the_archive(tmp_path, capsys):
    """429 on every attempt: each record costs its full backoff (about 13 s) to learn the same;
    after a few in a row the run claims nothing more and says how to go on."""
    from botocore.exceptions import ClientError

    write(tmp_path, HOME_ARN, 30)
    throttled = ClientError(
        {"Error": {"Code": "TooManyRequestsException"}, "ResponseMetadata": {"HTTPStatusCode": 429}}, "Invoke"
    )
    client = Lambda(error=throttled)
    run = namespace(tmp_path)
    run.concurrency = 1
    with pytest.raises(replay_command.EnvironmentProblemError, match="throttled 8 records in a row"):
        replay_command.run(run, client)
    counted: dict[str, int] = {}
    for outcome in json.loads(capsys.readouterr().out)["outcomes"]:
        counted[outcome["status"]] = counted.get(outcome["status"], 0) + 1
    assert counted == {"failed": 8, "not-sent": 22} and len(client.calls) == 8 * replay.ATTEMPTS
    assert states(tmp_path) == ["failed"] * 8


@pytest.mark.parametrize("key", ["aws/lambda/../../outside/rec.json", "aws/lambda/./x", "aws/lambda//x"])
def test_a_key_that_climbs_out_of_the_archive_is_bad_input_and_reads_nothing(tmp_path, capsys, key):
    archive, outside = tmp_path / "archive", tmp_path / "outside"
    write(archive, HOME_ARN, 1)
    outside.mkdir()
    (outside / "rec.json").write_text(json.dumps(async_failure_record(HOME_ARN, {}, MOMENT, RuntimeError("x"))))
    client = Lambda()
    run = namespace(archive)
    run.key = key
    with pytest.raises(replay_command.ReplayInputError, match=r"no '\.' or '\.\.' parts"):
        replay_command.run(run, client)
    assert client.calls == [] and not (archive / ".failctl").exists()


@pytest.mark.parametrize(
    "error",
    [
        PermissionError(13, "Permission denied", ".failctl/markers"),
        ClientError({"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "PutObject"),
    ],
    ids=["folder", "bucket"],
)
def test_claims_this_caller_may_not_write_stop_the_run_at_the_first_record(tmp_path, capsys, monkeypatch, error):
    write(tmp_path, HOME_ARN, 20)

    def refused(self, *a, **k):
        raise error

    monkeypatch.setattr(FolderMarkers, "claim", refused)
    client = Lambda()
    run = namespace(tmp_path)
    run.concurrency = 1
    with pytest.raises(replay_command.EnvironmentProblemError, match="cannot claim records"):
        replay_command.run(run, client)
    counted: dict[str, int] = {}
    for outcome in json.loads(capsys.readouterr().out)["outcomes"]:
        counted[outcome["status"]] = counted.get(outcome["status"], 0) + 1
    assert counted == {"failed": 1, "not-sent": 19} and client.calls == []


def test_a_symlink_in_a_folder_archive_is_not_read_as_a_record(tmp_path, capsys):
    archive, outside = tmp_path / "archive", tmp_path / "elsewhere.json"
    write(archive, HOME_ARN, 1)
    outside.write_text(json.dumps(async_failure_record(HOME_ARN, {"secret": 1}, MOMENT, RuntimeError("x"))))
    (archive / async_failure_key("orders", MOMENT, "link")).symlink_to(outside)
    client = Lambda()
    assert replay_command.run(namespace(archive), client) == 0
    assert len(client.calls) == 1  # the record, not the file the link points at


def test_a_batch_replay_waits_for_a_consumer_as_long_as_lambda_lets_it_run(monkeypatch):
    """RequestResponse answers when the function returns (up to 900 s); botocore's 60 s read
    timeout made every replay of a slower consumer `uncertain` while it ran on. A claim must
    outlive that wait, or a second run would take a live one for abandoned."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "t")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    client = replay.lambda_client()
    assert client.meta.config.read_timeout >= 900
    assert replay.LEASE_SECONDS > client.meta.config.read_timeout + client.meta.config.connect_timeout
