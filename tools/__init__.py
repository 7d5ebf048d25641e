"""Offline plan, schema generation and other tools around the program (never imported by components/)."""
