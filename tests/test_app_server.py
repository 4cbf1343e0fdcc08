"""The labeling app's server, session and sources (batchbald.app), in-process.

Requests go through Starlette's TestClient, or straight to the ASGI app with
a hand-made scope where a client would normalise the path (``..``).
"""

from __future__ import annotations

import asyncio
import csv
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # Starlette >= 1.x prefers httpx2; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from batchbald.app import _backend  # noqa: E402
from batchbald.app.images import ImageSource, list_images  # noqa: E402
from batchbald.app.server import COOKIE, HEADER, create_app  # noqa: E402
from batchbald.app.session import LabelingSession  # noqa: E402
from batchbald.app.sources import TableSource  # noqa: E402
from batchbald.cli import main  # noqa: E402
from batchbald.cli.label import url_for  # noqa: E402
from batchbald.tables import safe_cell  # noqa: E402

TOKEN = "test-token-0123456789"
FAST = {"model": "logreg-bagging", "n_members": 3, "batch_size": 3}
SECRET = b"TOP-SECRET-CONTENT"


def make_table(path, n=24, seed=0, newline="\r\n"):
    rng = np.random.RandomState(seed)
    lines = ["x1,x2,note,label"]
    for i in range(n):
        c = i % 2
        note = '=HYPERLINK("http://x")' if i % 5 == 0 else f'"a, {i}"'
        lines.append(f"{rng.randn() + 3 * c:.3f},{rng.randn():.3f},{note},")
    data = (newline.join(lines) + newline).encode()
    path.write_bytes(data)
    return data


def _session(source, **kw):
    session = LabelingSession(source, **{**FAST, **kw})
    session.start()
    assert session.wait_ready(30)
    return session


def _table_env(tmp_path):
    path = tmp_path / "data.csv"
    data = make_table(path)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    source = TableSource(path, "label", features="x1,x2")
    session = _session(source, classes=["a", "b"])
    return session, TestClient(create_app(session, TOKEN)), path, data


@pytest.fixture
def table(tmp_path):
    env = _table_env(tmp_path)
    yield env
    env[0].close()


@pytest.fixture(scope="module")
def shared_table(tmp_path_factory):
    """A table session for tests that must not change anything."""
    env = _table_env(tmp_path_factory.mktemp("shared_table"))
    yield env
    env[0].close()


def _png(path, value=0):
    from PIL import Image

    img = Image.fromarray(np.full((8, 8), value, dtype=np.uint8))
    img.save(path)


