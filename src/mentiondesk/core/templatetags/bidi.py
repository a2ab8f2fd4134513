"""Isolation of network-supplied names inside the desk's own sentences.

A username may hold right-to-left letters or a bidi override (U+202E); interpolated bare, it
reorders the words around it ("In reply to @…'s latest post"). In HTML the templates wrap
such names in `<bdi>`; where tags do not render (the page `<title>`, attribute values) this
filter wraps them in FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE instead."""

from __future__ import annotations

from django import template

register = template.Library()

FSI = "\u2068"
PDI = "\u2069"


@register.filter
def isolate(value: object) -> str:
    """`value` as text between FSI and PDI, so its direction cannot leak out of it."""
    return f"{FSI}{value}{PDI}"
