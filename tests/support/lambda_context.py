"""The one Lambda context the handler tests pass: what Powertools reads from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LambdaContext:
    function_name: str = "lambda-failures-test-function"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "5c1e9a1e-0000-4000-8000-000000000000"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
