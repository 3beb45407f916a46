"""The store: one named graph per file, on disk reopened without reloading."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from functools import partial
from pathlib import Path

import pyoxigraph as ox
import pytest
from support import descendants

from kg.coverage import StatusCount
from kg.errors import LoadError
from kg.export import dump, dump_folder, export, write_dumps
from kg.formats import DUMPS
from kg.project import Project
from kg.rdfio import parse_file
from kg.stats import instances_per_class
from kg.store import MANIFEST, Store, StoreError


def test_every_file_gets_its_own_named_graph(tiny: Project) -> None:
    store = Store.load(tiny)
    assert {g.file: g.iri for g in store.graphs} == {
        "ontology/o.ttl": "https://w3id.org/digistrat/graph/ontology/o",
        "shapes/s.ttl": "https://w3id.org/digistrat/graph/shapes/s",
        "data/essen.ttl": "https://w3id.org/digistrat/graph/data/essen",
    }
    data = next(g for g in store.graphs if g.file == "data/essen.ttl")
    assert data.triples == 3
    assert store.graph_iris("data") == [data.iri]


def test_default_graph_is_the_union(tiny: Project) -> None:
    store = Store.load(tiny)
    ask = store.ox.query("ASK { <https://example.org/ns#essen> a ?c . ?c ?p ?o }",
                         use_default_graph_as_union=True)
    assert bool(ask)


def test_results_can_be_freed_on_any_thread(tiny: Project) -> None:
    """The server reads a page's rows in one thread; the garbage collector may free them in
    another. pyoxigraph's iterators refuse that (an unraisable error, and the object leaks),
    so the store hands out results read to the end."""
    store = Store.load(tiny)
    made: dict[str, object] = {}

    def read() -> None:
        made["select"] = store.query("SELECT * WHERE { ?s ?p ?o }")
        made["construct"] = store.query("CONSTRUCT WHERE { ?s ?p ?o }")
        made["quads"] = store.quads()

    worker = threading.Thread(target=read)
    worker.start()
    worker.join()
    unraisable: list[object] = []
    previous, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        assert {v.value for v in made["select"].variables} == {"s", "p", "o"}  # type: ignore[attr-defined]
        assert len(made["select"]) == len(made["construct"]) == len(made["quads"]) > 0  # type: ignore[arg-type]
        made.clear()
    finally:
        sys.unraisablehook = previous
    assert unraisable == []


def test_disk_store_is_reopened_without_reloading(tiny: Project, tmp_path: Path) -> None:
    path = tmp_path / "store"
    lines: list[str] = []
    first = Store.load(tiny, path, progress=lines.append)
    count = len(first)
    del first
    assert (path / MANIFEST).is_file()
    lines.clear()
    again = Store.load(tiny, path, progress=lines.append)
    assert len(again) == count
    assert lines == [f"Reopened the store at {path} (files unchanged)"]


def test_disk_store_is_rebuilt_when_a_file_changes(tiny: Project, tmp_path: Path) -> None:
    path = tmp_path / "store"
    store = Store.load(tiny, path)
    del store
    data = tiny.root / "data" / "essen.ttl"
    data.write_text(data.read_text() + '<https://example.org/ns#bern> a '
                    '<https://example.org/ns#City> .\n')
    lines: list[str] = []
    store = Store.load(tiny, path, progress=lines.append)
    assert not any(line.startswith("Reopened") for line in lines)
    assert ("https://example.org/ns#City", 2) in instances_per_class(store)


def test_each_file_s_blank_nodes_are_its_own_and_each_graph_is_counted(tiny: Project) -> None:
    """RDF merges documents: ``_:x`` in two files is two nodes. A TriG file's named graph keeps
    its name, its default graph is the file's; an empty file still has its graph."""
    ns = "https://example.org/ns#"
    (tiny.root / "data" / "a.ttl").write_text(f"_:x <{ns}p> 1 . <{ns}a> <{ns}q> _:x .\n")
    (tiny.root / "data" / "b.ttl").write_text(f"_:x <{ns}p> 2 . <{ns}b> <{ns}q> _:x .\n")
    (tiny.root / "data" / "c.trig").write_text(
        f"<{ns}c> <{ns}p> 3 . <{ns}g> {{ <{ns}c> <{ns}p> 4 . <{ns}c> <{ns}p> 5 }}\n")
    (tiny.root / "data" / "d.ttl").write_text("# nothing yet\n")
    store = Store.load(tiny)
    rows = store.query(f"SELECT ?s ?v WHERE {{ ?s <{ns}p> ?v FILTER isBlank(?s) }}")
    assert len({row["s"] for row in rows}) == 2
    shared = store.query(f"ASK {{ <{ns}a> <{ns}q> ?x . <{ns}b> <{ns}q> ?x }}")
    assert not bool(shared)
    counts = {g.file: g.triples for g in store.graphs}
    assert (counts["data/a.ttl"], counts["data/b.ttl"], counts["data/c.trig"],
            counts["data/d.ttl"]) == (2, 2, 1, 0)
    assert bool(store.query(f"ASK {{ GRAPH <{ns}g> {{ <{ns}c> <{ns}p> 4, 5 }} }}"))
    assert ox.NamedNode(next(g.iri for g in store.graphs if g.file == "data/d.ttl")) in set(
        store.ox.named_graphs())


