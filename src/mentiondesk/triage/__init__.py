"""Triage: what each inbound post is about (intent), how it sounds (sentiment) and which
product it concerns (hosted or self-managed), from models shipped with the project."""
