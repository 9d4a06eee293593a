"""What AWS answered, read off botocore's `ClientError`: the code, the message and the HTTP
status, read one way by the handlers and by failctl.

botocore fills `error.response` from the service's answer; a field the answer lacked is
missing from it (not None), so each reader gives "" or 0 instead. Standard library and
botocore only: every handler that reads an AWS error is packaged with this module.
"""

from __future__ import annotations

from botocore.exceptions import ClientError


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def http_status(error: ClientError) -> int:
    """The answer's HTTP status; 0 when botocore recorded none."""
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
