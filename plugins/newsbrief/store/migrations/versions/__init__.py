"""Revision files, one per schema change; see docs/architecture.md for how to add one."""
