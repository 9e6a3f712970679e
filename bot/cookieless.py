"""An httpx client that keeps no cookies: the Pika client's and the safe fetcher's.

Neither needs one. Pika's API authenticates by key, and a result or a member's file is fetched
by address, so a cookie one site set would be sent to every other name on that address (a
shared CDN's, say). httpx has no switch for it: its jar reads every answer's headers for
cookies through urllib's cookie jar, a twelfth of a poll's CPU with thousands of jobs followed.
"""

from __future__ import annotations

import httpx


class KeepNoCookies(httpx.Cookies):
    """A cookie jar that keeps none, and never searches an answer for one."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Keep nothing from `response`."""


class CookielessClient(httpx.AsyncClient):
    """An httpx client whose cookie jar keeps nothing (`KeepNoCookies`): no request carries a
    cookie, and no answer is searched for one."""

    _no_cookies = KeepNoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        """Always empty."""
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        """Cookies given to the client are not kept either."""
