"""Shared test support: servers on loopback that stand in for AWS."""