def test_a_file_that_does_not_parse_leaves_the_store_on_disk_as_it_was(
        tiny: Project, tmp_path: Path) -> None:
    path = tmp_path / "stores" / "store"
    count = len(Store.load(tiny, path))
    (tiny.root / "data" / "bad.ttl").write_text("<https://example.org/ns#a> <p> .\n")
    with pytest.raises(LoadError) as caught:
        Store.load(tiny, path)
    assert (caught.value.source, caught.value.line) == ("data/bad.ttl", 1)
    assert [p.name for p in path.parent.iterdir()] == ["store"]  # no folder left beside it
    (tiny.root / "data" / "bad.ttl").unlink()
    assert len(Store.load(tiny, path)) == count


def test_export_writes_every_dump_and_they_parse(tiny: Project, tmp_path: Path) -> None:
    store = Store.load(tiny)
    written = export(store, tmp_path / "dumps")
    assert [p.name for p in written] == [f.dump_file for f in DUMPS]
    expected = {(q.subject, q.predicate, q.object) for q in store.ox}
    for path in written:
        quads = parse_file(path)
        assert {(q.subject, q.predicate, q.object) for q in quads} == expected, path.name
        if path.suffix in (".trig", ".nq", ".jsonld"):
            assert {q.graph_name for q in quads} == {ox.NamedNode(i) for i in store.graph_iris()}


def test_the_dumps_are_written_once_each_plain_and_compressed(tiny: Project) -> None:
    """The downloads' dumps go to files in a folder of the store's own (the service kept
    their bytes: about 1 GB at 1M triples), with their sizes and checksums; the folder goes
    when the store does."""
    import gc
    import gzip
    import hashlib

    store = Store.load(tiny)
    folder = dump_folder(store)
    assert dump_folder(store) == folder and dump_folder(Store.load(tiny)) != folder
    files = write_dumps(store, folder)
    assert [(f.format, f.compressed) for f in files] == [
        (entry.name, compressed) for entry in DUMPS for compressed in (False, True)]
    for file in files:
        body = Path(file.path).read_bytes()
        assert Path(file.path).parent == folder
        assert (file.size, file.sha256) == (len(body), hashlib.sha256(body).hexdigest())
        plain = gzip.decompress(body) if file.compressed else body
        assert plain == dump(store, file.format), file.path  # the same bytes as one dump
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        Path(f.path).name for f in files)  # nothing half-written left beside them
    del store, files
    gc.collect()
    assert not folder.exists()


def test_dump_folders_of_ended_processes_are_removed(tiny: Project) -> None:
    """A service killed before it could remove its dumps' folder leaves it (about 500 MB at
    1M triples): the next folder made removes those whose process has ended, and no other."""
    import shutil
    import subprocess
    import tempfile

    ended = subprocess.Popen(["true"])
    ended.wait()
    running = subprocess.Popen(["sleep", "60"])
    base = Path(tempfile.gettempdir())
    gone = base / f"digistrat-dumps-{ended.pid}-test"
    kept = base / f"digistrat-dumps-{running.pid}-test"
    other = base / "digistrat-dumps-notapid-test"
    try:
        for folder in (gone, kept, other):
            folder.mkdir()
            (folder / "digistrat.nq").write_bytes(b"")
        made = dump_folder(Store.load(tiny))
        assert made.name.startswith(f"digistrat-dumps-{os.getpid()}-")
        assert not gone.exists() and kept.exists() and other.exists()
    finally:
        running.kill()
        running.wait()
        for folder in (gone, kept, other):
            shutil.rmtree(folder, ignore_errors=True)


def test_a_conforming_verdict_is_remembered_per_content(tiny: Project, tmp_path: Path) -> None:
    from kg.validate import validate_data

    cache = tmp_path / "cache"
    first = validate_data(Store.load(tiny), cache_dir=cache)
    assert first is not None and first.conforms
    assert validate_data(Store.load(tiny), cache_dir=cache) is None  # same files: skipped
    data = tiny.root / "data" / "essen.ttl"
    data.write_text(data.read_text().replace('ex:name "Essen" ;', ""))
    changed = validate_data(Store.load(tiny), cache_dir=cache)
    assert changed is not None and not changed.conforms  # changed file: validated anew
    assert validate_data(Store.load(tiny), cache_dir=cache) is not None  # never cached


