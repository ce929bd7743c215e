"""Who is calling: the identity every service call is made on behalf of."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    user_id: int
    user: str
    role: str
    key_id: int  # the API key used; 0 for a password session or the operator

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


# The person at the server's console (the CLI): an admin who is no user of the database.
OPERATOR = Principal(0, "operator", "admin", 0)
