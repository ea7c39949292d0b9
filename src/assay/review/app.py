"""The review web app: a Starlette application over one workspace.

The workspace is open only while requests use it: a request opens it (waiting up to ``wait``
seconds while another process has it) and the server lets it go ``linger`` seconds (1) after
the last one, so ``assay`` commands run between a person's answers; a query asked of the
person runs in a background thread with a workspace that does not hold the file
(:mod:`assay.review.jobs`). Safe by default:

* every ``/api/`` request carries the session's token (``X-Assay-Token``; the page has it,
  another site cannot read it), and only the hosts the server was started for are served
  (no DNS rebinding);
* images are served only from under the images folder (no ``..``, absolute names or
  symbolic links out), and only files with an image extension;
* the page escapes every string from data (it inserts text as text; drawings are built by
  :mod:`assay.report.draw`, which escapes), and a Content-Security-Policy allows no inline
  script.
"""

from __future__ import annotations

import secrets
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..exceptions import AssayError, InvalidParameterError, UnsafePathError
from .jobs import QUERY_VERBS, QueryJob
from .queues import QUEUES, AlreadyAnswered, answered_keys, reviewed_frames, write_answer

__all__ = ["ReviewServer", "create_app"]

HERE = Path(__file__).resolve().parent
#: Seconds the server keeps the workspace open after a request (the next one, as the next item
#: after an answer, then finds it open); other processes wait for it (``assay`` commands wait
#: up to 10 s).
LINGER = 1.0
#: Seconds a tab keeps the item it shows to itself (another tab is shown the next one).
CLAIM_SECONDS = 300.0
#: Host names a server bound to the loopback interface answers to.
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
#: Header carrying the session token.
TOKEN_HEADER = "x-assay-token"
_SECURITY_HEADERS = {
    "content-security-policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'"),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


