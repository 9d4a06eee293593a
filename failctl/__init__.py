"""Operator tooling for the lambda-failures stack: offline preview and policy gate."""
