"""Folder runs (`digits classify DIR`, `digits read DIR`): files prepared side by side (in processes for
classify, in threads for read) give the same answers as one file at a time, and a broken file its line
without stopping the run. (The same lines on one core as on several, and the progress bar: tests/test_speed.py.)"""

import json
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from number_images import RENDERINGS, build_number, rendered

import digits.cli
import digits.engine
from digits.bench import mixed_uploads
from digits.cli import classify_files, classify_folder, main, open_reader
from digits.engine import prepare_each
from digits.preprocessing import PreparedImage

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
BROKEN = b"\x89PNG\r\n\x1a\n not really a picture"


def answers(results: list[dict]) -> list[dict]:
    """What a person reads in each line: all but the time it took."""
    return [{key: value for key, value in result.items() if key != "latency_ms" and value != []} for result in results]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Every sample twice over, and one broken picture among them."""
    folder = tmp_path_factory.mktemp("uploads")
    samples = sorted(path for path in SAMPLES.iterdir() if path.is_file())
    for copy in range(2):
        for sample in samples:
            shutil.copy(sample, folder / f"{copy:02d}-{sample.name}")
    (folder / "00-broken.png").write_bytes(BROKEN)
    return folder


@pytest.fixture
def pools(monkeypatch) -> list:
    """The preparation pools a run starts, each of two processes whatever this machine has, and one
    for a small folder too (keeps the tests short)."""
    pools, preparation_pool = [], digits.engine.preparation_pool

    def counted_pool(workers=None):
        pools.append(preparation_pool(2))
        return pools[-1]

    monkeypatch.setattr("digits.engine.preparation_pool", counted_pool)
    monkeypatch.setattr("digits.cli.PARALLEL_FROM_FILES", 2)
    return pools


def pooled_run(command: str, folder: Path, pools: list, capsys) -> tuple[list[dict], str]:
    """`digits COMMAND --json FOLDER`, its files prepared by the pool: its JSON lines and standard error."""
    assert main([command, "--json", str(folder)]) == 1  # the broken file fails the run, after the rest
    captured = capsys.readouterr()
    assert pools and pools[0] is not None  # the files were prepared by the pool
    return [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_a_folder_run_prepares_in_processes_and_answers_as_one_file_at_a_time(folder, pools, capsys):
    lines, err = pooled_run("classify", folder, pools, capsys)

    files = sorted(folder.iterdir())
    with open_reader("cnn") as reader:  # today's way: one file after another, in this process
        one_by_one = [result.to_dict() for path in files for result in classify_files(reader, [path], "cnn")]
    assert answers(lines) == answers(json.loads(json.dumps(one_by_one)))
    assert [Path(line["file"]).name for line in lines] == [path.name for path in files]

    broken = next(line for line in lines if line["file"].endswith("00-broken.png"))
    assert set(broken) == {"file", "error"} and "is not an image or CSV file we can read" in broken["error"]
    assert sum("digit" in line for line in lines) == len(files) - 1  # the run went on past it
    assert err == ""  # no progress bar: standard error is not a terminal here


def test_a_folder_of_several_groups_prepared_a_group_ahead_answers_as_one_file_at_a_time(folder, pools, capsys,
                                                                                           monkeypatch):
    monkeypatch.setattr("digits.preprocessing.MAX_FILES_PER_CALL", 5)  # several groups, the broken file in one
    lines, _ = pooled_run("classify", folder, pools, capsys)

    files = sorted(folder.iterdir())
    with open_reader("cnn") as reader:
        one_by_one = [result.to_dict() for path in files for result in classify_files(reader, [path], "cnn")]
    assert len(files) > 2 * 5 and answers(lines) == answers(json.loads(json.dumps(one_by_one)))


def test_a_folder_read_of_numbers_goes_on_past_a_broken_file(tmp_path, capsys):
    numbers = tmp_path / "numbers"
    numbers.mkdir()
    for name in ("seven-paper.png", "four-photo.jpg"):
        shutil.copy(SAMPLES / name, numbers / name)
    (numbers / "broken.png").write_bytes(BROKEN)
    assert main(["read", "--json", str(numbers)]) == 1
    captured = capsys.readouterr()
    lines = {Path(line["file"]).name: line for line in map(json.loads, captured.out.splitlines())}
    assert set(lines) == {"broken.png", "four-photo.jpg", "seven-paper.png"}
    assert "is not an image or CSV file we can read" in lines["broken.png"]["error"]
    assert lines["seven-paper.png"]["number"] == "7" and lines["four-photo.jpg"]["number"] == "4"
    assert captured.err == ""


@pytest.fixture(scope="module")
def numbers_folder(tmp_path_factory, mnist_test) -> Path:
    """Whole numbers of real MNIST test digits, on paper, in phone photos and drawn, and a broken picture."""
    folder = tmp_path_factory.mktemp("numbers")
    images, labels = mnist_test.first(200)
    rng = np.random.default_rng(5)
    for index in range(9):
        chosen = rng.choice(len(images), int(rng.integers(2, 6)), replace=False)
        number = build_number(images[chosen], labels[chosen], rng, touch=index % 3 == 2)
        how = RENDERINGS[index % len(RENDERINGS)]
        (folder / f"{index:02d}-{how}.{'jpg' if how == 'photo' else 'png'}").write_bytes(rendered(number, how, index))
    shutil.copy(SAMPLES / "seven-paper.png", folder / "10-seven-paper.png")
    (folder / "05-broken.png").write_bytes(BROKEN)
    return folder


def test_a_folder_read_prepares_side_by_side_and_reads_as_one_file_at_a_time(numbers_folder, capsys):
    assert main(["read", "--json", str(numbers_folder)]) == 1  # the broken file fails the run, after the rest
    captured = capsys.readouterr()
    lines, err = [json.loads(line) for line in captured.out.splitlines()], captured.err

    files = sorted(numbers_folder.iterdir())
    assert [Path(line["file"]).name for line in lines] == [path.name for path in files]
    with open_reader("cnn") as reader:  # one file after another, in this process
        for path, line in zip(files, lines):
            if path.name == "05-broken.png":
                assert set(line) == {"file", "error"} and "is not an image or CSV file we can read" in line["error"]
                continue
            alone = reader.read_number(path).to_dict()
            alone["digits"] = [{key: digit[key] for key in ("digit", "confidence", "box")} for digit in alone["digits"]]
            assert line == {key: alone[key] for key in line}, path.name
            assert bool(alone["warnings"]) == ("warnings" in line)
    assert sum("number" in line for line in lines) == len(files) - 1  # the run went on past the broken file
    assert any(len(line.get("number", "")) > 1 for line in lines)  # whole numbers, not only single digits
    assert err == ""  # no progress bar: standard error is not a terminal here


class StartingPool(ThreadPoolExecutor):
    """A preparation pool whose processes are ready once the run has prepared `starting_for` uploads itself
    (as `PreparationPool.ready` becomes done while a folder run prepares files here); it records the
    files it is handed."""

    def __init__(self, starting_for: int):
        super().__init__(2)
        self.ready, self.starting_for, self._prepared_here, self.handed = Future(), starting_for, 0, []

    @property
    def prepared_while_starting(self) -> int:
        return self._prepared_here

    @prepared_while_starting.setter
    def prepared_while_starting(self, count: int) -> None:
        self._prepared_here = count
        if count == self.starting_for:
            self.ready.set_result(None)

    def map(self, function, tasks, **kwargs):
        tasks = list(tasks)
        self.handed += [upload[0] if isinstance(upload, tuple) else upload.file for task in tasks for upload in task]
        return super().map(function, tasks, **kwargs)


@pytest.mark.parametrize("starting_for", [3, 7, 10_000])  # within the first group, in the second, never ready
def test_a_folder_run_prepares_files_itself_while_the_pool_starts_then_hands_it_the_rest(folder, starting_for,
                                                                                        monkeypatch):
    monkeypatch.setattr("digits.preprocessing.MAX_FILES_PER_CALL", 5)  # several groups, the broken file in one
    files = sorted(folder.iterdir())
    with open_reader("cnn") as reader, StartingPool(starting_for) as pool:
        in_the_run = [result.to_dict() for _, results in classify_folder(reader, files, "cnn", pool)
                      for result in results]
        one_by_one = [result.to_dict() for path in files for result in classify_files(reader, [path], "cnn")]

    assert answers(in_the_run) == answers(one_by_one)  # every file, in order, with the same answer
    here = min(starting_for, len(files))
    assert pool.prepared_while_starting == here
    assert pool.handed == [str(path) for path in files[here:]]  # the pool got the rest, each file once


def test_a_folder_run_starts_the_pool_before_it_loads_the_models(folder, pools, monkeypatch, capsys):
    made_before = []
    opened = digits.cli.open_reader

    def open_after_the_pool(model):
        made_before.append(len(pools))
        return opened(model)

    monkeypatch.setattr("digits.cli.open_reader", open_after_the_pool)
    assert main(["classify", "--json", str(folder)]) == 1  # the broken file
    capsys.readouterr()
    assert made_before == [1]  # the pool was made, and its processes started, before the models loaded
    assert main(["classify", "--json", "--trace", str(folder)]) == 1  # a traced run reads here: no pool
    assert len(pools) == 1 or pools[1] is None


def test_a_preparation_pool_starts_its_processes_as_it_is_made():
    pool = digits.engine.preparation_pool(2)
    try:
        assert pool.ready.result(timeout=120) is None  # nothing asked of it
        assert len(pool._processes) == 2 and pool.start_s > 0
    finally:
        pool.shutdown()


def minor_page_faults(pids) -> int:
    """The page faults the processes `pids` have taken that needed no disk (Linux's minflt)."""
    return sum(int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7]) for pid in pids)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts page faults in /proc (Linux)")
