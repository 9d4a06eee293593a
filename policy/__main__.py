"""Builds the pack. Constructing a PolicyPack starts the analyzer server, so nothing else lives here."""

from pulumi_policy import PolicyPack

from failure_guards import PACK_NAME, POLICIES

PolicyPack(name=PACK_NAME, policies=POLICIES)
