"""What the service texts back. No reply ever names the other party's number."""

from __future__ import annotations

USAGE = (
    "To talk without sharing your number: text START here to get a code, then ask the "
    "other person to text JOIN and that code to this number. Once connected, your "
    "texts go to each other through this number. Text END to stop, HELP for this text."
)
CONNECTED_HELP = (
    "You are connected: your texts to this number go to the other person, who does not "
    "see your number. Text END to stop."
)
CALL_NOT_CONNECTED = (
    "Sorry, calls to this number only work between two people in an active conversation."
)


def started(*, code: str, number: str) -> str:
    return (
        f"Your code is {code}. Ask the other person to text JOIN {code} to {number}. "
        "Text END to stop."
    )


def waiting(*, code: str, number: str) -> str:
    return (
        f"Still waiting for the other person. Ask them to text JOIN {code} to {number}. "
        "Text END to cancel."
    )


def already_waiting(*, code: str, number: str) -> str:
    return (
        f"You already have a code on this number: {code}. Ask the other person to text "
        f"JOIN {code} to {number}, or text END to cancel it."
    )


ALREADY_CONNECTED = "You are already in a conversation on this number. Text END to stop it first."


def elsewhere(*, number: str) -> str:
    return f" To start another conversation, text START to {number}."


def joined_joiner() -> str:
    return (
        "You are connected. Your texts to this number now go to the other person, "
        "and theirs to you. Text END to stop."
    )


def joined_starter(*, code: str) -> str:
    return (
        f"Someone joined with your code {code}. You are connected: your texts to this "
        "number now go to the other person, and theirs to you. Text END to stop."
    )


def join_unknown(*, code: str) -> str:
    return (
        f"No conversation is waiting for code {code} on this number. Check the code and "
        "the number, and try again."
    )


def join_expired(*, code: str) -> str:
    return f"Code {code} has expired. Ask the other person to text START for a new code."


def join_taken(*, code: str) -> str:
    return f"Code {code} has already been used. Ask the other person for a new code."


def join_own(*, code: str) -> str:
    return f"{code} is your own code. Ask the other person to text JOIN {code} to this number."


NOT_A_CODE = (
    "That is not a code: codes have 6 characters, letters and digits 2 to 9, like K7Q2XM "
    "(there is no 0, O, 1 or I in them)."
)
JOIN_BUSY = (
    "You are already in a conversation on this number. Text END to stop it before joining another."
)
ENDED_BY_YOU = "Conversation ended. Text START to begin a new one."
ENDED_OPTED_OUT = "Conversation ended."
ENDED_BY_OTHER = "The other person ended the conversation. Text START to begin a new one."
ENDED_BY_STAFF = "This conversation was ended by the service. Text START to begin a new one."
NOT_IN_CONVERSATION = "You are not in a conversation on this number. " + USAGE


def cancelled(*, code: str) -> str:
    return f"Code {code} is cancelled. Text START for a new one."


def end_wrong_code(*, code: str) -> str:
    return f"{code} is not the code of your conversation, so nothing was ended."


def code_lapsed(*, code: str) -> str:
    return f"Your code {code} expired before anyone joined. "


def idle_ended(*, days: float) -> str:
    return f"Your conversation ended after {days:g} days without messages. "
