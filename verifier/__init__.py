"""Verification: the checks and the report, the public verify API and pages."""
