"""The offline preview: the program run as a fresh stack's preview sees it (under the engine's
rules for project and stack files), and the policy pack's verdict on it, got over gRPC."""
