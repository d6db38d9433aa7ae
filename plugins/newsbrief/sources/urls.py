"""Canonical article URLs, so the same article reached through two feeds or links is stored once.

Tracking parameters (utm_*, fbclid, ...) and fragments never change the page a reader gets, so they
are dropped; host case, default ports and an empty path are normalised. `www.` is kept in the stored
URL (a few sites serve nothing without it) but ignored by `match_keys`, which dedup compares.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

TRACKING_PREFIXES = ("utm_", "mc_", "_hs", "pk_", "mtm_", "ga_", "at_")
TRACKING_PARAMS = frozenset({
    "fbclid", "wt_mc", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "twclid", "li_fat_id", "wt.mc_id",
    "_ga", "_gl", "cmpid", "cmp", "ocid", "ncid", "ito", "feedtype", "feedname", "smid", "s_cid",
    "spm", "ref_src", "ref_url", "sr_share", "__twitter_impression", "mkt_tok", "oly_anon_id",
    "oly_enc_id", "vero_id", "rb_clickid", "guccounter", "guce_referrer", "guce_referrer_sig",
})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"


def is_tracking_param(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def canonical_url(url: str, base: str | None = None) -> str | None:
    """The URL a reader would share: absolute http(s), no tracking parameters, no fragment; None if unusable."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if base:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.rstrip(".").lower()
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_SAFE_PATH) or "/"
    path = re.sub(r"/{2,}", "/", path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def match_keys(url: str | None) -> list[str]:
    """The stored-URL spellings that denote the same article: with and without `www.`."""
    if not url:
        return []
    parts = urlsplit(url)
    host = parts.netloc
    other = host[4:] if host.startswith("www.") else f"www.{host}"
    return [url, urlunsplit(parts._replace(netloc=other))]