def _folder(tmp_path, names, step=0):
    """A folder ``imgs`` of small PNGs ``names`` (k-th grey level ``step * k``)."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    for k, name in enumerate(names):
        _png(folder / name, step * k)
    return folder


def _images_env(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for k in range(6):
        _png(folder / f"img{k}.png", 40 * k)
    (folder / "sub").mkdir()
    _png(folder / "sub" / "deep.jpg", 7)
    _png(tmp_path / "outside.png", 255)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    os.symlink(tmp_path / "outside.png", folder / "link_out.png")
    os.symlink(folder / "img0.png", folder / "link_in.png")
    source = ImageSource(folder, tmp_path / "labels.csv", image_size=4)
    session = _session(source, classes=["dark", "light"])
    return session, TestClient(create_app(session, TOKEN)), folder, tmp_path


@pytest.fixture
def images(tmp_path):
    env = _images_env(tmp_path)
    yield env
    env[0].close()


@pytest.fixture(scope="module")
def shared_images(tmp_path_factory):
    env = _images_env(tmp_path_factory.mktemp("shared_images"))
    yield env
    env[0].close()


def _auth():
    return {HEADER: TOKEN}


def _post(client, path, body):
    return client.post(path, json=body, headers=_auth())


def _open_items(client):
    state = client.get("/api/state", headers=_auth()).json()
    return [it["index"] for it in state["batch"] if it["status"] == "open"]


# --------------------------------------------------------------------------
# the token
# --------------------------------------------------------------------------
ROUTES = [
    ("GET", "/"),
    ("GET", "/api/state"),
    ("GET", "/static/app.js"),
    ("GET", "/image/0"),
    ("GET", "/no/such/page"),
    ("POST", "/api/label"),
    ("POST", "/api/skip"),
    ("POST", "/api/undo"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"params": {"token": "wrong"}},
        {"params": {"token": TOKEN[:-1]}},
        {"params": {"token": TOKEN + "x"}},
        {"headers": {HEADER: "wrong"}},
        {"headers": {"Authorization": f"Bearer {TOKEN}"}},
    ],
    ids=["none", "wrong", "prefix", "longer", "wrong-header", "other-header"],
)
def test_every_request_needs_the_token(shared_table, method, path, credentials):
    _, client, data_path, data = shared_table
    response = client.request(
        method, path, json={"item": 0, "label": "a"}, **credentials
    )
    assert response.status_code == 403
    assert data_path.read_bytes() == data


def test_token_in_url_sets_a_cookie_that_only_admits_reads(table):
    session, client, path, data = table
    first = client.get("/", params={"token": TOKEN})
    assert first.status_code == 200
    assert f"{COOKIE}={TOKEN}" in first.headers["set-cookie"]
    assert "HttpOnly" in first.headers["set-cookie"]
    assert "SameSite=Strict" in first.headers["set-cookie"]
    assert client.get("/api/state").status_code == 200  # the cookie
    item = _open_items(client)[0]
    assert (
        client.post("/api/label", json={"item": item, "label": "a"}).status_code == 403
    )
    assert path.read_bytes() == data
    assert _post(client, "/api/label", {"item": item, "label": "a"}).status_code == 200


def test_page_carries_the_token_and_loads_nothing_from_outside(shared_table):
    _, client, _, _ = shared_table
    response = client.get("/", headers=_auth())
    assert response.status_code == 200
    html = response.text
    assert f'content="{TOKEN}"' in html
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    for name in ("app.js", "app.css"):
        text = client.get(f"/static/{name}", headers=_auth()).text
        html += text
        assert "innerHTML" not in text and "outerHTML" not in text
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html and "//cdn" not in html


# --------------------------------------------------------------------------
# no path out of the data
# --------------------------------------------------------------------------
def _raw_get(app, raw_path: bytes):
    """Status and body of a GET whose path reaches the app byte for byte."""
    from urllib.parse import unquote_to_bytes

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote_to_bytes(raw_path).decode("latin-1"),
        "raw_path": raw_path,
        "root_path": "",
        "query_string": f"token={TOKEN}".encode(),
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    out = {"status": None, "body": b""}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return out["status"], out["body"]


TRAVERSALS = [
    b"/static/../server.py",
    b"/static/%2e%2e/server.py",
    b"/static/..%2fserver.py",
    b"/static/%2e%2e%2f_backend.py",
    b"/static/index.html",
    b"/static/../../../secret.txt",
    b"/image/../secret.txt",
    b"/image/..%2f..%2fsecret.txt",
    b"/image/%2e%2e/%2e%2e/secret.txt",
    b"/image/0/../../secret.txt",
    b"/image//etc/passwd",
    b"/image/%2fetc%2fpasswd",
    b"/image/-1",
    b"/image/99",
    b"//etc/passwd",
    b"/%2e%2e/%2e%2e/etc/passwd",
    b"/../secret.txt",
]


@pytest.mark.parametrize("raw", TRAVERSALS)
def test_no_path_reaches_outside_files(shared_images, raw):
    session, _, _, _ = shared_images
    app = create_app(session, TOKEN)
    status, body = _raw_get(app, raw)
    assert status == 404
    assert SECRET not in body and b"root:" not in body


def test_images_are_listed_without_links_out(images):
    session, client, folder, _ = images
    files = list_images(folder)
    assert files == sorted(
        [
            "img0.png",
            "img1.png",
            "img2.png",
            "img3.png",
            "img4.png",
            "img5.png",
            "link_in.png",
            "sub/deep.jpg",
        ]
    )
    k = session.source.files.index("img3.png")
    response = client.get(f"/image/{k}", headers=_auth())
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == (folder / "img3.png").read_bytes()


def test_an_image_swapped_for_a_link_out_is_refused(images):
    session, client, folder, tmp_path = images
    k = session.source.files.index("img2.png")
    (folder / "img2.png").unlink()
    os.symlink(tmp_path / "secret.txt", folder / "img2.png")
    response = client.get(f"/image/{k}", headers=_auth())
    assert response.status_code == 404
    assert SECRET not in response.content


def test_table_mode_serves_no_images(shared_table):
    _, client, _, _ = shared_table
    assert client.get("/image/0", headers=_auth()).status_code == 404


# --------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------
def _lines(path):
    return path.read_bytes().split(b"\r\n")


def test_each_answer_changes_only_its_label_cell(table):
    session, client, path, data = table
    items = _open_items(client)
    reply = _post(client, "/api/label", {"item": items[0], "label": "b"})
    assert reply.status_code == 200 and reply.json()["saved"] is True
    backup = path.with_name("data.csv.bak")
    assert backup.read_bytes() == data
    reply = _post(client, "/api/label", {"item": items[1], "label": "a"})
    assert reply.status_code == 200
    assert not path.with_name("data.csv.bak.1").exists()  # one backup a session
    old, new = data.split(b"\r\n"), _lines(path)
    expected = {items[0] + 1: b"b", items[1] + 1: b"a"}
    assert len(new) == len(old)
    for k, (n, o) in enumerate(zip(new, old, strict=True)):
        assert n == o + expected.get(k, b"")
    assert reply.json()["n_labeled"] == 2
    assert reply.json()["counts"] == {"a": 1, "b": 1}


def test_a_file_changed_on_disk_is_never_overwritten(table):
    session, client, path, data = table
    items = _open_items(client)
    assert (
        _post(client, "/api/label", {"item": items[0], "label": "a"}).status_code == 200
    )
    edited = path.read_bytes().replace(b"x1,x2", b"X1,X2")
    path.write_bytes(edited)
    reply = _post(client, "/api/label", {"item": items[1], "label": "b"})
    assert reply.status_code == 409
    assert "changed on disk" in reply.json()["error"]
    assert path.read_bytes() == edited
    assert _post(client, "/api/undo", {}).status_code == 409
    assert path.read_bytes() == edited
    state = client.get("/api/state", headers=_auth()).json()
    assert [it["status"] for it in state["batch"] if it["index"] == items[1]] == [
        "open"
    ]


def test_undo_restores_the_file(table):
    session, client, path, data = table
    items = _open_items(client)
    _post(client, "/api/label", {"item": items[0], "label": "a"})
    _post(client, "/api/label", {"item": items[0], "label": "b"})  # relabel
    assert _backend_label(path, items[0]) == "b"
    _post(client, "/api/undo", {})
    assert _backend_label(path, items[0]) == "a"
    reply = _post(client, "/api/undo", {})
    assert reply.status_code == 200 and reply.json()["can_undo"] is False
    assert path.read_bytes() == data
    assert _post(client, "/api/undo", {}).status_code == 400


def _backend_label(path, row):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))[row]["label"]


def test_skip_writes_nothing_and_can_be_undone(table):
    session, client, path, data = table
    items = _open_items(client)
    reply = _post(client, "/api/skip", {"item": items[0]})
    assert reply.status_code == 200
    assert path.read_bytes() == data
    assert items[0] not in _open_items(client)
    _post(client, "/api/undo", {})
    assert items[0] in _open_items(client)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"item": 10_000, "label": "a"}, 400),
        ({"item": "0", "label": "a"}, 400),
        ({"item": True, "label": "a"}, 400),
        ({"label": "a"}, 400),
        ({"item": None, "label": " "}, 400),
        ({"item": -1, "label": "a"}, 400),
    ],
)
def test_bad_answers_are_refused(shared_table, body, status):
    _, client, path, data = shared_table
    assert _post(client, "/api/label", body).status_code == status
    assert path.read_bytes() == data


@pytest.mark.parametrize("label", ["", "  ", "a\nb", "x" * 201, 3])
def test_bad_labels_are_refused(shared_table, label):
    _, client, path, data = shared_table
    item = _open_items(client)[0]
    assert (
        _post(client, "/api/label", {"item": item, "label": label}).status_code == 400
    )
    assert path.read_bytes() == data


def test_body_must_be_a_json_object(shared_table):
    _, client, _, _ = shared_table
    r = client.post("/api/label", content=b"not json", headers=_auth())
    assert r.status_code == 400
    assert _post(client, "/api/label", [1, 2]).status_code == 400


# --------------------------------------------------------------------------
# cells a spreadsheet would execute
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["=p.png", "+p.png", "-p.png", "@p.png", "-1", "p=q.png", "'p.png", ""]
)
def test_file_names_round_trip_through_safe_cell(name):
    """What the labels CSV stores (safe_cell) is read back as the name."""
    assert _backend.unneutralise(safe_cell(name)) == name


def test_formula_labels_are_saved_as_text_and_cells_shown_as_typed(table):
    session, client, path, _ = table
    state = client.get("/api/state", headers=_auth()).json()
    cells = [c for it in state["batch"] for c in it["view"]["cells"]]
    notes = {v for col, v in cells if col == "note"}
    assert all(v.startswith("=HYPERLINK") or v.startswith("a, ") for v in notes)
    item = _open_items(client)[0]
    reply = _post(client, "/api/label", {"item": item, "label": "=cmd|' /C calc'!A0"})
    assert reply.status_code == 200
    assert _backend_label(path, item) == "'=cmd|' /C calc'!A0"
    assert "'=cmd|' /C calc'!A0" in reply.json()["classes"]


# --------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------
def _read_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_image_labels_go_to_a_new_csv(images):
    session, client, folder, tmp_path = images
    labels = tmp_path / "labels.csv"
    assert not labels.exists()
    items = _open_items(client)
    files = session.source.files
    _post(client, "/api/label", {"item": items[0], "label": "dark"})
    _post(client, "/api/label", {"item": items[1], "label": "light"})
    assert _read_rows(labels) == [
        ["file", "label"],
        [files[items[0]], "dark"],
        [files[items[1]], "light"],
    ]
    assert not tmp_path.joinpath("labels.csv.bak").exists()
    _post(client, "/api/label", {"item": items[0], "label": "light"})
    _post(client, "/api/undo", {})
    _post(client, "/api/undo", {})
    assert _read_rows(labels) == [
        ["file", "label"],
        [files[items[0]], "dark"],
        [files[items[1]], ""],
    ]


def test_an_existing_labels_csv_keeps_its_rows(tmp_path):
    folder = _folder(tmp_path, ["=p0.png"] + [f"p{k}.png" for k in range(1, 5)], 50)
    labels = tmp_path / "labels.csv"
    original = b"label,file,extra\r\nlight,p4.png,keep me\r\nx,gone.png,\r\n"
    labels.write_bytes(original)
    source = ImageSource(folder, labels, image_size=4)
    assert source.labels[source.files.index("p4.png")] == "light"
    k0 = source.files.index("=p0.png")
    source.set_label(k0, "dark")
    source.set_label(source.files.index("p4.png"), "dark")
    assert labels.read_bytes() == (
        b"label,file,extra\r\ndark,p4.png,keep me\r\nx,gone.png,\r\ndark,'=p0.png,\r\n"
    )
    assert tmp_path.joinpath("labels.csv.bak").read_bytes() == original
    again = ImageSource(folder, labels, image_size=4)
    assert again.labels[k0] == "dark"


@pytest.mark.parametrize("name", ["=q.png", "'=q.png"])
def test_a_labels_csv_names_each_image_once(tmp_path, name):
    """Both a formula-like name and one that starts with a quote are found."""
    folder = _folder(tmp_path, [name])
    labels = tmp_path / "labels.csv"
    ImageSource(folder, labels, image_size=4).set_label(0, "x")
    assert ImageSource(folder, labels, image_size=4).labels == ["x"]


def test_image_features_from_embeddings(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for k in range(4):
        _png(folder / f"p{k}.png")
    emb = np.arange(12, dtype=float).reshape(4, 3) ** 2
    np.save(tmp_path / "emb.npy", emb)
    source = ImageSource(folder, tmp_path / "l.csv", embeddings=tmp_path / "emb.npy")
    expected = (emb - emb.mean(0)) / emb.std(0)
    np.testing.assert_allclose(source.Z, expected)
    np.save(tmp_path / "bad.npy", emb[:3])
    with pytest.raises(ValueError, match=r"expected \(4, D\)"):
        ImageSource(folder, tmp_path / "l.csv", embeddings=tmp_path / "bad.npy")


# --------------------------------------------------------------------------
# the loop
# --------------------------------------------------------------------------
def test_a_finished_batch_brings_a_model_chosen_one(table):
    session, client, path, _ = table
    first = client.get("/api/state", headers=_auth()).json()
    assert first["batch_note"].startswith("cold start")
    for k, it in enumerate(first["batch"]):
        _post(client, "/api/label", {"item": it["index"], "label": "ab"[k % 2]})
    assert session.wait_ready(60)
    state = client.get("/api/state", headers=_auth()).json()
    assert state["batch_number"] == 2 and state["error"] is None
    assert not {it["index"] for it in state["batch"]} & {
        it["index"] for it in first["batch"]
    }
    for it in state["batch"]:
        assert it["gain"] is not None and it["gain"] >= 0
        assert it["predicted"] in ("a", "b") and 0.5 <= it["probability"] <= 1
    # the rows BatchBALD drew once the members were spent say what for
    drawn = [it["drawn_bald"] for it in state["batch"]]
    assert ("drawn in proportion" in state["batch_note"]) == (drawn[-1] is not None)
    assert all(d is None or d >= 0 for d in drawn)
    assert [h["batch"] for h in state["history"]] == [1, 2]
    # An undo of an earlier batch's answer shows that item again.
    _post(client, "/api/undo", {})
    state = client.get("/api/state", headers=_auth()).json()
    assert state["batch"][0]["index"] == first["batch"][-1]["index"]
    assert state["batch"][0]["status"] == "open"
    assert _backend_label(path, first["batch"][-1]["index"]) == ""


@pytest.mark.parametrize("kind", ["table", "images"])
def test_two_sessions_cannot_label_one_file(tmp_path, kind):
    if kind == "table":
        path = tmp_path / "data.csv"
        make_table(path)
        one, two = (TableSource(path, "label", features="x1,x2") for _ in range(2))
    else:
        folder = _folder(tmp_path, ["a.png"])
        path = tmp_path / "labels.csv"
        one, two = (ImageSource(folder, path, image_size=4) for _ in range(2))
    one.lock()
    with pytest.raises(ValueError, match="another program"):
        two.lock()
    one.set_label(0, "a")  # the holder saves (from any thread)
    one.close()
    two.lock()
    two.close()


def test_the_session_lock_does_not_block_its_own_saves(tmp_path):
    """The command takes the lock in the main thread; the server saves from
    its worker threads."""
    import threading

    path = tmp_path / "data.csv"
    make_table(path)
    source = TableSource(path, "label", features="x1,x2")
    source.lock()
    worker = threading.Thread(target=source.set_label, args=(0, "a"))
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
    source.close()
    assert _backend_label(path, 0) == "a"


@pytest.mark.parametrize("source", ["table", "images"])
@pytest.mark.parametrize("kind", ["read-only", "hard link"])
def test_unsafe_files_are_refused(tmp_path, source, kind):
    path = tmp_path / "data.csv"
    if source == "table":
        make_table(path)
    else:
        path.write_bytes(b"file,label\na.png,x\n")
    if kind == "read-only":
        path.chmod(0o444)
    else:
        os.link(path, tmp_path / "other.csv")
    with pytest.raises(ValueError, match=kind):
        if source == "table":
            TableSource(path, "label", features="x1,x2")
        else:
            ImageSource(_folder(tmp_path, ["a.png"]), path, image_size=4)


def test_a_symlinked_table_is_written_through(tmp_path):
    real = tmp_path / "real.csv"
    make_table(real)
    link = tmp_path / "link.csv"
    os.symlink(real, link)
    source = TableSource(link, "label", features="x1,x2")
    source.set_label(1, "b")
    assert link.is_symlink() and _backend_label(real, 1) == "b"


def test_image_labels_keep_their_mode_and_back_up_once(tmp_path):
    folder = _folder(tmp_path, ["p0.png", "p1.png", "p2.png"], 60)
    labels = tmp_path / "labels.csv"
    original = b"file,label\np0.png,\n"
    labels.write_bytes(original)
    labels.chmod(0o600)
    source = ImageSource(folder, labels, image_size=4)
    source.set_label(0, "x")
    source.set_label(1, "y")
    assert labels.stat().st_mode & 0o777 == 0o600
    assert source.file.backup == tmp_path / "labels.csv.bak"
    assert source.file.backup.read_bytes() == original
    assert not tmp_path.joinpath("labels.csv.bak.1").exists()


def test_image_labels_changed_on_disk_are_kept(tmp_path):
    from batchbald.tables import LabelFileChanged

    folder = _folder(tmp_path, ["p0.png"])
    labels = tmp_path / "labels.csv"
    source = ImageSource(folder, labels, image_size=4)
    labels.write_bytes(b"file,label\np0.png,theirs\n")
    with pytest.raises(LabelFileChanged, match="changed on disk"):
        source.set_label(0, "ours")
    assert labels.read_bytes() == b"file,label\np0.png,theirs\n"


def test_a_full_disk_is_one_line_for_images(tmp_path, monkeypatch):
    import errno

    folder = _folder(tmp_path, ["p0.png"])
    labels = tmp_path / "labels.csv"
    source = ImageSource(folder, labels, image_size=4)

    def no_space(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(ValueError, match="no space left"):
        source.set_label(0, "a")
    assert not labels.exists() and source.labels == [""]


# --------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------
def test_help(capsys):
    assert main(["label", "--help"]) == 0
    out = capsys.readouterr().out
    for text in ("--label-column", "--labels", "--embeddings", "token", "--host"):
        assert text in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["data.csv"], "needs --label-column"),
        (["data.csv", "-y", "label", "--labels", "l.csv"], "for image folders"),
        (["imgs"], "needs --labels"),
        (["imgs", "--labels", "l.csv", "-y", "label"], "for tables"),
        (["data.csv", "-y", "nope"], "no column 'nope'"),
        (["data.csv", "-y", "label", "--seed", "-1"], "--seed"),
        (["data.csv", "-y", "label", "--port", "70000"], "--port"),
    ],
)
def test_user_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    make_table(tmp_path / "data.csv")
    (tmp_path / "imgs").mkdir()
    _png(tmp_path / "imgs" / "a.png")
    assert main(["label", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/?token=T"),
        ("0.0.0.0", "http://127.0.0.1:8000/?token=T"),
        ("::1", "http://[::1]:8000/?token=T"),
        ("192.168.1.5", "http://192.168.1.5:8000/?token=T"),
    ],
)
def test_url(host, url):
    assert url_for(host, 8000, "T") == url


def test_static_files_ship_with_the_package():
    from importlib import resources

    static = resources.files("batchbald.app").joinpath("static")
    for name in ("index.html", "app.js", "app.css"):
        assert static.joinpath(name).is_file()
    assert (
        Path(__file__)
        .parents[1]
        .joinpath("pyproject.toml")
        .read_text()
        .count('"batchbald.app" = ["static/*.html", "static/*.js", "static/*.css"]')
        == 1
    )


def test_the_page_stays_usable_while_the_worker_runs(table, monkeypatch):
    """With the model fit held up, the state shows the worker's stage and
    undo works; the result of the stale labels is thrown away."""
    import threading

    session, client, path, data = table
    release, calls = threading.Event(), []
    real = _backend.member_probas

    def held(*args, **kw):
        calls.append(args[3].shape[0])  # candidates
        assert release.wait(30)
        return real(*args, **kw)

    monkeypatch.setattr(_backend, "member_probas", held)
    first = client.get("/api/state", headers=_auth()).json()["batch"]
    for k, it in enumerate(first):
        _post(client, "/api/label", {"item": it["index"], "label": "ab"[k % 2]})
    state = client.get("/api/state", headers=_auth()).json()
    assert state["worker"] is not None and "fitting" in state["worker"]["stage"]
    assert state["batch_number"] == 1
    reply = _post(client, "/api/undo", {})  # review and undo meanwhile
    assert reply.status_code == 200
    assert [it["status"] for it in reply.json()["batch"]][-1] == "open"
    last = first[-1]["index"]
    _post(client, "/api/label", {"item": last, "label": "b"})
    release.set()
    assert session.wait_ready(60)
    state = client.get("/api/state", headers=_auth()).json()
    assert state["batch_number"] == 2
    assert _backend_label(path, last) == "b"
    # Two fits over the candidates: the stale one (thrown away) and the new one.
    assert calls.count(session.source.n_items - len(first)) == 2


@pytest.mark.parametrize(("rgb", "width"), [(False, 4 * 4), (True, 4 * 4 * 3)])
def test_pixel_features(tmp_path, rgb, width):
    from batchbald.app.images import pixel_features

    for k, value in enumerate((0, 51, 255)):
        _png(tmp_path / f"p{k}.png", value)
    X = pixel_features(tmp_path, ["p0.png", "p1.png", "p2.png"], 4, rgb)
    assert X.shape == (3, width)
    np.testing.assert_allclose(X, np.repeat([[0.0], [0.2], [1.0]], width, axis=1))


def test_unreadable_image_is_named(tmp_path):
    from batchbald.app.images import pixel_features

    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="bad.png"):
        pixel_features(tmp_path, ["bad.png"])


@pytest.mark.parametrize(
    ("y", "expected_none"),
    [([0, 0, 0, 0], True), ([0, 0, 0, 1], True), ([0, 0, 1, 1, 0, 1], False)],
)
def test_cross_val_accuracy_needs_two_labels_per_class(y, expected_none):
    rng = np.random.RandomState(0)
    y = np.asarray(y)
    Z = rng.randn(len(y), 2) + 4 * y[:, None]
    acc = _backend.cross_val_accuracy("logreg-bagging", Z, y, 2, 3, 0)
    assert (acc is None) == expected_none
    if not expected_none:
        assert acc == 1.0  # classes 4 standard deviations apart


@pytest.mark.parametrize(
    ("model", "n_items", "expected", "note"),
    [
        (None, 40, "gp-bagging", None),
        (None, 5000, "logreg-bagging", "using logreg-bagging instead"),
        ("rf", 5000, "rf", None),
    ],
)
def test_the_model_is_checked_at_start(tmp_path, model, n_items, expected, note):
    path = tmp_path / "big.csv"
    rng = np.random.RandomState(0)
    rows = [
        f"{v:.3f},{'ab'[k % 2] if k < 4 else ''}"
        for k, v in enumerate(rng.randn(n_items))
    ]
    path.write_text("x,label\n" + "\n".join(rows) + "\n")
    heard = []
    session = LabelingSession(
        TableSource(path, "label"), model=model, n_members=3, notify=heard.append
    )
    assert session.model == expected
    assert (note is None) == (not heard)
    if note is not None:
        assert note in heard[0]


def test_a_model_over_the_memory_budget_is_refused(tmp_path, monkeypatch):
    from batchbald import models

    monkeypatch.setattr(models, "default_max_memory", lambda: 2**20)
    path = tmp_path / "data.csv"
    make_table(path, n=400)
    with pytest.raises(ValueError, match="would need about"):
        LabelingSession(
            TableSource(path, "label", features="x1,x2"), model="gp-bagging"
        )


def test_unknown_model_and_method_are_named():
    Z = np.zeros((2, 1))
    with pytest.raises(ValueError, match="--model must be one of"):
        _backend.member_probas("svm", Z, np.array([0, 1]), Z, 2, 2, 0)
    with pytest.raises(ValueError, match="--method must be one of"):
        _backend.choose(np.full((2, 2, 2), 0.5), "best", 1, 0)


def _forest_votes(K=5, N=60, C=3, seed=0):
    """Near one-hot members (a forest's trees): spent after a few picks."""
    rng = np.random.RandomState(seed)
    votes_K_N = rng.randint(0, C, size=(K, N))
    soft = rng.dirichlet(np.ones(C), size=(K, N))
    return 0.95 * np.eye(C)[votes_K_N] + 0.05 * soft


@pytest.mark.parametrize(
    "method, member_votes, drawn",
    [
        ("batchbald", True, True),
        ("batchbald", False, True),
        ("bald", True, False),  # votes are BatchBALD's remedy only
    ],
)
def test_choose_scores_votes_and_reports_drawn_picks(method, member_votes, drawn):
    from batchbald.information import bald_scores
    from batchbald.information import member_votes as votes_of
    from batchbald.registry import select_from_probabilities

    probs = _forest_votes()
    idx, gains, drawn_bald = _backend.choose(
        probs, method, 12, 3, member_votes=member_votes
    )
    votes = member_votes and method == "batchbald"
    expected = select_from_probabilities(
        probs, method, 12, random_state=3, member_votes=votes
    )
    np.testing.assert_array_equal(idx, expected.indices)
    np.testing.assert_allclose(gains, expected.gains)
    if not drawn:
        assert drawn_bald is None
        return
    start = expected.saturated_at
    assert start is not None and start < 12  # 5 members are spent early
    scored = votes_of(probs[:, idx]) if votes else probs[:, idx]
    assert np.isnan(drawn_bald[:start]).all()
    np.testing.assert_allclose(drawn_bald[start:], bald_scores(scored)[start:])


def test_a_fully_labeled_table_is_finished(tmp_path):
    path = tmp_path / "done.csv"
    path.write_bytes(b"x,label\n1,a\n2,b\n3,a\n")
    session = _session(TableSource(path, "label"))
    state = session.state()
    assert state["finished"] is True and state["batch"] == []
    assert state["counts"] == {"a": 2, "b": 1}
    session.close()


@pytest.mark.slow
def test_other_hosts_still_need_the_token(tmp_path):
    """The real command on 0.0.0.0: 403 without the token, 200 with it."""
    import signal
    import subprocess
    import sys

    import httpx

    make_table(tmp_path / "data.csv")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "batchbald.cli",
            "label",
            "data.csv",
            "-y",
            "label",
            "--host",
            "0.0.0.0",
            "--model",
            "logreg-bagging",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        base, token = url.split("/?token=")
        assert httpx.get(base + "/api/state").status_code == 403
        assert httpx.get(base + "/api/state", params={"token": "x"}).status_code == 403
        assert (
            httpx.get(base + "/api/state", params={"token": token}).status_code == 200
        )
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "anyone who can reach it still needs the token" in err
    assert "0 answer(s) saved" in err


@pytest.mark.parametrize(
    "model",
    ["rf", "logreg-bagging", pytest.param("mc-dropout", marks=pytest.mark.slow)],
)
def test_member_probas_of_each_kind(model):
    if model == "mc-dropout":
        pytest.importorskip("torch")
    rng = np.random.RandomState(0)
    y = np.array([0, 1, 2] * 4)
    Z = rng.randn(12, 3) + 3 * y[:, None]
    probs = _backend.member_probas(model, Z, y, Z[:5], 4, 3, 0)
    assert probs.shape == (3, 5, 4)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-6)
    assert np.all(probs[..., 3] <= 1e-6)  # class 3 has no labels


def test_skipping_a_whole_batch_brings_the_next(table):
    session, client, path, data = table
    first = [
        it["index"] for it in client.get("/api/state", headers=_auth()).json()["batch"]
    ]
    for index in first:
        assert _post(client, "/api/skip", {"item": index}).status_code == 200
    assert session.wait_ready(30)
    state = client.get("/api/state", headers=_auth()).json()
    assert state["batch_number"] == 2
    assert not set(first) & {it["index"] for it in state["batch"]}
    assert path.read_bytes() == data
