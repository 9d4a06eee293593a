"""Builds the pack. Constructing a PolicyPack starts the analyzer server, so nothing else lives here."""

from pulumi_policy import PolicyPack

from failure_guards import PACK_NAME, POLICIES, struct_values

struct_values.install()  # NaN and infinite numbers reach the policies instead of crashing the server
PolicyPack(name=PACK_NAME, policies=POLICIES)
