"""The feedback store and the result ids, on real databases: SQLite in a file, and a throwaway PostgreSQL.

What the page's feedback goes through once it reaches a server: a signed result id is checked, the
person's digit saved with what the model saw, counted, exported in MNIST's form. The store must keep
every row once under concurrent writers, survive the database going away, and refuse anything that is
not a result this deployment issued.
"""

import itertools
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from digits.feedback_store import (FeedbackStore, StoreError, StoreSettingsError, database_url, describe,
                                   feedback)
from digits.preprocessing import InputError
from uplink_server.feedback import FeedbackDesk, FeedbackNotSaved
from uplink_server.result_tokens import MAX_TOKEN_CHARS, ResultSigner

REPO = Path(__file__).resolve().parents[1]
SECRET = "server_TESTKEY0123456789"
SHA = "ab" * 32
_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'feedback.sqlite3'}"
    return request.getfixturevalue("postgres").create_database(f"store{next(_names)}")


@pytest.fixture
def store(store_url):
    store = FeedbackStore(database_url({"DIGITS_DATABASE_URL": store_url}))
    yield store
    store.close()


class Result:
    """What the engine's Classification gives the feedback desk: model, digit, probabilities, pixels."""

    def __init__(self, model, digit, probabilities, pixels):
        self.model, self.digit, self.probabilities, self.pixels = model, digit, probabilities, pixels


@pytest.fixture
def corrections(mnist_train_digits):
    """MNIST training digits as results a model got: every third one wrong (answered digit + 1)."""
    images, labels = mnist_train_digits

    def make(count):
        results = []
        for i in range(count):
            label = int(labels[i])
            answered = (label + 1) % 10 if i % 3 == 0 else label
            probabilities = tuple(0.91 if d == answered else 0.01 for d in range(10))
            results.append((Result("cnn", answered, probabilities, images[i]), label))
        return results

    return make


def test_the_default_store_is_sqlite_under_the_data_dir(tmp_path):
    url = database_url({"DIGITS_DATA_DIR": str(tmp_path / "data")})
    assert (url.get_backend_name(), url.database) == ("sqlite", str(tmp_path / "data" / "feedback.sqlite3"))
    assert database_url({"DIGITS_DATABASE_URL": "postgresql://u:secret@db:5432/digits"}).drivername == \
        "postgresql+psycopg"


@pytest.mark.parametrize("url, expected", [
    ("db.example.com/digits", "is not a database URL"),
    ("mysql://u@db/digits", "names a 'mysql' database"),
])
def test_a_database_url_it_cannot_use_is_explained(url, expected):
    with pytest.raises(StoreSettingsError, match=expected):
        database_url({"DIGITS_DATABASE_URL": url})


def test_the_password_never_shows_in_what_is_logged():
    url = database_url({"DIGITS_DATABASE_URL": "postgresql://digits:hunter2@db:5432/digits"})
    assert "hunter2" not in describe(url) and "db:5432" in describe(url)


def test_the_schema_comes_from_the_migrations(store):
    store.count()  # first use migrates
    with store._engine.connect() as connection:
        version = connection.execute(sa.select(sa.column("version_num")).select_from(
            sa.table("alembic_version"))).scalar_one()
        columns = {c["name"] for c in sa.inspect(connection).get_columns("feedback")}
    assert version == "0002"
    assert columns == {"id", "result_key", "created_at", "model", "model_sha256", "predicted", "probabilities",
                       "digit", "pixels", "caller"}


def test_each_saved_answer_keeps_what_the_model_saw_and_said(store, corrections):
    desk = FeedbackDesk(ResultSigner(SECRET), store, {"cnn": SHA})
    saved = []
    for result, label in corrections(30):
        answer = desk.record(desk.result_id(result), label).to_dict()
        assert answer == {"saved": True, "model": "cnn", "predicted": result.digit, "digit": label,
                          "confirmed": result.digit == label}
        saved.append((result, label))
    exported = store.export()
    assert exported["x"].dtype == np.uint8 and exported["x"].shape == (30, 28, 28)
    assert np.array_equal(exported["x"], np.stack([r.pixels for r, _ in saved]))
    assert exported["y"].tolist() == [label for _, label in saved]
    assert exported["predicted"].tolist() == [r.digit for r, _ in saved]
    assert set(exported["model"]) == {"cnn"} and all(t.endswith("+00:00") for t in exported["created_at"])
    with store._engine.connect() as connection:
        row = connection.execute(sa.select(feedback.c.probabilities, feedback.c.model_sha256).limit(1)).one()
    assert row.model_sha256 == SHA and len(row.probabilities) == 10


