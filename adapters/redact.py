"""The one redaction of secrets in database URLs, for everything shown or stored.

A password can sit in a URL two ways: `scheme://user:PASSWORD@host/db` and a query parameter
(`?password=...`, which libpq and psycopg read too; also `sslpassword`). Every message, hint,
history line and backup manifest that names a database goes through `redact_url` (one URL) or
`redact_text` (free text that may quote URLs, such as a driver's error), so neither form is
printed or written anywhere. Pure string work: no URL library, so it also covers URLs too
malformed to parse.
"""

from __future__ import annotations

import re

MASK = "***"

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
#: `user:password@` in a URL's authority (the password may hold anything but '@' and '/').
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):(?P<secret>[^/\s]*)@")
#: `password=...` as a query parameter (any name ending in "password", `pwd`, `passwd`).
_QUERY = re.compile(
    r"(?P<head>[?&;](?:[A-Za-z_]*password|passwd|pwd)=)(?P<secret>[^&#\s'\"]*)", re.IGNORECASE
)


def redact_url(db: object) -> str:
    """`db` (a URL or a file path) with every password replaced by `***`."""
    text = str(db)
    if not _SCHEME.match(text):
        return text
    return redact_text(text)


def redact_text(text: str) -> str:
    """`text` with the password of every URL it quotes replaced by `***`."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    return _QUERY.sub(lambda m: f"{m['head']}{MASK}", text)