def test_isolated_validation_gives_the_same_results(tmp_path: Path) -> None:
    from kg.validate import validate_data

    from .conftest import write_project

    project = write_project(tmp_path, data="@prefix ex: <https://example.org/ns#> .\n"
                            "ex:bern a ex:City ; ex:key \"351\" .\n")
    store = Store.load(project)
    here, there = validate_data(store), validate_data(store, isolated=True)
    assert here is not None and there is not None
    assert here.results == there.results and not there.conforms
    assert len(there.results) == 2  # the missing name and the short key


def test_an_edited_store_is_rebuilt_from_the_files(tiny: Project, tmp_path: Path) -> None:
    """A store whose content was changed behind its manifest's back is not served as is."""
    path = tmp_path / "store"
    count = len(Store.load(tiny, path))
    edited = ox.Store(str(path))
    edited.add(ox.Quad(ox.NamedNode("https://evil.example/a"), ox.NamedNode(
        "https://evil.example/p"), ox.Literal("injected"), ox.DefaultGraph()))
    edited.flush()
    del edited
    lines: list[str] = []
    again = Store.load(tiny, path, progress=lines.append)
    assert any("does not hold what its manifest records" in line for line in lines), lines
    assert len(again) == count
    assert not list(again.ox.quads_for_pattern(ox.NamedNode("https://evil.example/a"),
                                               None, None))


def test_a_damaged_store_is_rebuilt(tiny: Project, tmp_path: Path) -> None:
    path = tmp_path / "store"
    count = len(Store.load(tiny, path))
    for file in path.iterdir():
        if file.name != MANIFEST and file.is_file():
            file.write_bytes(b"\x00" * 64)
    lines: list[str] = []
    again = Store.load(tiny, path, progress=lines.append)
    assert not any(line.startswith("Reopened") for line in lines)
    assert len(again) == count


def test_a_store_without_its_manifest_is_rebuilt(tiny: Project, tmp_path: Path) -> None:
    path = tmp_path / "store"
    count = len(Store.load(tiny, path))
    (path / MANIFEST).unlink()
    lines: list[str] = []
    again = Store.load(tiny, path, progress=lines.append)
    assert any("no readable manifest" in line for line in lines)
    assert len(again) == count and (path / MANIFEST).is_file()


