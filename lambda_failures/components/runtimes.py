"""Lambda's managed runtimes and the Powertools layer published for them: the one owner of both.

Every runtime name Lambda's API accepts (botocore's `Runtime` enum, checked by
tests/contracts/test_aws_models.py) is listed with the date AWS deprecates it, from the Lambda
Developer Guide ("Lambda runtimes": supported and deprecated runtimes). A runtime past its date
no longer gets security patches and, soon after, functions using it can no longer be created or
updated: the components refuse it before the update rather than half-way through.

Standard library only, like the rest of what the components validate before declaring anything.
"""

from __future__ import annotations

from datetime import date

# runtime -> deprecation date (None: in public preview, no date scheduled). AL2-based runtimes
# (python3.10, python3.11, java8.al2, java11, java17) keep their own dates past AL2's end of life.
RUNTIME_DEPRECATION: dict[str, date | None] = {
    "nodejs24.x": date(2028, 4, 30),
    "nodejs22.x": date(2027, 4, 30),
    "nodejs20.x": date(2026, 4, 30),
    "nodejs18.x": date(2025, 9, 1),
    "nodejs16.x": date(2024, 6, 12),
    "nodejs14.x": date(2023, 12, 4),
    "nodejs12.x": date(2023, 3, 31),
    "nodejs10.x": date(2021, 7, 30),
    "nodejs8.10": date(2020, 3, 6),
    "nodejs6.10": date(2019, 8, 12),
    "nodejs4.3": date(2020, 3, 5),
    "nodejs4.3-edge": date(2019, 4, 30),
    "nodejs": date(2016, 10, 31),
    "nodejs26.x": None,
    "python3.15": None,
    "python3.14": date(2029, 6, 30),
    "python3.13": date(2029, 6, 30),
    "python3.12": date(2028, 10, 31),
    "python3.11": date(2027, 6, 30),
    "python3.10": date(2026, 10, 31),
    "python3.9": date(2025, 12, 15),
    "python3.8": date(2024, 10, 14),
    "python3.7": date(2023, 12, 4),
    "python3.6": date(2022, 7, 18),
    "python2.7": date(2021, 7, 15),
    "java25": date(2029, 6, 30),
    "java21": date(2029, 6, 30),
    "java17": date(2027, 6, 30),
    "java11": date(2027, 6, 30),
    "java8.al2": date(2027, 6, 30),
    "java8": date(2024, 1, 8),
    "java8.al2023": date(2029, 6, 30),
    "java11.al2023": date(2029, 6, 30),
    "java17.al2023": date(2029, 6, 30),
    "dotnet10": date(2028, 11, 14),
    "dotnet8": date(2026, 11, 10),
    "dotnet6": date(2024, 12, 20),
    "dotnetcore3.1": date(2023, 4, 3),
    "dotnetcore2.1": date(2022, 1, 5),
    "dotnetcore2.0": date(2019, 5, 30),
    "dotnetcore1.0": date(2019, 7, 30),
    "ruby4.0": date(2029, 3, 31),
    "ruby3.4": date(2028, 3, 31),
    "ruby3.3": date(2027, 3, 31),
    "ruby3.2": date(2026, 3, 31),
    "ruby2.7": date(2023, 12, 7),
    "ruby2.5": date(2021, 7, 30),
    "go1.x": date(2024, 1, 8),
    "provided.al2023": date(2029, 6, 30),
    "provided.al2": date(2026, 6, 30),
    "provided": date(2024, 1, 8),
}
# In botocore's enum but not a runtime the Lambda Developer Guide documents.
NOT_DOCUMENTED = frozenset({"custom"})
DEFAULT_RUNTIME = "python3.13"

# Powertools for AWS Lambda (Python) v3: the layer is built per Python version and architecture
# and published by a different account per partition (Powertools documentation, "Lambda Layer":
# commercial regions, "AWS China regions" and "AWS GovCloud regions"). In aws-cn it is
# published in cn-north-1 only.
POWERTOOLS_ACCOUNT = "017000801446"
POWERTOOLS_ACCOUNT_BY_REGION = {
    "cn-north-1": "498634801083",
    "us-gov-east-1": "165087284144",
    "us-gov-west-1": "165093116878",
}
POWERTOOLS_PYTHON = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
ARCHITECTURES = ("x86_64", "arm64")


def runtime_problem(runtime: str, today: date | None = None) -> str | None:
    """Why Lambda would not take this runtime for a new function, or None."""
    if runtime in NOT_DOCUMENTED or runtime not in RUNTIME_DEPRECATION:
        return "a Lambda managed runtime (" + ", ".join(supported_runtimes(today)) + ")"
    deprecated = RUNTIME_DEPRECATION[runtime]
    if deprecated is not None and deprecated <= (today or date.today()):
        return f"a runtime Lambda still supports ({runtime} was deprecated on {deprecated.isoformat()})"
    return None


def supported_runtimes(today: date | None = None) -> list[str]:
    day = today or date.today()
    return sorted(
        name
        for name, deprecated in RUNTIME_DEPRECATION.items()
        if name not in NOT_DOCUMENTED and (deprecated is None or deprecated > day)
    )


def is_python(runtime: str | None) -> bool:
    return runtime is not None and runtime.startswith("python")


def powertools_problem(runtime: str | None, partition: str, region: str) -> str | None:
    """Why the Powertools layer cannot be added here, or None."""
    if runtime not in POWERTOOLS_PYTHON:
        return "given only with a Python runtime the layer is published for (" + ", ".join(POWERTOOLS_PYTHON) + ")"
    if partition == "aws-cn" and region not in POWERTOOLS_ACCOUNT_BY_REGION:
        return f"false in {region}: in aws-cn the layer is published in cn-north-1 only"
    return None


def powertools_layer_arn(partition: str, region: str, runtime: str, architecture: str, version: int) -> str:
    """The layer AWS publishes for this runtime and architecture in this region."""
    account = POWERTOOLS_ACCOUNT_BY_REGION.get(region, POWERTOOLS_ACCOUNT)
    return (
        f"arn:{partition}:lambda:{region}:{account}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{runtime.replace('.', '')}-{architecture}:{version}"
    )
