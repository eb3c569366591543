"""Several servers, one store: three `digits serve` processes on one Uplink stand-in, sharing a PostgreSQL.

The stand-in spreads the page's calls over every connected uplink, as Anvil does, so feedback on a
result often reaches another process than the one that classified it. The tests then take the
database away and bring it back, kill one process during a burst of calls (the page retries what was
lost with it, once), and stop one with SIGTERM while 200 calls wait for it.
"""

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sqlalchemy as sa
from harness.anvil_stand_in import AnvilStandIn, ConnectionLostError, RemoteError
from client_code import load_client_module
from test_uplink_server import FUNCTIONS, KEY, ServerProcess, assert_readable, png_file, png_of, served_models
from websockets.exceptions import ConnectionClosed

SERVERS = 3
presentation = load_client_module("presentation")


@pytest.fixture(scope="module")
def pages(mnist_path) -> list[tuple[bytes, int]]:
    """60 MNIST test digits as PNG uploads, with their labels."""
    with np.load(mnist_path) as mnist:
        return [(png_of(mnist["x_test"][i]), int(mnist["y_test"][i])) for i in range(60)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres):
    """Three servers (started one after another, so connection i is server i) and their shared store."""
    folder = tmp_path_factory.mktemp("cluster")
    models_dir, model_ids, _ = served_models(folder)
    url = postgres.create_database("cluster")
    with AnvilStandIn(KEY) as anvil:
        servers = []
        try:
            for number in range(SERVERS):
                servers.append(ServerProcess(f"server{number}", folder, ANVIL_UPLINK_URL=anvil.url,
                                             ANVIL_UPLINK_KEY=KEY, DIGITS_MODELS_DIR=str(models_dir),
                                             DIGITS_MODELS=model_ids[0], DIGITS_DATABASE_URL=url))
                anvil.wait_for_functions(FUNCTIONS, connections=number + 1, timeout=180)
            engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"), pool_pre_ping=True)
            yield {"anvil": anvil, "servers": servers, "connections": list(anvil.connections), "db": engine,
                   "postgres": postgres}
            engine.dispose()
        finally:
            for server in servers:
                server.stop()


def rows(cluster) -> list[tuple[str, int]]:
    from digits.feedback_store import feedback

    with cluster["db"].connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(feedback.c.result_key, feedback.c.digit))]


def classify(anvil, page: bytes, name: str, **options) -> dict:
    return anvil.call("classify_digit", png_file(page, name), **options)


def as_the_page_does(call):
    """Run `call`; once more if the uplink that had it went away or was restarting (ResultCard does this)."""
    try:
        return call()
    except (ConnectionLostError, ConnectionClosed, OSError):  # Anvil tells the page: UplinkDisconnectedError
        error_type, message = "UplinkDisconnectedError", "the uplink disconnected"
    except RemoteError as error:
        error_type, message = error.type.rsplit(".", 1)[-1], error.message
        if not presentation.worth_retrying(error_type, message):
            raise
    assert presentation.worth_retrying(error_type, message)
    return call()


def test_feedback_on_a_result_from_one_server_is_saved_by_another(cluster, pages):
    anvil, (first, second, third) = cluster["anvil"], cluster["connections"]
    before = len(rows(cluster))
    (page, label), = pages[:1]
    result = classify(anvil, page, "digit.png", via=first)
    saved = anvil.call("record_feedback", result["result_id"], label, via=second)
    assert saved == {"saved": True, "model": result["model"], "predicted": result["digit"], "digit": label,
                     "confirmed": result["digit"] == label}
    summary = anvil.call("feedback_summary", result["model"], via=third)
    assert summary["confirmed"] + summary["corrected"] == before + 1
    record_lines = [line for server in cluster["servers"] for line in server.log_lines()
                    if line.get("function") == "record_feedback"]
    assert [line["outcome"] for line in record_lines][-1:] == ["ok"]


def test_16_concurrent_feedback_calls_mixed_with_classifications_save_every_row_once(cluster, pages):
    anvil = cluster["anvil"]
    before = rows(cluster)
    results = [(classify(anvil, page, f"{i}.png"), label) for i, (page, label) in enumerate(pages[:32])]

    def feedback(item):
        result, label = item
        return anvil.call("record_feedback", result["result_id"], label)

    with ThreadPoolExecutor(max_workers=16) as pool:
        saved = pool.map(feedback, results)
        classified = pool.map(lambda item: classify(anvil, item[0], "again.png"), pages[:32])
        saved, classified = list(saved), list(classified)
    assert all(answer["saved"] for answer in saved) and all(len(c["probabilities"]) == 10 for c in classified)
    after = rows(cluster)
    assert len(after) == len(before) + 32 and len({key for key, _ in after}) == len(after)
    assert sorted(digit for key, digit in after if (key, digit) not in before) == sorted(l for _, l in results)


