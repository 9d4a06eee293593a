"""The Lambda context the handler tests pass: the emulator's, for a function in the tests' account."""

from __future__ import annotations

from failctl.emulation.emulator import FakeContext


class LambdaContext(FakeContext):
    def __init__(self, function_name: str = "lambda-failures-test-function") -> None:
        super().__init__(function_name, f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}")