def test_the_summary_counts_confirmed_corrected_and_the_common_mistakes(store, corrections):
    desk = FeedbackDesk(ResultSigner(SECRET), store, {"cnn": SHA})
    results = corrections(60)
    for result, label in results:
        desk.record(desk.result_id(result), label)
    no_digit = Result("vit", None, None, results[0][0].pixels)  # a "no digit" answer, corrected by a person
    desk.record(desk.result_id(no_digit), 4)
    wrong = [(label, r.digit) for r, label in results if r.digit != label]
    summary = store.summary().to_dict()
    assert summary["confirmed"] == 40 and summary["corrected"] == 21
    assert summary["per_model"] == [{"model": "cnn", "confirmed": 40, "corrected": 20, "total": 60},
                                    {"model": "vit", "confirmed": 0, "corrected": 1, "total": 1}]
    most = max(set(wrong), key=wrong.count)
    assert summary["common_mistakes"][0] == {"true": most[0], "predicted": most[1], "count": wrong.count(most)}
    assert store.summary("vit").to_dict()["common_mistakes"] == [{"true": 4, "predicted": None, "count": 1}]


def test_the_same_result_saved_twice_is_one_row_with_the_later_answer(store, corrections):
    desk = FeedbackDesk(ResultSigner(SECRET), store, {"cnn": SHA})
    (result, label), = corrections(1)
    token = desk.result_id(result)
    desk.record(token, label)
    desk.record(token, (label + 5) % 10)  # a retry, or a person changing their mind
    assert store.count() == 1 and store.export()["y"].tolist() == [(label + 5) % 10]


def test_16_concurrent_writers_save_every_row_once(store, corrections):
    desk = FeedbackDesk(ResultSigner(SECRET), store, {"cnn": SHA})
    results = corrections(160)
    tokens = [(desk.result_id(result), label) for result, label in results]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda item: desk.record(*item), tokens))
    exported = store.export()
    assert len(exported["y"]) == 160
    assert sorted(map(tuple, zip(exported["y"].tolist(), exported["predicted"].tolist()))) == \
        sorted((label, r.digit) for r, label in results)


BAD_FEEDBACK = {
    "a digit outside 0-9": (lambda token: (token, 10), "a whole number from 0 to 9"),
    "a negative digit": (lambda token: (token, -1), "a whole number from 0 to 9"),
    "a digit as text": (lambda token: (token, "7"), "a whole number from 0 to 9"),
    "true instead of a digit": (lambda token: (token, True), "a whole number from 0 to 9"),
    "a huge token": (lambda token: (token * 40, 3), "far longer than any this classifier issues"),
    "a token from another deployment": (
        lambda token: (ResultSigner("another-apps-key").sign("cnn", SHA, 3, None, np.zeros((28, 28), np.uint8)), 3),
        "not issued by this classifier"),
    "a token altered by hand": (lambda token: (token[:40] + ("A" if token[40] != "A" else "B") + token[41:], 3),
                                "not issued by this classifier"),
    "a token without its signature": (lambda token: (token.split(".")[0], 3), "not issued by this classifier"),
    "no token at all": (lambda token: (None, 3), "not issued by this classifier"),
    "an expired token": (
        lambda token: (ResultSigner(SECRET, lifetime_s=-1).sign("cnn", SHA, 3, None, np.zeros((28, 28), np.uint8)), 3),
        "too old for feedback"),
}


