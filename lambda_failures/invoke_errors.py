"""What an error from Lambda's Invoke call proves about the request: whether it can have run.

One reading for `failctl replay` and the failure processor's automatic replay, since a
claim is settled on it: `failed` (free to claim again) only when the error proves nothing
ran, `uncertain` whenever the request may have been accepted.

botocore tells the moments apart by exception class: credentials, region and parameters
are resolved and checked before a request is built; `EndpointConnectionError`,
`ConnectTimeoutError` and `ProxyConnectionError` are raised while connecting, before a
byte of the request is written. `ReadTimeoutError` and `ConnectionClosedError` come after
the request was (at least partly) written, and a 5xx answer may follow an accepted one.
"""

from __future__ import annotations

from enum import StrEnum

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoAuthTokenError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProxyConnectionError,
    SSOError,
    TokenRetrievalError,
    UnknownCredentialError,
    ValidationError,
)

from lambda_failures.aws_errors import error_code, error_message, http_status

# Lambda's answers that prove the invocation was not run and a later attempt may succeed.
THROTTLED = ("TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded")
# AWS answers about the caller's credentials: nothing ran, and no record will fare better.
CALLER_REFUSED = (
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
)
# Raised before a request exists: this machine cannot invoke anything.
NO_CALLER = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    UnknownCredentialError,
    TokenRetrievalError,
    NoAuthTokenError,
    SSOError,
    NoRegionError,
)
# Raised while connecting: not one byte of the request was written.
UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError)


class Verdict(StrEnum):
    """What an invoke error proves."""

    ENVIRONMENT = "environment"  # not sent; this machine cannot invoke at all (stop the run)
    UNREACHABLE = "unreachable"  # not sent; Lambda's endpoint did not take a connection (retry, then stop)
    INVALID = "invalid"  # not sent; this request was refused before it was built
    THROTTLED = "throttled"  # answered: not run, try again later
    REFUSED = "refused"  # answered: not run (not found, not allowed, bad payload)
    UNCERTAIN = "uncertain"  # the request may have been accepted and run


def classify(error: Exception) -> Verdict:
    """The verdict on one failed Invoke; anything not proved unsent is UNCERTAIN."""
    if isinstance(error, ClientError):
        status = http_status(error)
        code = error_code(error)
        if code in THROTTLED:
            return Verdict.THROTTLED
        if code in CALLER_REFUSED:
            return Verdict.ENVIRONMENT
        if status >= 500 or not status:
            return Verdict.UNCERTAIN
        return Verdict.REFUSED
    if isinstance(error, NO_CALLER):
        return Verdict.ENVIRONMENT
    if isinstance(error, UNREACHABLE):
        return Verdict.UNREACHABLE
    if isinstance(error, ParamValidationError | ValidationError):
        return Verdict.INVALID
    if isinstance(error, RuntimeError) and raised_by_credentials(error):
        return Verdict.ENVIRONMENT
    return Verdict.UNCERTAIN


def raised_by_credentials(error: BaseException) -> bool:
    """botocore raises a bare RuntimeError when refreshed credentials are still expired (a
    credential_process or SSO cache handing out an expired session): raised while signing,
    before the request exists."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame is not None and frame.tb_frame.f_globals.get("__name__") == "botocore.credentials"


def not_sent(verdict: Verdict) -> bool:
    """Whether the verdict proves Lambda did not run the request (the claim may settle `failed`)."""
    return verdict is not Verdict.UNCERTAIN


def describe(error: Exception) -> str:
    """One line naming the error, as an operator reads it in a summary or a log."""
    if isinstance(error, ClientError):
        status, message = http_status(error), error_message(error)
        return f"{status or '?'} {error_code(error)}{': ' + message if message else ''}"
    return f"{type(error).__name__}: {error}"
