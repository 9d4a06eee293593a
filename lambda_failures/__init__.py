"""Failed AWS Lambda events, captured and guarded as code.

Imports nothing on purpose: Lambda functions ship this package with only the modules their
handler needs (see components/lambda_function.py), and the tooling imports parts of it
without Pulumi.
"""
