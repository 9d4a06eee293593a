"""Builds the pack. Constructing a PolicyPack starts the analyzer server, so nothing else lives here."""

from failure_guards import PACK_NAME, POLICIES
from pulumi_policy import PolicyPack

PolicyPack(name=PACK_NAME, policies=POLICIES)
