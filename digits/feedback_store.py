"""The feedback store: what people said about the answers they saw, in a real database.

One table (schema in digits/migrations, applied with Alembic), reached through SQLAlchemy Core:
- SQLite in a file under DIGITS_DATA_DIR by default, so one server needs no setup;
- PostgreSQL when DIGITS_DATABASE_URL=postgresql://... names one, for several servers sharing a store.
Each row keeps the 28x28 image the model saw (never the upload), the model, its answer and
probabilities, the person's digit, the time and the model file's checksum. Saving the same result
twice (a page retrying) keeps one row: the later answer wins.
"""

import os
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

DATABASE_URL_ENV = "DIGITS_DATABASE_URL"
DATA_DIR_ENV = "DIGITS_DATA_DIR"
DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "digits"
SQLITE_FILE = "feedback.sqlite3"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
COMMON_MISTAKES_SHOWN = 5
CONNECT_TIMEOUT_S = 5

metadata = sa.MetaData()
feedback = sa.Table(  # as the migrations in digits/migrations/versions build it
    "feedback", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("result_key", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("model", sa.String(32), nullable=False),
    sa.Column("model_sha256", sa.String(64), nullable=False),
    sa.Column("predicted", sa.SmallInteger, nullable=True),
    sa.Column("probabilities", sa.JSON, nullable=True),
    sa.Column("digit", sa.SmallInteger, nullable=False),
    sa.Column("pixels", sa.LargeBinary, nullable=False),
    sa.Column("caller", sa.String(64), nullable=True),  # a keyed hash of who answered; NULL: not known
)


class StoreError(Exception):
    """The store cannot be reached or written (down, full, misconfigured); the message says which."""


class StoreSettingsError(ValueError):
    """DIGITS_DATABASE_URL is not a database URL this store can use."""


@dataclass(frozen=True)
class Feedback:
    """One person's verdict on one result."""

    result_key: str  # unique per result shown: the same result saved twice is one row
    model: str
    model_sha256: str
    predicted: int | None  # None: the model gave no digit
    probabilities: tuple[float, ...] | None
    digit: int  # what the person says it is
    pixels: np.ndarray  # uint8 (28, 28), what the model saw
    created_at: datetime | None = None  # None: now
    caller: str | None = None  # a keyed hash of who answered (uplink_server.feedback), never the caller itself


@dataclass(frozen=True)
class Mistake:
    true: int
    predicted: int | None
    count: int


@dataclass(frozen=True)
class ModelFeedback:
    model: str
    confirmed: int  # the person said the model was right
    corrected: int  # the person gave another digit

    @property
    def total(self) -> int:
        return self.confirmed + self.corrected


@dataclass(frozen=True)
class FeedbackSummary:
    per_model: tuple[ModelFeedback, ...]
    common_mistakes: tuple[Mistake, ...]  # the most frequent (true, predicted) pairs, most frequent first

    @property
    def confirmed(self) -> int:
        return sum(m.confirmed for m in self.per_model)

    @property
    def corrected(self) -> int:
        return sum(m.corrected for m in self.per_model)

    def to_dict(self) -> dict:
        return {"confirmed": self.confirmed, "corrected": self.corrected,
                "per_model": [{**asdict(m), "total": m.total} for m in self.per_model],
                "common_mistakes": [asdict(m) for m in self.common_mistakes]}


def database_url(environ=os.environ) -> sa.URL:
    """DIGITS_DATABASE_URL (postgresql://... or sqlite:///...), else SQLite under DIGITS_DATA_DIR."""
    given = environ.get(DATABASE_URL_ENV, "").strip()
    if not given:
        data_dir = Path(environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser()
        return sa.URL.create("sqlite", database=str(data_dir / SQLITE_FILE))
    try:
        url = sa.make_url(given)
    except sa.exc.ArgumentError:
        raise StoreSettingsError(f"{DATABASE_URL_ENV} is not a database URL; it should look like "
                                 "postgresql://USER:PASSWORD@HOST:5432/DATABASE.") from None
    if url.get_backend_name() in ("postgres", "postgresql"):
        return url.set(drivername="postgresql+psycopg")  # psycopg 3, whatever the URL named
    if url.get_backend_name() == "sqlite" and url.database:
        return url
    raise StoreSettingsError(f"{DATABASE_URL_ENV} names a {url.get_backend_name()!r} database; "
                             "the feedback store takes postgresql://... or sqlite:///PATH.")


def describe(url: sa.URL) -> str:
    """The URL as a log line may show it: never the password."""
    return url.render_as_string(hide_password=True)


class FeedbackStore:
    """The store behind one URL. Thread-safe; brings the schema up to date on first use."""

    def __init__(self, url: sa.URL | str):
        self.url = sa.make_url(url)
        self._engine = _make_engine(self.url)
        self._migrated = False
        self._lock = threading.Lock()

    def add(self, entry: Feedback) -> None:
        row = {"result_key": entry.result_key, "model": entry.model, "model_sha256": entry.model_sha256,
               "predicted": entry.predicted, "digit": entry.digit,
               "probabilities": None if entry.probabilities is None else list(entry.probabilities),
               "pixels": np.ascontiguousarray(entry.pixels, np.uint8).tobytes(),
               "created_at": entry.created_at or datetime.now(timezone.utc), "caller": entry.caller}
        insert = (postgresql.insert if self.url.get_backend_name() == "postgresql" else sqlite.insert)(feedback)
        upsert = insert.values(**row).on_conflict_do_update(
            index_elements=[feedback.c.result_key],
            set_={"digit": insert.excluded.digit, "created_at": insert.excluded.created_at})
        with self._connection() as connection:
            connection.execute(upsert)

    def summary(self, model: str | None = None, mistakes_shown: int = COMMON_MISTAKES_SHOWN,
                by_caller: bool = False) -> FeedbackSummary:
        """Confirmed and corrected answers per model, and the most common mistakes (of `model`, or all).

        `by_caller`: count the people who said so, not their answers: one visitor's thousand
        corrections count once (what the public page shows, so that no one visitor can steer it)."""
        right = feedback.c.digit == feedback.c.predicted
        only = [] if model is None else [feedback.c.model == model]
        if by_caller:
            who = sa.distinct(sa.func.coalesce(feedback.c.caller, feedback.c.result_key))
            confirmed, counted = sa.func.count(who).filter(right), sa.func.count(who)
            corrected = sa.func.count(who).filter(sa.or_(feedback.c.predicted.is_(None), ~right))
        else:
            confirmed, counted, corrected = sa.func.count().filter(right), sa.func.count(), None
        counts = (sa.select(feedback.c.model, confirmed, counted if corrected is None else corrected)
                  .where(*only).group_by(feedback.c.model).order_by(feedback.c.model))
        pairs = (sa.select(feedback.c.digit, feedback.c.predicted, counted.label("count"))
                 .where(*only, sa.or_(feedback.c.predicted.is_(None), ~right))
                 .group_by(feedback.c.digit, feedback.c.predicted)
                 .order_by(sa.desc("count"), feedback.c.digit, feedback.c.predicted).limit(mistakes_shown))
        with self._connection() as connection:
            per_model = tuple(ModelFeedback(name, confirmed, total - confirmed if corrected is None else total)
                              for name, confirmed, total in connection.execute(counts))
            mistakes = tuple(Mistake(true, predicted, count) for true, predicted, count in connection.execute(pairs))
        return FeedbackSummary(per_model, mistakes)

    def export(self) -> dict[str, np.ndarray]:
        """Every row, oldest first, as arrays: x (N, 28, 28) uint8 and y (N,) uint8 in MNIST's form,
        predicted (N,) int8 (-1: no digit), model and created_at (ISO 8601, UTC) as strings."""
        from digits.preprocessing import IMAGE_SIZE

        query = sa.select(feedback.c.pixels, feedback.c.digit, feedback.c.predicted, feedback.c.model,
                          feedback.c.created_at).order_by(feedback.c.id)
        with self._connection() as connection:
            rows = connection.execute(query).all()
        return {
            "x": np.array([np.frombuffer(r.pixels, np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE) for r in rows],
                          np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE),
            "y": np.array([r.digit for r in rows], np.uint8),
            "predicted": np.array([-1 if r.predicted is None else r.predicted for r in rows], np.int8),
            "model": np.array([r.model for r in rows], dtype=str),
            "created_at": np.array([_utc(r.created_at).isoformat() for r in rows], dtype=str),
        }

    def count(self, caller: str | None = None, since: datetime | None = None) -> int:
        """Rows saved (by `caller`, since `since`, where given)."""
        query = sa.select(sa.func.count()).select_from(feedback)
        if caller is not None:
            query = query.where(feedback.c.caller == caller)
        if since is not None:
            query = query.where(feedback.c.created_at >= since)
        with self._connection() as connection:
            return connection.execute(query).scalar_one()

    def migrate(self) -> None:
        """Bring the schema up to the newest migration (several servers may start at once)."""
        from alembic import command
        from alembic.config import Config

        if self.url.get_backend_name() == "sqlite":
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._engine.begin() as connection:
            if self.url.get_backend_name() == "postgresql":  # one server migrates, the others wait for it
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(18_0001)))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        self._migrated = True

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _connection(self):
        """A transaction, the schema brought up to date first; database errors become StoreError."""
        try:
            if not self._migrated:
                with self._lock:
                    if not self._migrated:
                        self.migrate()
            with self._engine.begin() as connection:
                yield connection
        except (sa.exc.SQLAlchemyError, OSError) as error:
            raise _store_error(self.url, error) from error


def _store_error(url: sa.URL, error: BaseException) -> StoreError:
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return StoreError(f"the feedback store {describe(url)} is not available: {detail}")


def _make_engine(url: sa.URL) -> sa.Engine:
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _rollback_journal(dbapi_connection, _):
            # A rollback journal, not a write-ahead log: the log's index (the -shm file) is mapped into
            # memory, and if anything truncates that file while we serve, the next write kills the
            # process with SIGBUS. A journal's failures are errors that a save can report; writers of
            # a few answers a second hardly make readers wait.
            dbapi_connection.execute("PRAGMA journal_mode=DELETE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=16, pool_timeout=10,
                            connect_args={"connect_timeout": CONNECT_TIMEOUT_S})


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
