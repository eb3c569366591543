"""Feedback on the page's results: a result id for each answer, and saving what a person says of it.

The callables in uplink_server.functions are thin doors onto `FeedbackDesk`; the store itself is
digits.feedback_store.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import models
from digits.engine import ENSEMBLE
from digits.feedback_store import Feedback, FeedbackStore, StoreError
from digits.preprocessing import InputError
from uplink_server.result_tokens import ResultSigner

NOT_SAVED = "Your answer could not be saved just now; please try again."
SUMMARY_UNAVAILABLE = "What people corrected cannot be loaded just now; please try again later."
ANSWERS_PER_CALLER_PER_DAY = 100  # a person checking a folder of digits, twice over
MAX_ROWS = 1_000_000  # about 1 GB of store: past it, nothing more is saved until someone makes room
ENOUGH_TODAY = ("Thank you: you have sent as many answers as we take from one visitor in a day; "
                "please come back tomorrow.")
STORE_FULL = "Thank you: the answers store is full just now, so yours was not saved."


class FeedbackNotSaved(Exception):
    """The store is down or full; the page should say "please try again". The cause is in `__cause__`."""


@dataclass(frozen=True)
class Recorded:
    model: str
    predicted: int | None
    digit: int

    @property
    def confirmed(self) -> bool:
        return self.predicted == self.digit

    def to_dict(self) -> dict:
        return {"saved": True, "model": self.model, "predicted": self.predicted, "digit": self.digit,
                "confirmed": self.confirmed}


class FeedbackDesk:
    def __init__(self, signer: ResultSigner, store: FeedbackStore, checksums: dict[str, str]):
        self.signer = signer
        self.store = store
        self.checksums = checksums

    def result_id(self, result) -> str:
        """The signed id of a Classification (its digit may be None: the model saw no digit)."""
        return self.signer.sign(result.model, self.checksums.get(result.model, ""), result.digit,
                                result.probabilities, result.pixels)

    def record(self, result_id, digit, caller: str | None = None) -> Recorded:
        """Save a person's answer; `caller` is what the Uplink told of them (uplink_server.limits),
        kept only as a keyed hash, to cap the answers one visitor saves in a day (None: nothing was
        told, a call from this machine: no cap)."""
        digit = checked_digit(digit)
        result = self.signer.verify(result_id)
        who = None if caller is None else self.caller_hash(caller)
        try:
            if who and self.store.count(who, datetime.now(timezone.utc) - timedelta(days=1)) >= ANSWERS_PER_CALLER_PER_DAY:
                raise InputError(ENOUGH_TODAY)
            if self.store.count() >= MAX_ROWS:
                raise InputError(STORE_FULL)
            self.store.add(Feedback(result_key=result.key, model=result.model, model_sha256=result.model_sha256,
                                    predicted=result.digit, probabilities=result.probabilities, digit=digit,
                                    pixels=result.pixels, caller=who))
        except StoreError as error:
            raise FeedbackNotSaved(NOT_SAVED) from error
        return Recorded(result.model, result.digit, digit)

    def caller_hash(self, caller: str) -> str:
        """The caller as the store keeps it: a keyed hash (the key is the signer's secret)."""
        key = self.signer.secret_for("feedback caller")
        return hmac.new(key, caller.encode(), hashlib.sha256).hexdigest()[:32]

    def summary(self, model: str) -> dict:
        """What the public page shows: each visitor counted once, however many answers they gave."""
        try:
            return {"model": model, **self.store.summary(model, by_caller=True).to_dict()}
        except StoreError as error:
            raise FeedbackNotSaved(SUMMARY_UNAVAILABLE) from error


def checked_digit(digit) -> int:
    if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
        raise InputError("Please say which digit it really is: a whole number from 0 to 9.")
    return digit


def model_checksums(models_dir: Path, model_ids: tuple[str, ...]) -> dict[str, str]:
    """The SHA-256 of each served model's file; the ensemble's covers its members and their weights."""
    def checksum(model_id: str) -> str:
        return hashlib.sha256(models.model_path(model_id, models_dir).read_bytes()).hexdigest()

    checksums = {m: checksum(m) for m in model_ids}
    if all(m in checksums for m in models.MODEL_IDS):
        shares = models.ensemble_weights(models_dir)  # its members: cnn, vit and any extra (models.EXTRA_MEMBERS)
        weights = json.dumps(shares, sort_keys=True)
        members = ";".join(f"{m}:{checksums.get(m) or checksum(m)}" for m in shares)
        checksums[ENSEMBLE] = hashlib.sha256(f"{members};{weights}".encode()).hexdigest()
    return checksums
