"""X-Ray subsegments from Powertools' Tracer, paid for only by a function that traces.

Building a Tracer imports the X-Ray SDK, even a Tracer that then finds itself disabled, and
that import is most of a small handler's cold start (README, "Tracing"). So the Tracer is built
only where Powertools would trace (its own rule: in Lambda, not under SAM or Chalice locally,
and `POWERTOOLS_TRACE_DISABLED` not true); elsewhere the decorators hand back the function
as written and the SDK is never imported. LambdaFunction sets `POWERTOOLS_TRACE_DISABLED`
from the tracing mode of a function running these handlers: they trace only where it is Active
(under PassThrough Lambda traces only a request an upstream service sampled, and these handlers
leave it at Lambda's segment). The SDK itself comes from the Powertools layer, which is built
with Powertools' extras and attached to every function that runs these handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Tracer

Function = TypeVar("Function", bound=Callable[..., Any])

# The handlers reach AWS only through boto3: its calls are the subsegments worth having. They
# are patched once a handler declares a step that calls AWS (`traced`), so a handler that calls
# none does not load botocore for it, and nothing else the SDK could patch is loaded at all.
PATCHED_MODULES = ("botocore",)



def tracing_disabled() -> bool:
    """Powertools' own rule for whether it traces. The rule is a private method of Tracer: a
    Powertools that renamed it gets a Tracer built anyway, which decides the same thing itself at
    the cost of the SDK import, never a handler that fails to import."""
    rule = getattr(Tracer, "_is_tracer_disabled", None)
    return bool(rule()) if callable(rule) else False


tracer: Tracer | None = None if tracing_disabled() else Tracer(auto_patch=False)


def traced_handler(handler: Function) -> Function:
    """The entry point as the `## handler` subsegment, annotated with the cold start. Its
    response is not kept in the trace: the SDK sends each subsegment in one UDP datagram (at
    most 65,507 bytes, and one that fails to send is dropped), the stream consumer's response
    can list 10,000 failed records, and the logs and the archive say what each invocation did."""
    if tracer is None:
        return handler
    return cast(Function, tracer.capture_lambda_handler(handler, capture_response=False))


def traced(method: Function) -> Function:
    """A step that calls AWS as a subsegment of its own, its AWS calls inside it."""
    if tracer is None:
        return method
    tracer.patch(PATCHED_MODULES)
    return tracer.capture_method(method)
