"""Sign-in throttling: each password check costs a 64 MiB Argon2 hash, and passwords can be
guessed, so failed sign-ins are counted per account and per client address, in the
database (every API process sees the same counts; store/counters.py).

- Per account (the name typed, whether or not such a user exists, so that the answer says
  nothing about which names exist): after ``signin_free_failures`` failures in a row, each
  further attempt must wait 1 s, then 2 s, 4 s… at most ``signin_max_wait``. A success
  clears the count; so does ``signin_address_window`` after its first failure. An
  attacker can make a person wait at most that long: the right password after the wait
  gets in.
- Per client address: at most ``signin_address_failures`` failures per
  ``signin_address_window``; then that address is refused until the window ends. This is
  what stops one machine from trying many accounts.

A refused attempt is answered before any hashing, with ``Retry-After``.
"""

from __future__ import annotations

import math
import time

from greffier.errors import SignInThrottled
from greffier.settings import Settings
from greffier.store.interfaces import CounterStore


class SignInThrottle:
    def __init__(self, store: CounterStore, settings: Settings, clock=time.time):
        self.store = store
        self.free = settings.signin_free_failures
        self.max_wait = settings.signin_max_wait
        self.per_address = settings.signin_address_failures
        self.window = settings.signin_address_window
        self.clock = clock

    @staticmethod
    def account(name: str) -> str:
        return "account:" + name.strip().casefold()

    @staticmethod
    def address(address: str) -> str:
        return "address:" + address

    def check(self, name: str, address: str) -> None:
        """Refuse now (SignInThrottled) if the account or the address must wait."""
        now = self.clock()
        if address:
            found = self.store.failures(self.address(address))
            if found and found.failures >= self.per_address and now - found.first_at < self.window:
                wait = found.first_at + self.window - now
                raise SignInThrottled(
                    f"Too many failed sign-ins from your address: try again in {_seconds(wait)}.",
                    retry_after=math.ceil(wait),
                )
        found = self.store.failures(self.account(name))
        if found and found.blocked_until > now:
            wait = found.blocked_until - now
            raise SignInThrottled(
                f"Too many failed sign-ins for this account: try again in {_seconds(wait)}.",
                retry_after=math.ceil(wait),
            )

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        if address:
            self.store.add_failure(self.address(address), now, self.window)
        count = self.store.add_failure(self.account(name), now, self.window)
        beyond = count.failures - self.free
        if beyond >= 0:
            self.store.block(self.account(name), now + min(2.0**beyond, self.max_wait))

    def succeeded(self, name: str) -> None:
        self.store.clear(self.account(name))

    def forget(self, name: str) -> None:
        """Erasure: the count kept under the person's name goes with them."""
        self.store.clear(self.account(name))


def _seconds(wait: float) -> str:
    n = max(1, math.ceil(wait))
    return f"{n} second{'s' if n > 1 else ''}"
