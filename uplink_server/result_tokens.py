"""Signed result ids: each answer the page gets carries what the model saw and said, signed by the server.

Feedback may reach another server process than the one that classified (Anvil spreads calls over every
connected uplink), and nothing is stored for results nobody comments on, so the result id carries the
result itself: the 28x28 image, the model, its checksum, its digit and probabilities, an expiry and a
nonce, compressed and signed with HMAC-SHA256. Every process of a deployment derives the same key
(from DIGITS_FEEDBACK_KEY, else from the Uplink key), so any of them can check a token another issued,
and nobody can store arbitrary data through one.
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import zlib
from dataclasses import dataclass

import numpy as np

from digits.preprocessing import IMAGE_SIZE, InputError

TOKEN_LIFETIME_S = 24 * 3600
MAX_TOKEN_CHARS = 4096  # a real token is about 1,000
_MAX_PAYLOAD_BYTES = 8192  # decompressed; a real one is about 2,000
_KEY_PURPOSE = b"digits result tokens v1"


class TokenError(InputError):
    """The result id is not one this deployment issued, or is too old; the message says so."""


NOT_OURS = "This result cannot take feedback: it was not issued by this classifier. Please classify the file again."


@dataclass(frozen=True)
class SignedResult:
    """What a valid token says about the result it was issued for."""

    key: str  # unique per token: the feedback store keeps one row per result
    model: str
    model_sha256: str
    digit: int | None  # the model's answer; None when it gave none
    probabilities: tuple[float, ...] | None
    pixels: np.ndarray  # uint8 (28, 28)
    expires_at: float


class ResultSigner:
    def __init__(self, secret: str, lifetime_s: float = TOKEN_LIFETIME_S):
        if not secret:
            raise ValueError("a result signer needs a secret")
        self._key = hmac.new(secret.encode(), _KEY_PURPOSE, hashlib.sha256).digest()
        self.lifetime_s = lifetime_s

    def sign(self, model: str, model_sha256: str, digit: int | None, probabilities, pixels: np.ndarray,
             now: float | None = None) -> str:
        payload = {"m": model, "s": model_sha256, "d": digit,
                   "p": None if probabilities is None else [round(float(p), 6) for p in probabilities],
                   "x": base64.b64encode(np.ascontiguousarray(pixels, np.uint8).tobytes()).decode(),
                   "e": round((time.time() if now is None else now) + self.lifetime_s),
                   "n": secrets.token_hex(8)}
        body = _b64(zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 9))
        return f"{body}.{_b64(self._mac(body))}"

    def verify(self, token, now: float | None = None) -> SignedResult:
        """The result a token was issued for; TokenError if it is forged, altered, expired or malformed."""
        if not isinstance(token, str):
            raise TokenError(NOT_OURS)
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenError("This result id is far longer than any this classifier issues; "
                             "please classify the file again.")
        body, _, signature = token.partition(".")
        try:
            signature_ok = hmac.compare_digest(_unb64(signature), self._mac(body))
        except (ValueError, binascii.Error):
            signature_ok = False
        if not signature_ok:
            raise TokenError(NOT_OURS)
        payload = _decoded(body)  # signed by us, so well formed, but bounded all the same
        if payload["e"] < (time.time() if now is None else now):
            hours = round(self.lifetime_s / 3600)
            raise TokenError(f"This result is too old for feedback (results take it for {hours} hours); "
                             "please classify the file again.")
        pixels = np.frombuffer(base64.b64decode(payload["x"]), np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE)
        probabilities = None if payload["p"] is None else tuple(payload["p"])
        return SignedResult(key=hashlib.sha256(token.encode()).hexdigest(), model=payload["m"],
                            model_sha256=payload["s"], digit=payload["d"], probabilities=probabilities,
                            pixels=pixels, expires_at=payload["e"])

    def secret_for(self, purpose: str) -> bytes:
        """A key for another purpose, derived from the same secret (every server of a deployment agrees)."""
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).digest()

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode("ascii", "replace"), hashlib.sha256).digest()


def _decoded(body: str) -> dict:
    inflate = zlib.decompressobj()
    data = inflate.decompress(_unb64(body), _MAX_PAYLOAD_BYTES)
    if inflate.unconsumed_tail:
        raise TokenError(NOT_OURS)
    return json.loads(data)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
