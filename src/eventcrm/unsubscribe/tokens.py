"""Signed unsubscribe tokens.

A token names a user and is signed with the server's secret key (HMAC via
itsdangerous), so it cannot be forged or altered; it never expires, because an
unsubscribe link in an old email must still work (RFC 8058 §3.1 expects the
link to keep working). Tokens are stable per user: every message to one person
carries the same link.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer


class UnsubscribeLinks:
    def __init__(self, *, secret_key: str, base_url: str) -> None:
        """``base_url``: the unsubscribe endpoint up to the token (the composition
        root builds it from the public URL and the API prefix)."""
        self._serializer = URLSafeSerializer(secret_key, salt="eventcrm.unsubscribe.v1")
        self._base = base_url if base_url.endswith("/") else base_url + "/"

    def token(self, user_id: str) -> str:
        return str(self._serializer.dumps(user_id))

    def url(self, user_id: str) -> str:
        return self._base + self.token(user_id)

    def user_id(self, token: str) -> str | None:
        """The user a token was made for, or None when it is not one of ours."""
        if len(token) > 512:
            return None
        try:
            value = self._serializer.loads(token)
        except (BadSignature, ValueError, UnicodeDecodeError):
            return None
        return value if isinstance(value, str) else None