class ReviewServer:
    """What a review server knows: the workspace, the images, its token, which tab shows
    which item, and the query being asked.

    Parameters
    ----------
    path : str or Path
        The workspace file (it must exist).
    images : str or Path, optional
        Folder of the frames' images (see :class:`~assay.io.FrameImages`).
    image_layout : str, default "auto"
    boxes : str, optional
        Observations table drawn on the frames of query records.
    token : str, optional
        The session token (default: a new random one).
    wait : float, default 10
        Seconds each request waits for the workspace while another process has it.
    linger : float, default 1
        Seconds the workspace stays open after a request, for the next one; then it is let
        go, so other processes can open it.
    """

    def __init__(self, path: str | Path, *, images: str | Path | None = None, image_layout: str = "auto",
                 boxes: str | None = None, token: str | None = None, wait: float = 10.0,
                 linger: float = LINGER) -> None:
        from ..io import FrameImages

        self.path = Path(path).expanduser().absolute()
        if not self.path.is_file():
            raise InvalidParameterError(f"{self.path}: no such workspace file.")
        self.images = None if images is None else FrameImages(images, image_layout)
        self.boxes = boxes
        self.token = token or secrets.token_urlsafe(32)
        self.wait = wait
        self.linger = float(linger)
        self.job: QueryJob | None = None
        self._lock = threading.Lock()  # caches, claims, the job
        self._write = threading.Lock()  # one answer at a time
        self._pool = threading.Lock()  # the open workspace
        self._ws: Any = None
        self._users = 0
        self._last = 0.0
        self._closer: threading.Timer | None = None
        self._cache: dict[str, tuple[tuple, Any]] = {}
        self._making: dict[str, threading.Lock] = {}
        self._indexes: dict[str, tuple[Any, dict[str, int]]] = {}
        self._claims: dict[str, tuple[str, float]] = {}
        self._drawn: dict[tuple, str | None] = {}

    @contextmanager
    def workspace(self) -> Any:
        """The workspace, open for a request: opened if it is not, let go once no request has
        used it for ``linger`` seconds (so a request that follows another, as the next item
        follows an answer, does not open the file again)."""
        from ..store import Workspace

        with self._pool:
            if self._ws is None:
                self._ws = Workspace(self.path, wait=self.wait)
            ws = self._ws
            self._users += 1
        try:
            yield ws
        finally:
            with self._pool:
                self._users -= 1
                self._last = time.monotonic()
                if self._users == 0 and self._closer is None:
                    self._schedule(self.linger)

    def _schedule(self, seconds: float) -> None:
        self._closer = threading.Timer(max(seconds, 0.0), self._let_go)
        self._closer.daemon = True
        self._closer.start()

    def _let_go(self) -> None:
        with self._pool:
            self._closer = None
            if self._users:
                return  # the last user to leave schedules it again
            idle = time.monotonic() - self._last
            if idle < self.linger:
                self._schedule(self.linger - idle)
                return
            ws, self._ws = self._ws, None
        if ws is not None:
            ws.close()

    # ------------------------------------------------------------------ caches

    def _cached(self, name: str, signature: tuple, make: Any) -> Any:
        with self._lock:
            hit = self._cache.get(name)
            making = self._making.setdefault(name, threading.Lock())
        if hit is not None and hit[0] == signature:
            return hit[1]
        with making:  # made once, however many requests ask at the same time
            with self._lock:
                hit = self._cache.get(name)
            if hit is not None and hit[0] == signature:
                return hit[1]
            value = make()
            with self._lock:
                self._cache[name] = (signature, value)
        return value

    def _index(self, kind: str, cands: Any) -> dict[str, int]:
        """Position of each key in ``cands`` (kept while ``cands`` is the candidate list)."""
        with self._lock:
            hit = self._indexes.get(kind)
        if hit is not None and hit[0] is cands:
            return hit[1]
        index = {k: i for i, k in enumerate(cands["key"])}
        with self._lock:
            self._indexes[kind] = (cands, index)
        return index

    def warm(self) -> None:
        """Read the queues once (what the first request would otherwise wait for)."""
        try:
            with self.workspace() as ws:
                for kind in QUEUES:
                    self._left(ws, kind, {})
        except AssayError:
            pass  # the first request says what is wrong

    def candidates(self, ws: Any, kind: str) -> Any:
        queue = QUEUES[kind]
        return self._cached(f"candidates:{kind}", queue.signature(ws), lambda: queue.candidates(ws))

    def answered(self, ws: Any, kind: str) -> set[str]:
        from .queues import ANSWERS_TABLE, table_state

        done = self._cached("answered", table_state(ws, [ANSWERS_TABLE]), lambda: answered_keys(ws))
        if kind == "curation":  # frames reviewed anywhere (assay curate import too)
            frames = self._cached("frames", (time.monotonic() // 2,), lambda: reviewed_frames(ws))
            return done | {f"frames:{f}" for f in frames}
        return done

    def _left(self, ws: Any, kind: str, filters: dict[str, str]) -> tuple[Any, Any]:
        """The candidates and the rows of them left to answer under ``filters``, in review
        order (cached per filter; answers given since are taken out)."""
        import numpy as np

        queue = _queue(kind)
        cands = self.candidates(ws, kind)
        if not len(cands):
            return cands, np.zeros(0, dtype=np.int64)
        filters = {**queue.default_filters(cands), **filters}
        done = self.answered(ws, kind)
        name = f"left:{kind}:{sorted(filters.items())}"
        with self._lock:
            hit = self._cache.get(name)
        if hit is not None and hit[0][0] is cands and hit[0][1] <= done:
            rows = hit[1]
            new = done - hit[0][1]
            if new:  # answered since: drop their rows
                index = self._index(kind, cands)
                gone = np.array(sorted(index[k] for k in new if k in index), dtype=np.int64)
                rows = np.setdiff1d(rows, gone, assume_unique=True) if len(gone) else rows
                if kind == "curation":  # and frames reviewed elsewhere
                    ids = cands["frame_id"].to_numpy()[rows]
                    rows = rows[np.array([f"frames:{f}" not in done for f in ids], dtype=bool)]
        else:
            keep = queue.mask(cands, filters) & ~cands["key"].isin(done).to_numpy()
            if kind == "curation":
                keep &= ~("frames:" + cands["frame_id"]).isin(done).to_numpy()
            rows = np.flatnonzero(keep)
        with self._lock:
            self._cache[name] = ((cands, frozenset(done)), rows)
        return cands, rows

    # ------------------------------------------------------------------ the queues

    def _claimed_elsewhere(self, tab: str) -> set[str]:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, (_, until) in self._claims.items() if until < now]:
                del self._claims[key]
            return {k for k, (t, _) in self._claims.items() if t != tab}

    def _claim(self, key: str | None, tab: str) -> None:
        with self._lock:
            for k in [k for k, (t, _) in self._claims.items() if t == tab]:
                del self._claims[k]
            if key is not None:
                self._claims[key] = (tab, time.monotonic() + CLAIM_SECONDS)

    def options(self, kind: str) -> dict[str, Any]:
        queue = _queue(kind)
        with self.workspace() as ws:
            cands, left = self._left(ws, kind, {})
            if len(cands):  # left to answer in the whole queue, whatever the filters
                _, left = self._left(ws, kind, {f: "all" for f in queue.filters})
        return {"kind": kind, "filters": list(queue.filters), "options": queue.options(cands),
                "defaults": queue.default_filters(cands), "total": int(len(cands)), "left": int(len(left))}

    def item(self, kind: str, filters: dict[str, str], offset: int, tab: str) -> dict[str, Any]:
        """The item at ``offset`` among those left to answer (filtered, in review order,
        without those other tabs show), drawn; claimed for ``tab``."""
        import numpy as np

        queue = _queue(kind)
        with self.workspace() as ws:
            cands, rows = self._left(ws, kind, filters)
            left = len(rows)
            claimed = self._claimed_elsewhere(tab)
            if claimed and left:
                index = self._index(kind, cands)
                taken = np.array([index[k] for k in claimed if k in index], dtype=np.int64)
                rows = rows[~np.isin(rows, taken)] if len(taken) else rows
            if not len(rows):
                self._claim(None, tab)
                return {"item": None, "left": int(left), "position": 0}
            offset = min(max(int(offset), 0), len(rows) - 1)
            row = cands.iloc[int(rows[offset])].to_dict()
            item = queue.item(row)
            self._claim(item.key, tab)
            window = queue.window(ws, item)
            view = queue.view(item, window)
            view["frames"] = queue.draw(item, window, self.image_url)
        return {"item": view, "left": int(left), "position": offset, "shown": int(len(rows))}

    def answer(self, kind: str, key: str, answer: dict[str, Any], tab: str) -> dict[str, Any]:
        """Store a person's answer to the item ``key`` (one transaction)."""
        queue = _queue(kind)
        with self._write, self.workspace() as ws:
            cands = self.candidates(ws, kind)
            index = self._index(kind, cands)
            if key not in index:
                raise InvalidParameterError(f"no item {key!r} of kind {kind!r} in this workspace.")
            item = queue.item(cands.iloc[index[key]].to_dict())
            counts = write_answer(ws, queue, item, answer)
        self._claim(None, tab)
        return {"saved": True, "key": key, **counts}

    # ------------------------------------------------------------------ images

    def image_url(self, stream: str, frame: int, rows: Any) -> str | None:
        """The URL of a frame's image (None without one: the drawing is a blank canvas)."""
        if self.images is None:
            return None
        name = None
        if "file_name" in getattr(rows, "columns", ()) and len(rows):
            name = rows["file_name"].iloc[0]
            name = None if name is None or name != name else str(name)
        found = self.images.path(stream, int(frame), file_name=name)
        if found is None:
            return None
        rel = found.relative_to(self.images.root).as_posix()
        return "/images/" + quote(rel)

    def image_file(self, rel: str) -> Path:
        """The image at ``rel`` under the images folder; :class:`FileNotFoundError` when there
        is none, :class:`~assay.exceptions.UnsafePathError` when the name leads outside."""
        from ..io import FrameImages, check_inside

        if self.images is None or not rel or "\x00" in rel or rel.startswith(("/", "\\")) or ":" in rel:
            raise FileNotFoundError(rel)
        root = self.images.root
        path = root / rel
        check_inside(path, root)  # '..', or a symbolic link out: UnsafePathError
        if not path.is_file() or FrameImages.media_type(path) == "application/octet-stream":
            raise FileNotFoundError(rel)
        return path

    # ------------------------------------------------------------------ queries

    def start_query(self, verb: str, params: dict[str, Any], boxes: str | None = None) -> QueryJob:
        with self._lock:
            if self.job is not None and self.job.running:
                raise InvalidParameterError(
                    "a query is being asked already: stop it (or let it finish) before starting another.")
            job = QueryJob(self.path, verb, params, boxes=boxes or self.boxes, wait=self.wait)
            self.job = job
        return job.start()

    def query_state(self) -> dict[str, Any]:
        job = self.job
        if job is None:
            return {"job": None}
        out = {"job": job.describe(), "batch": None}
        batch = job.board.current()
        if batch is not None and job.running:
            records = []
            cols = [c for c in batch.rows.columns]
            rows = [batch.rows.iloc[p] for p in batch.open]
            drawings = self._record_drawings(rows, job.boxes)
            for p, row, svg in zip(batch.open, rows, drawings, strict=True):
                records.append({"position": p, "id": _jsonable(row["id"]),
                                "fields": {c: _jsonable(row[c]) for c in cols if c != "id"},
                                "frame": svg})
            out["batch"] = {"number": batch.number, "question": batch.question,
                            "yes_no": batch.oracle.yes_no,
                            "range": None if batch.oracle.range is None else list(batch.oracle.range),
                            "size": len(batch.rows), "records": records}
        return out

    def _record_drawings(self, rows: list[Any], table: str | None) -> list[str | None]:
        """Records that are frames (``stream``, ``frame``) drawn with the boxes of ``table``;
        the workspace is opened only for frames not drawn before (the page asks for the
        batch every second: asking must not keep the file from other processes)."""
        keys: list[tuple | None] = []
        for row in rows:
            try:
                keys.append((table, str(row["stream"]), int(row["frame"])) if table is not None else None)
            except (KeyError, TypeError, ValueError):
                keys.append(None)
        with self._lock:
            missing = [k for k in keys if k is not None and k not in self._drawn]
        if missing:
            with self.workspace() as ws:
                for key in missing:
                    self._draw_record(ws, *key)
        with self._lock:
            return [None if k is None else self._drawn.get(k) for k in keys]

    def _draw_record(self, ws: Any, table: str, stream: str, frame: int) -> None:
        from ..report.draw import frame_size, frame_svg

        key = (table, stream, frame)
        if table not in ws:
            with self._lock:
                self._drawn[key] = None
            return
        window = ws.read(table, stream=stream, frames=(frame - 1, frame + 1))
        frames = window["frame"].to_numpy()
        here = window[frames == frame]
        svg = frame_svg(here, size=frame_size(window, window.attrs.get("image_sizes"), stream),
                        context=window[frames != frame], image_href=self.image_url(stream, frame, here),
                        caption=f"{stream} frame {frame}", width=480)
        with self._lock:
            if len(self._drawn) > 256:
                self._drawn.clear()
            self._drawn[key] = svg

    def table_names(self) -> dict[str, list[str]]:
        """Records and observations tables of the workspace (for the query form; read again
        at most every few seconds)."""
        def read() -> dict[str, list[str]]:
            with self.workspace() as ws:
                t = ws.tables()
            return {kind: t.loc[t["kind"] == kind, "name"].astype(str).tolist()
                    for kind in ("records", "observations")}

        return self._cached("table-names", (time.monotonic() // 5,), read)

    def shutdown(self) -> None:
        """Stop asking (the query thread ends; its run is recorded as cancelled) and let the
        workspace go."""
        job = self.job
        if job is not None and job.running:
            job.cancel("the review server stopped")
            job.join(timeout=10)
        with self._pool:
            if self._closer is not None:
                self._closer.cancel()
                self._closer = None
            ws, self._ws = self._ws, None
        if ws is not None:
            ws.close()


def _queue(kind: str) -> Any:
    if kind not in QUEUES:
        raise InvalidParameterError(f"kind must be one of {', '.join(QUEUES)}; got {kind!r}.")
    return QUEUES[kind]


def _jsonable(v: Any) -> Any:
    import math

    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (bool, int, float, str)):
        return v
    try:
        import pandas as pd

        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def create_app(server: ReviewServer, *, hosts: list[str] | None = None) -> Any:
    """The Starlette application serving ``server``.

    Parameters
    ----------
    server : ReviewServer
    hosts : list of str, optional
        Host names the app answers to (the ``Host`` header); default the loopback names.
        ``["*"]`` answers any (a server bound to a public address).
    """
    try:
        import jinja2
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.middleware import Middleware
        from starlette.middleware.trustedhost import TrustedHostMiddleware
        from starlette.requests import Request
        from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
        from starlette.routing import Route
    except ImportError as exc:
        from ..exceptions import MissingDependencyError

        raise MissingDependencyError(
            f"assay review needs the 'review' extra ({exc.name} is missing): "
            "pip install 'assay[review]'") from None

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    page = env.get_template("review.html")
    static = {name: (HERE / "static" / name).read_bytes() for name in ("review.js", "review.css")}

    def secured(response: Response) -> Response:
        response.headers.update(_SECURITY_HEADERS)
        return response

    def error(status: int, message: str) -> Response:
        return secured(JSONResponse({"error": message}, status_code=status))

    def checked(request: Request) -> Response | None:
        got = request.headers.get(TOKEN_HEADER, "")
        if not secrets.compare_digest(got.encode(), server.token.encode()):
            return error(403, "missing or wrong session token: reload the page")
        return None

    def api(fn: Any, *, body: bool = False) -> Any:
        async def endpoint(request: Request) -> Response:
            refused = checked(request)
            if refused is not None:
                return refused
            data: dict[str, Any] = {}
            if body:
                if "application/json" not in request.headers.get("content-type", ""):
                    return error(415, "send JSON (Content-Type: application/json)")
                try:
                    data = await request.json()
                except ValueError:
                    return error(400, "the body is not valid JSON")
                if not isinstance(data, dict):
                    return error(400, "the body must be a JSON object")
            try:
                out = await run_in_threadpool(fn, request, data)
            except AlreadyAnswered as exc:
                return error(409, str(exc))
            except AssayError as exc:
                return error(400, str(exc))
            return secured(JSONResponse(out))

        return endpoint

    async def index(request: Request) -> Response:
        html = page.render(token=server.token, workspace=server.path.name,
                           images=server.images is not None, kinds=list(QUEUES))
        return secured(HTMLResponse(html))

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in static:
            return error(404, "no such file")
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return secured(Response(static[name], media_type=f"{kind}; charset=utf-8"))

    async def image(request: Request) -> Response:
        try:
            path = server.image_file(request.path_params["path"])
        except UnsafePathError:
            return error(403, "outside the images folder")
        except (FileNotFoundError, OSError):
            return error(404, "no such image")
        from ..io import FrameImages

        response = FileResponse(path, media_type=FrameImages.media_type(path))
        return secured(response)

    def tab_of(request: Request, data: dict[str, Any]) -> str:
        return str(data.get("tab") or request.query_params.get("tab") or "-")[:64]

    def get_options(request: Request, data: dict[str, Any]) -> Any:
        return server.options(request.query_params.get("kind", "findings"))

    def get_item(request: Request, data: dict[str, Any]) -> Any:
        q = request.query_params
        kind = q.get("kind", "findings")
        filters = {k: q[k] for k in _queue(kind).filters if k in q}
        try:
            offset = int(q.get("offset", "0"))
        except ValueError:
            raise InvalidParameterError(f"offset must be an integer; got {q.get('offset')!r}.") from None
        return server.item(kind, filters, offset, tab_of(request, data))

    def post_answer(request: Request, data: dict[str, Any]) -> Any:
        for k in ("kind", "key", "answer"):
            if k not in data:
                raise InvalidParameterError(f"an answer needs {k!r}.")
        if not isinstance(data["answer"], dict):
            raise InvalidParameterError("'answer' must be an object.")
        return server.answer(str(data["kind"]), str(data["key"]), data["answer"], tab_of(request, data))

    def get_query(request: Request, data: dict[str, Any]) -> Any:
        state = server.query_state()
        asking = server.job is not None and server.job.running
        return {**state, "tables": None if asking else server.table_names()}

    def post_query(request: Request, data: dict[str, Any]) -> Any:
        verb = data.get("verb")
        if verb not in QUERY_VERBS:
            raise InvalidParameterError(f"verb must be one of {', '.join(QUERY_VERBS)}; got {verb!r}.")
        params = data.get("params")
        if not isinstance(params, dict):
            raise InvalidParameterError("'params' must be an object.")
        with server.workspace() as ws:
            if verb != "sql" and (not isinstance(params.get("records"), str) or params["records"] not in ws):
                raise InvalidParameterError(
                    f"records must be a table of the workspace; got {params.get('records')!r}.")
        boxes = data.get("boxes") or None
        job = server.start_query(verb, params, boxes=None if boxes is None else str(boxes))
        return {"started": True, "job": job.describe()}

    def post_query_answer(request: Request, data: dict[str, Any]) -> Any:
        job = server.job
        if job is None:
            raise InvalidParameterError("no query is being asked.")
        try:
            number, position = int(data["batch"]), int(data["position"])
        except (KeyError, TypeError, ValueError):
            raise InvalidParameterError("an answer to a query needs 'batch' and 'position' (integers).") from None
        got = job.board.answer(number, position, data.get("value"))
        if not got["saved"]:
            raise AlreadyAnswered(got["reason"])
        return got

    def post_query_stop(request: Request, data: dict[str, Any]) -> Any:
        job = server.job
        if job is None or not job.running:
            raise InvalidParameterError("no query is being asked.")
        if data.get("cancel") or not job.anytime:
            job.cancel()
        else:
            job.stop()
        return {"job": job.describe()}

    @asynccontextmanager
    async def lifespan(app: Any) -> Any:
        yield
        await run_in_threadpool(server.shutdown)

    routes = [
        Route("/", index),
        Route("/static/{name}", asset),
        Route("/images/{path:path}", image),
        Route("/api/options", api(get_options)),
        Route("/api/item", api(get_item)),
        Route("/api/answer", api(post_answer, body=True), methods=["POST"]),
        Route("/api/query", api(get_query)),
        Route("/api/query", api(post_query, body=True), methods=["POST"]),
        Route("/api/query/answer", api(post_query_answer, body=True), methods=["POST"]),
        Route("/api/query/stop", api(post_query_stop, body=True), methods=["POST"]),
    ]
    allowed = hosts or list(LOOPBACK)
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed)])
    app.state.review = server
    return app


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(server: ReviewServer, *, host: str = "127.0.0.1", port: int = 8765,
          on_ready: Any = None) -> None:
    """Serve the review app until interrupted (Ctrl-C), then stop the query being asked.

    Parameters
    ----------
    server : ReviewServer
    host : str, default "127.0.0.1"
        Address to listen on: the loopback interface unless told otherwise.
    port : int, default 8765
        Port (0: any free one).
    on_ready : callable, optional
        Called with the page's URL once the port is bound.
    """
    import socket

    try:
        import uvicorn
    except ImportError:
        from ..exceptions import MissingDependencyError

        raise MissingDependencyError("assay review needs the 'review' extra: pip install 'assay[review]'") from None
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bare, port))
    except OSError as exc:
        sock.close()
        raise InvalidParameterError(f"cannot listen on {host}:{port}: {exc.strerror or exc}.") from None
    sock.listen(64)
    bound = sock.getsockname()[1]
    app = create_app(server, hosts=None if is_loopback(bare) else ["*"])
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    runner = uvicorn.Server(config)
    shown = f"[{bare}]" if family == socket.AF_INET6 else bare
    threading.Thread(target=server.warm, name="assay-review-warm", daemon=True).start()
    if on_ready is not None:
        on_ready(f"http://{shown}:{bound}/")
    try:
        runner.run(sockets=[sock])
    finally:
        sock.close()
        server.shutdown()
