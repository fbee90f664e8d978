"""Gunicorn's access log without secrets or numbers (deploy/gunicorn.conf.py uses it).

Flowroute's webhook token travels in the callback path and callers' numbers in the
voice webhooks' query strings; every atom that shows the path or the query is redacted.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from providers.log import redact_query, redact_target

# The atoms that carry the request target (or a URL) in some form.
_TARGETS = ("U", "f", "{raw_uri}e", "{path_info}e", "{request_uri}e", "{http_referer}e")
_QUERIES = ("q", "{query_string}e")


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in _TARGETS:
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_target(atoms[key])
        for key in _QUERIES:
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_query(atoms[key])
        atoms["r"] = " ".join(
            [
                environ.get("REQUEST_METHOD", "-"),
                redact_target(environ.get("RAW_URI", "")),
                environ.get("SERVER_PROTOCOL", "-"),
            ]
        )
        return atoms