@pytest.mark.parametrize("case", BAD_FEEDBACK, ids=list(BAD_FEEDBACK))
def test_bad_feedback_gets_a_readable_error_and_nothing_is_stored(tmp_path, corrections, case):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.sqlite3'}")
    desk = FeedbackDesk(ResultSigner(SECRET), store, {"cnn": SHA})
    (result, _), = corrections(1)
    make_arguments, expected = BAD_FEEDBACK[case]
    with pytest.raises(InputError) as raised:
        desk.record(*make_arguments(desk.result_id(result)))
    assert expected in str(raised.value) and str(raised.value).endswith(".")
    assert store.count() == 0


def test_a_token_is_bounded_and_carries_no_upload(corrections):
    (result, _), = corrections(1)
    token = ResultSigner(SECRET).sign("cnn", SHA, result.digit, result.probabilities, result.pixels)
    assert len(token) < MAX_TOKEN_CHARS / 2
    assert ResultSigner(SECRET).verify(token).pixels.tobytes() == result.pixels.tobytes()


def test_the_store_down_says_try_again_and_saving_works_when_it_is_back(postgres, corrections):
    url = postgres.create_database(f"down{next(_names)}")
    store = FeedbackStore(database_url({"DIGITS_DATABASE_URL": url}))
    desk = FeedbackDesk(ResultSigner(SECRET), store, {"cnn": SHA})
    (first, label1), (second, label2) = corrections(2)
    desk.record(desk.result_id(first), label1)
    postgres.stop()
    try:
        started = time.monotonic()
        with pytest.raises(FeedbackNotSaved, match="could not be saved just now; please try again") as raised:
            desk.record(desk.result_id(second), label2)
        assert isinstance(raised.value.__cause__, StoreError) and time.monotonic() - started < 15
    finally:
        postgres.start()
    desk.record(desk.result_id(second), label2)
    assert store.count() == 2
    store.close()


def test_a_full_sqlite_disk_says_try_again_and_saving_works_once_there_is_room(tmp_path, corrections):
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(f"sqlite:///{path}")
    desk = FeedbackDesk(ResultSigner(SECRET), store, {"cnn": SHA})
    results = corrections(40)
    desk.record(desk.result_id(results[0][0]), results[0][1])

    @sa.event.listens_for(store._engine, "connect")
    def full_disk(dbapi_connection, _):  # as if the disk had no room beyond the pages used now
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    store._engine.dispose()
    with pytest.raises(FeedbackNotSaved, match="please try again"):
        for result, label in results[1:]:
            desk.record(desk.result_id(result), label)
    sa.event.remove(store._engine, "connect", full_disk)
    store._engine.dispose()
    before = store.count()
    desk.record(desk.result_id(results[-1][0]), results[-1][1])
    assert store.count() == before + 1
    store.close()


def test_feedback_stats_and_export_from_the_command_line(tmp_path, corrections):
    store = FeedbackStore(database_url({"DIGITS_DATA_DIR": str(tmp_path)}))
    desk = FeedbackDesk(ResultSigner(SECRET), store, {"cnn": SHA})
    results = corrections(12)
    for result, label in results:
        desk.record(desk.result_id(result), label)
    store.close()
    env = {"DIGITS_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def digits(*args):
        return subprocess.run([sys.executable, "-m", "digits.cli", *args], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=120)

    stats = digits("feedback", "stats")
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.splitlines()[:2] == ["12 answers: 8 confirmed, 4 corrected", "  cnn: 8 confirmed, 4 corrected"]
    as_json = digits("feedback", "stats", "--json")
    assert json.loads(as_json.stdout)["corrected"] == 4
    out = tmp_path / "feedback.npz"
    assert digits("feedback", "export", "--out", str(out)).stdout == f"12 answers written to {out}\n"
    with np.load(out, allow_pickle=False) as exported:
        assert set(exported.files) == {"x", "y", "predicted", "model", "created_at"}
        assert exported["x"].shape == (12, 28, 28) and exported["y"].tolist() == [label for _, label in results]
    broken = digits("feedback", "--database", "mysql://u@db/x", "stats")
    assert broken.returncode == 2 and broken.stderr.startswith("digits feedback: DIGITS_DATABASE_URL names")
