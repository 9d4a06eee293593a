"""What failctl tells an operator when it cannot do the work, and with which exit code.

Exit codes: 0 clean, 1 violations or failed work, 2 bad input, 3 environment (no region, no
credentials, no Pulumi CLI, AWS refusing the caller). Every error is one line on stderr.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    SSOError,
    TokenRetrievalError,
)

from failctl.exit_status import ExitStatus as ExitStatus  # read with the errors that carry it
from lambda_failures.aws_errors import error_code, error_message

# AWS answers that are about the caller (who, with what credentials), not about the input.
REFUSED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "InvalidSignatureException",
    }
)


class FailctlError(Exception):
    """What stops a command, said in one line; `status` is the exit code it means (main maps it)."""

    status = ExitStatus.FAILED


class BadInputError(FailctlError):
    """The arguments, files or sources given cannot be used."""

    status = ExitStatus.BAD_INPUT


class EnvironmentProblemError(FailctlError):
    """The machine or account is not set up for the command."""

    status = ExitStatus.ENVIRONMENT


def from_aws(error: BotoCoreError | ClientError, doing: str) -> FailctlError:
    """The failctl error an AWS SDK error means, with one line saying what was being done."""
    if isinstance(error, NoRegionError):
        return EnvironmentProblemError(f"{doing}: no AWS region; set AWS_REGION (or AWS_DEFAULT_REGION)")
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return EnvironmentProblemError(f"{doing}: no AWS credentials; configure a profile or environment variables")
    if isinstance(error, TokenRetrievalError | SSOError | CredentialRetrievalError):
        return EnvironmentProblemError(f"{doing}: AWS credentials could not be loaded ({error}); sign in again")
    if isinstance(error, EndpointConnectionError):
        return EnvironmentProblemError(f"{doing}: cannot reach AWS ({error})")
    if isinstance(error, ClientError):
        code = error_code(error)
        message = error_message(error) or code
        if code in REFUSED:
            return EnvironmentProblemError(f"{doing}: AWS refused the caller ({code}: {message})")
        return BadInputError(f"{doing}: {code}: {message}")
    return EnvironmentProblemError(f"{doing}: {type(error).__name__}: {error}")


def unreadable(error: OSError) -> EnvironmentProblemError:
    """A file or folder of a local source the machine would not let us read (exit 3)."""
    return EnvironmentProblemError(f"cannot read {error.filename or 'the source'}: {error.strerror or error}")
