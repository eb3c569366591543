"""Feedback on the page's results: a result id for each answer, and saving what a person says of it.

The callables in uplink_server.functions are thin doors onto `FeedbackDesk`; the store itself is
digits.feedback_store.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import models
from digits.engine import ENSEMBLE
from digits.feedback_store import Feedback, FeedbackStore, StoreError
from digits.preprocessing import InputError
from uplink_server.result_tokens import ResultSigner

NOT_SAVED = "Your answer could not be saved just now; please try again."
SUMMARY_UNAVAILABLE = "What people corrected cannot be loaded just now; please try again later."


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

    def record(self, result_id, digit) -> Recorded:
        digit = checked_digit(digit)
        result = self.signer.verify(result_id)
        try:
            self.store.add(Feedback(result_key=result.key, model=result.model, model_sha256=result.model_sha256,
                                    predicted=result.digit, probabilities=result.probabilities, digit=digit,
                                    pixels=result.pixels))
        except StoreError as error:
            raise FeedbackNotSaved(NOT_SAVED) from error
        return Recorded(result.model, result.digit, digit)

    def summary(self, model: str) -> dict:
        try:
            return {"model": model, **self.store.summary(model).to_dict()}
        except StoreError as error:
            raise FeedbackNotSaved(SUMMARY_UNAVAILABLE) from error


def checked_digit(digit) -> int:
    if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
        raise InputError("Please say which digit it really is: a whole number from 0 to 9.")
    return digit


def model_checksums(models_dir: Path, model_ids: tuple[str, ...]) -> dict[str, str]:
    """The SHA-256 of each served model's file; the ensemble's covers its members and their weights."""
    checksums = {m: hashlib.sha256(models.model_path(m, models_dir).read_bytes()).hexdigest() for m in model_ids}
    if all(m in checksums for m in models.MODEL_IDS):
        weights = json.dumps(models.ensemble_weights(models_dir), sort_keys=True)
        members = ";".join(f"{m}:{checksums[m]}" for m in models.MODEL_IDS)
        checksums[ENSEMBLE] = hashlib.sha256(f"{members};{weights}".encode()).hexdigest()
    return checksums