BAD_FEEDBACK = {
    "a digit outside 0-9": (12, "a whole number from 0 to 9"),
    "a digit as text": ("seven", "a whole number from 0 to 9"),
    "a huge token": ("HUGE", "far longer than any this classifier issues"),
    "a token from another deployment": ("OTHER", "not issued by this classifier"),
}


@pytest.mark.parametrize("case", BAD_FEEDBACK, ids=list(BAD_FEEDBACK))
def test_bad_feedback_over_the_wire_gets_a_readable_error_and_nothing_is_stored(cluster, pages, case):
    from uplink_server.result_tokens import ResultSigner

    anvil = cluster["anvil"]
    result = classify(anvil, pages[1][0], "digit.png")
    value, expected = BAD_FEEDBACK[case]
    token, digit = result["result_id"], value
    if value == "HUGE":
        token, digit = result["result_id"] * 100, 3
    elif value == "OTHER":
        token = ResultSigner("another-apps-uplink-key").sign(result["model"], "", result["digit"], None,
                                                             np.zeros((28, 28), np.uint8))
        digit = 3
    before = rows(cluster)
    with pytest.raises(RemoteError) as raised:
        anvil.call("record_feedback", token, digit)
    assert raised.value.type == "digits.RequestError" and expected in raised.value.message
    assert_readable(raised.value)
    assert rows(cluster) == before


def test_the_database_down_classification_works_feedback_says_try_again_then_saving_resumes(cluster, pages):
    anvil, postgres = cluster["anvil"], cluster["postgres"]
    (page, label), = pages[2:3]
    before = len(rows(cluster))
    postgres.stop()
    try:
        result = classify(anvil, page, "digit.png")  # classification needs no database
        assert len(result["probabilities"]) == 10
        with pytest.raises(RemoteError) as raised:
            anvil.call("record_feedback", result["result_id"], label, timeout=60)
        assert raised.value.message == "Your answer could not be saved just now; please try again."
        assert_readable(raised.value)
        text = presentation.error_text(raised.value.type, raised.value.message)
        assert "could not be saved" in text and "try again" in text
    finally:
        postgres.start()
    assert anvil.call("record_feedback", result["result_id"], label)["saved"]
    assert len(rows(cluster)) == before + 1
    assert all(server.process.poll() is None for server in cluster["servers"])


def test_a_server_killed_during_a_burst_loses_no_feedback(cluster, pages):
    anvil, victim = cluster["anvil"], cluster["servers"][0]
    results = [(classify(anvil, page, f"{i}.png"), label) for i, (page, label) in enumerate(pages[:45])]
    before = rows(cluster)
    outcomes = []

    def feedback(item):
        result, label = item
        try:
            outcomes.append(("ok", as_the_page_does(lambda: anvil.call("record_feedback", result["result_id"], label))))
        except Exception as error:  # noqa: BLE001 (the test reports whatever it was)
            outcomes.append(("failed", repr(error)))

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(feedback, item) for item in results[:15]]
        victim.process.send_signal(signal.SIGKILL)
        futures += [pool.submit(feedback, item) for item in results[15:]]
        for future in futures:
            future.result(timeout=120)
    assert victim.process.wait(10) == -signal.SIGKILL
    assert [outcome for outcome in outcomes if outcome[0] != "ok"] == []
    after = rows(cluster)
    assert len(after) == len(before) + 45
    assert sorted(d for key, d in after if (key, d) not in before) == sorted(label for _, label in results)


def test_sigterm_with_200_calls_queued_answers_every_call(cluster, pages):
    anvil, server = cluster["anvil"], cluster["servers"][1]
    connection = cluster["connections"][1]
    assert server.process.poll() is None
    with ThreadPoolExecutor(max_workers=200) as pool:
        calls = [pool.submit(classify, anvil, pages[i % 60][0], f"{i}.png", via=connection, timeout=60)
                 for i in range(200)]
        time.sleep(0.05)  # calls are still arriving, queued, or running when the server is told to stop
        server.process.send_signal(signal.SIGTERM)
        answered, restarting, other = 0, 0, []
        for call in calls:
            try:
                call.result(timeout=90)
                answered += 1
            except RemoteError as error:
                if error.message in ("The server is restarting; please try again in a moment.",
                                     "The server is busy; please try again in a moment."):  # 200 at once: past its bound
                    restarting += 1
                else:
                    other.append(error)
            except ConnectionLostError as error:
                other.append(error)
    assert other == [] and answered + restarting == 200
    assert server.process.wait(30) == 0
    assert server.wait_for_log("stopped")["calls_abandoned"] == 0
    print(f"SIGTERM with 200 calls queued: {answered} answered, {restarting} told to try again")
