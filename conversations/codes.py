"""Conversation codes: short, readable aloud, easy to type, unguessable in practice."""

from __future__ import annotations

import secrets

# No 0/O and no 1/I: they are mistaken for each other when read or typed.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LENGTH = 6


def code_generate() -> str:
    """A fresh random code: 32**6 (about 10**9) possibilities, from `secrets`."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def looks_like_code(text: str) -> bool:
    """Whether this could be a code at all (upper case): tells typos from guesses."""
    return len(text) == LENGTH and all(char in ALPHABET for char in text)