def test_a_preparation_process_keeps_its_memory_from_one_picture_to_the_next(mnist_test):
    """A pool's process prepares the next phone photo or scanned page in the memory its last task freed, not
    in fresh pages from the system (glibc handed a process's heap back after each task and mapped its large
    arrays afresh: about 240 page faults a 1200x900 photo, 310 a scanned page, 60-210 an upload of the
    bench's mixed folder (99 here before), and the system's time to fill them; docs/speed.md, *Folder
    runs, stop 55*)."""
    images, _ = mnist_test
    folder = [[upload] for upload in mixed_uploads(images, 64)]  # `digits bench`'s folder: photos, scans, CSVs, PNGs
    pool = digits.engine.preparation_pool(2)
    try:
        pool.ready.result(timeout=120)
        list(pool.map(prepare_each, folder))  # each process's first pictures
        pids = list(pool._processes)  # (the executor's own record of its processes)
        before = minor_page_faults(pids)
        prepared = [task[0] for task in pool.map(prepare_each, folder * 2)]
        faults = minor_page_faults(pids) - before
    finally:
        pool.shutdown()
    assert all(isinstance(images, list) and all(isinstance(image, PreparedImage) for image in images)
               for images in prepared)
    assert faults / len(prepared) < 10, faults / len(prepared)