def test_a_store_that_cannot_be_written_is_one_clear_error(tiny: Project,
                                                           tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot write the store at"):
        Store.load(tiny, blocked / "store")


# What the summaries' tests work out: picklable (a child is sent what to work out).


def _pids_and_quads(store: Store) -> tuple[int, int, int]:
    return os.getpid(), os.getppid(), len(store.quads())


def _constant(value: object, store: Store) -> object:
    return value


def _needs_k(store: Store) -> tuple[object, int]:
    return store.remember("k", _pids_and_quads), os.getpid()


def _fails(store: Store) -> object:
    return {}["no such thing"]  # type: ignore[index]


def _slow(started: Path, release: Path, store: Store) -> str:
    started.touch()
    deadline = time.monotonic() + 10
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "slow"


def test_a_summary_is_worked_out_once_per_store_in_a_child(tiny: Project) -> None:
    """A summary is worked out once per store, in a child process that the store's zygote
    forks (not this process: no lock its threads hold goes with it, and its reads of the
    store copy none of this process's pages); a summary the child needs is asked of this
    process, or worked out in place and kept here too; a failure there is one clear error
    here."""
    first, second = Store.load(tiny), Store.load(tiny)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(
        first.remember("n", _pids_and_quads))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 4  # once (one child), even together
    pid, parent, quads = results[0]  # type: ignore[misc]
    assert pid != os.getpid() and quads == len(first.quads())
    assert parent != os.getpid()  # forked by the zygote, not by this process
    assert os.getppid() != parent and parent in descendants(os.getpid())
    assert second.remember("n", partial(_constant, -1)) == -1  # another store: its own
    made = first.remember("m", _needs_k)
    assert made[0][0] == made[1] != pid  # "k" worked out in place, in m's child
    assert first.remember("k", partial(_constant, -1)) == made[0]  # and came back with it
    again = first.remember("m2", _needs_k)  # "k" is kept here: the child asks for it
    assert again[0] == made[0] and again[1] != made[1]
    with pytest.raises(StoreError, match=r"'bad' could not be worked out: .*no such thing"):
        first.remember("bad", _fails)


def test_a_store_whose_zygote_died_forks_a_new_one(tiny: Project) -> None:
    """The store's zygote, killed (the kernel's out-of-memory killer takes it before the
    server), is replaced when next needed; summaries go on."""
    from support import alive

    store = Store.load(tiny)
    _, zygote, _ = store.remember("first", _pids_and_quads)  # type: ignore[misc]
    os.kill(zygote, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive(zygote) and time.monotonic() < deadline:
        time.sleep(0.01)
    _, again, _ = store.remember("second", _pids_and_quads)  # type: ignore[misc]
    assert again != zygote and again in descendants(os.getpid())


def test_a_summary_names_nothing_but_data(tiny: Project) -> None:
    """What a summary's child hands back is read with nothing but plain data, the store's
    terms and ``kg``'s dataclasses: a pickle that names a callable (``os.system``, a class
    that is not a dataclass) is refused, one clear error, and nothing is kept."""
    import pathlib

    store = Store.load(tiny)
    plain = ({"n": 1}, [ox.NamedNode("https://x.example/a")],
             StatusCount(None, "", "none", "keiner", 2))
    assert store.remember("data", partial(_constant, plain)) == plain
    for key, value in (("call", os.system), ("path", pathlib.PurePosixPath("/etc"))):
        with pytest.raises(StoreError, match=rf"{key!r} could not be read back: it names "
                                             r"(posix\.system|pathlib\.PurePosixPath)"):
            store.remember(key, partial(_constant, value))
        with pytest.raises(StoreError):  # not kept: tried again, refused again
            store.remember(key, partial(_constant, value))


def _rows(count: int, store: Store) -> list[StatusCount]:
    return [StatusCount(None, str(n), "row", "Zeile", n) for n in range(count)]


def test_a_summary_read_back_is_left_out_of_later_collections(tiny: Project) -> None:
    """A summary is kept for the store's life: its objects are read back with the collector
    paused (a collection while they are made went over each of them: at 1M triples the
    tables read back in 264 ms with it, 82 ms without, holding the event loop) and frozen
    after, so no later collection goes over them; the collector runs again after."""
    import gc

    store = Store.load(tiny)
    rows = store.remember("rows", partial(_rows, 2000))
    assert len(rows) == 2000 and gc.isenabled()
    tracked = {id(obj) for obj in gc.get_objects()}
    assert id(rows) not in tracked and id(rows[0]) not in tracked  # frozen
    assert gc.get_freeze_count() >= 2000


def test_a_summary_being_worked_out_does_not_hold_up_another(tiny: Project,
                                                             tmp_path: Path) -> None:
    """One lock for every summary made a request for one wait behind another's computation
    (the home page's tables took 27 s at 10M triples, the coverage page waited for them)."""
    store = Store.load(tiny)
    started, release = tmp_path / "started", tmp_path / "release"
    thread = threading.Thread(target=lambda: store.remember(
        "tables", partial(_slow, started, release)))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started.exists()
        begun = time.monotonic()
        assert store.remember("coverage", partial(_constant, "quick")) == "quick"
        assert time.monotonic() - begun < 2
    finally:
        release.touch()
        thread.join()
    assert store.remember("tables", partial(_constant, "again")) == "slow"


def test_a_graph_from_quads_holds_each_term_once() -> None:
    """kg.rdfio.graph_from_quads converts a term met again to the same rdflib object, and
    keeps terms that differ apart (another lexical form of the same value, another language,
    a blank node of another label)."""
    from kg.rdfio import graph_from_quads

    a, p = ox.NamedNode("urn:x:a"), ox.NamedNode("urn:x:p")
    integer = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    values = [ox.Literal("1", datatype=integer), ox.Literal("01", datatype=integer),
              ox.Literal("x", language="de"), ox.Literal("x", language="en"),
              ox.BlankNode("b1"), ox.BlankNode("b2"), a]
    graph = graph_from_quads([ox.Quad(a, p, value) for value in values]
                             + [ox.Quad(ox.BlankNode("b1"), p, a)])
    assert len(graph) == len(values) + 1
    subjects = [s for s, _, _ in graph]
    assert len({id(s) for s in subjects if str(s) == "urn:x:a"}) == 1
    assert len({id(p_) for _, p_, _ in graph}) == 1
    assert len({o for _, _, o in graph}) == len(values)


def test_counting_the_quads_reads_none(store: Store) -> None:
    """``len(store)`` is the count made when the store was filled, not a walk over it: in a
    process forked from the one that loaded the store, a walk writes to the store's pages
    (pyoxigraph's reads do), and the kernel copies each for the writer. Measured as the
    pages a forked child no longer shares with this process."""
    import os
    import signal
    import time

    from kg.workers import private_memory_bytes

    assert len(store) == len(store.ox) > 0
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    try:
        time.sleep(0.2)
        before = private_memory_bytes(pid)
        assert len(store) > 0
        grown = private_memory_bytes(pid) - before
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert grown < 2 * 2**20, f"{grown / 2**20:.1f} MB of the child's pages copied"
