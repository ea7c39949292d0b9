"""The synthetic drifting-video task of issue 20 (item 3), driven by ``bench_curate.py --task synthetic``.

The world (fixed: ``world_seed``, the same for every campaign seed):

- **Backgrounds**: the real frames of ``vtest.avi`` (a street scene with walking people, 795
  frames at 768x576, from Debian's ``opencv-doc``), grey, downscaled 8x to 96x72. Three
  streams take every third frame from offsets 0, 1 and 2; stream ``b`` is mirrored.
- **Objects**: scikit-learn's bundled handwritten digits 0 to 4 (8x8, upscaled to 16x16
  pixels), composited bright on the background, each on a track moving a pixel or two per
  frame and bouncing off the borders, living 15 to 40 frames.
- **Drift** over each stream's time ``t`` in [0, 1]: episodes of three conditions start more
  often as ``t`` grows (rate ``episode_rate * (1 + drift * t**2)`` per frame, each 4 to 10 frames):
  *dark* (the image dimmed to 25% and mixed with fog, under the same sensor noise, so the
  strokes sink into the noise), *clutter* (four to seven distractors: signs, the digits 5 to
  9 in a square frame, strokes like an object's but not one, each shown for one frame) and
  *crowd* (four more objects at once). The number of objects also grows with ``t``
  (``2 + 2 t``). So the pool (the first ``pool_share`` of each stream) holds few frames of
  each condition and the test frames (the rest, split in time) many.

The detector: HOG-like features (unsigned gradient orientation in 9 bins, 4x4-pixel cells,
a 16x16 window of 4x4 cells, L2-normalised and clipped at 0.2 as in Dalal and Triggs) of
every window on a 4-pixel grid, a logistic regression (scikit-learn) retrained from scratch on
the windows of the labeled frames (a window is an object when it overlaps a truth box at IoU
>= 0.5, background below 0.3, ignored between), and non-maximum suppression as local maxima
of the probability over the windows that overlap at IoU >= 0.3. It misses objects (dark
frames, overlapping objects) and invents them (distractors, the people of the background).
The deployed boxes are those with probability >= 0.5, linked into tracks; the assertions
(Flicker, Multibox, Appear, Gap) run on them. Quality: AP@0.5 of the suppressed windows
(probability >= 0.01) over the test frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import assay
from assay.tracking import associate

VIDEO = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
BOX = ["x1", "y1", "x2", "y2"]
#: Image size after downscaling, object and window side, HOG cell side and orientation bins.
WIDTH, HEIGHT, SIDE, CELL, BINS = 96, 72, 16, 4, 9
STREAMS = ("a", "b", "c")
CONDITIONS = ("dark", "clutter", "crowd")
FPS = 10.0


def backgrounds(path: Path = VIDEO, limit: int | None = None) -> np.ndarray:
    """The video's frames, grey in [0, 1] and downscaled to ``HEIGHT x WIDTH`` (area average)."""
    try:
        import cv2
    except ImportError:  # pragma: no cover - depends on the environment
        raise SystemExit("the synthetic task reads vtest.avi with OpenCV: pip install 'assay[video]'") from None
    if not path.exists():
        raise SystemExit(f"the synthetic task needs {path}: apt-get install -y opencv-doc")
    cap = cv2.VideoCapture(str(path))
    out = []
    while limit is None or len(out) < limit:
        ok, img = cap.read()
        if not ok:
            break
        grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        out.append(cv2.resize(grey, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA))
    cap.release()
    return np.stack(out).astype(np.float32) / 255.0


def _digits() -> tuple[np.ndarray, np.ndarray]:
    """Objects (the digits 0 to 4) and distractors (5 to 9 in a square frame, like a sign), as
    16x16 alpha masks in [0, 1]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    img = np.kron(d.images.astype(np.float32) / 16.0, np.ones((1, 2, 2), dtype=np.float32))
    signs = img[d.target > 4].copy()
    signs[:, [0, -1], :] = 1.0
    signs[:, :, [0, -1]] = 1.0
    return img[d.target <= 4], signs


def _episodes(n: int, rate: float, drift: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean per frame: inside an episode started at rate ``rate * (1 + drift * t**2)`` per frame."""
    t = np.arange(n) / max(n - 1, 1)
    start = rng.random(n) < rate * (1 + drift * t**2)
    on = np.zeros(n, dtype=bool)
    for f in np.flatnonzero(start):
        on[f:f + int(rng.integers(4, 11))] = True
    return on


@dataclass
class World:
    """Rendered frames and their truth: ``images`` (frames x HEIGHT x WIDTH), ``frames``
    (stream, frame, condition flags per row of ``images``) and ``truth`` (one box per object
    and frame)."""

    images: np.ndarray
    frames: pd.DataFrame
    truth: pd.DataFrame


def make_world(bg: np.ndarray, *, world_seed: int = 0, episode_rate: float = 0.003, drift: float = 20.0,
               streams: tuple[str, ...] = STREAMS) -> World:
    """Render the streams over the background frames ``bg`` (see the module docstring)."""
    digits, distractors = _digits()
    rng = np.random.default_rng(world_seed)
    images, rows, truth = [], [], []
    next_id = 0
    for k, name in enumerate(streams):
        frames = bg[k::len(streams)]
        if k % 2 == 1:
            frames = frames[:, :, ::-1]
        n = len(frames)
        cond = {c: _episodes(n, episode_rate, drift, rng) for c in CONDITIONS}
        live: list[dict] = []
        for f in range(n):
            t = f / max(n - 1, 1)
            img = frames[f].copy()
            target = int(round(2 + 2 * t)) + (4 if cond["crowd"][f] else 0)
            live = [o for o in live if o["age"] < o["life"]]
            while len(live) < target:
                live.append({"img": digits[rng.integers(len(digits))], "age": 0, "life": int(rng.integers(15, 41)),
                             "x": rng.uniform(0, WIDTH - SIDE), "y": rng.uniform(0, HEIGHT - SIDE),
                             "vx": rng.uniform(-2, 2), "vy": rng.uniform(-1.5, 1.5),
                             "id": next_id})
                next_id += 1
            for o in live:
                x, y = int(round(o["x"])), int(round(o["y"]))
                a = o["img"]
                patch = img[y:y + SIDE, x:x + SIDE]
                img[y:y + SIDE, x:x + SIDE] = patch * (1 - a) + a * 0.95
                truth.append((name, f + 1, o["id"], x, y))
                o["x"] += o["vx"]
                o["y"] += o["vy"]
                if not 0 <= o["x"] <= WIDTH - SIDE:
                    o["vx"] = -o["vx"]
                    o["x"] = float(np.clip(o["x"], 0, WIDTH - SIDE))
                if not 0 <= o["y"] <= HEIGHT - SIDE:
                    o["vy"] = -o["vy"]
                    o["y"] = float(np.clip(o["y"], 0, HEIGHT - SIDE))
                o["age"] += 1
            if cond["clutter"][f]:
                for _ in range(int(rng.integers(4, 8))):
                    x, y = int(rng.integers(0, WIDTH - SIDE + 1)), int(rng.integers(0, HEIGHT - SIDE + 1))
                    a = distractors[rng.integers(len(distractors))]
                    img[y:y + SIDE, x:x + SIDE] = img[y:y + SIDE, x:x + SIDE] * (1 - a) + a * 0.95
            if cond["dark"][f]:
                img = 0.25 * img + 0.2
            img = img + rng.normal(0, 0.03, img.shape).astype(np.float32)
            images.append(np.clip(img, 0, 1))
            rows.append((name, f + 1, *(bool(cond[c][f]) for c in CONDITIONS)))
    frames_df = pd.DataFrame(rows, columns=["stream", "frame", *CONDITIONS])
    tr = pd.DataFrame(truth, columns=["stream", "frame", "track", "x1", "y1"])
    tr["x1"] = tr["x1"].astype(float)
    tr["y1"] = tr["y1"].astype(float)
    tr["x2"], tr["y2"] = tr["x1"] + SIDE, tr["y1"] + SIDE
    return World(np.stack(images), frames_df, tr)


# ---------------------------------------------------------------------- the detector


def hog_windows(images: np.ndarray, chunk: int = 128) -> np.ndarray:
    """Features of every window (frames x windows x 144, float32): per 4x4-pixel cell the
    gradient magnitude summed in 9 unsigned orientation bins, 4x4 cells per window,
    L2-normalised, clipped at 0.2 and normalised again."""
    n, h, w = images.shape
    ch, cw = h // CELL, w // CELL
    k = SIDE // CELL
    out = []
    for s in range(0, n, chunk):
        img = images[s:s + chunk]
        m = len(img)
        gx = np.zeros_like(img)
        gy = np.zeros_like(img)
        gx[:, :, 1:-1] = img[:, :, 2:] - img[:, :, :-2]
        gy[:, 1:-1, :] = img[:, 2:, :] - img[:, :-2, :]
        mag = np.hypot(gx, gy)
        b = np.minimum((np.mod(np.arctan2(gy, gx), np.pi) / (np.pi / BINS)).astype(np.int64), BINS - 1)
        cell = (np.arange(h)[:, None] // CELL) * cw + np.arange(w)[None, :] // CELL
        idx = (np.arange(m)[:, None, None] * (ch * cw) + cell[None]) * BINS + b
        hist = np.bincount(idx.ravel(), weights=mag.ravel(), minlength=m * ch * cw * BINS)
        hist = hist.reshape(m, ch, cw, BINS).astype(np.float32)
        win = np.lib.stride_tricks.sliding_window_view(hist, (k, k), axis=(1, 2))  # m, wy, wx, B, k, k
        v = win.transpose(0, 1, 2, 4, 5, 3).reshape(m, (ch - k + 1) * (cw - k + 1), k * k * BINS)
        v = v / np.sqrt((v ** 2).sum(-1, keepdims=True) + 1e-2)
        v = np.minimum(v, 0.2)
        out.append(v / np.sqrt((v ** 2).sum(-1, keepdims=True) + 1e-6))
    return np.concatenate(out)


def window_grid() -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Top-left corners (x, y) of the windows, in the order of :func:`hog_windows`, and the grid shape."""
    rows, cols = HEIGHT // CELL - SIDE // CELL + 1, WIDTH // CELL - SIDE // CELL + 1
    y, x = np.divmod(np.arange(rows * cols), cols)
    return x * CELL, y * CELL, (rows, cols)


def best_iou(truth: pd.DataFrame, keys: pd.MultiIndex) -> np.ndarray:
    """Per frame of ``keys`` and window, the largest IoU with a truth box of the frame."""
    wx, wy, _ = window_grid()
    row = keys.get_indexer(pd.MultiIndex.from_arrays([truth["stream"].to_numpy(), truth["frame"].to_numpy()]))
    ok = row >= 0
    tx, ty = truth["x1"].to_numpy()[ok], truth["y1"].to_numpy()[ok]
    ov = (np.maximum(0, SIDE - np.abs(tx[:, None] - wx[None])) * np.maximum(0, SIDE - np.abs(ty[:, None] - wy[None])))
    iou = ov / (2 * SIDE * SIDE - ov)
    best = np.zeros((len(keys), len(wx)))
    np.maximum.at(best, row[ok], iou)
    return best


def _footprint(iou: float) -> np.ndarray:
    k = SIDE // CELL
    d = np.arange(-k + 1, k) * CELL
    ov = np.maximum(0, SIDE - np.abs(d))[:, None] * np.maximum(0, SIDE - np.abs(d))[None, :]
    return ov / (2 * SIDE * SIDE - ov) >= iou


def suppress(prob: np.ndarray, iou: float = 0.3) -> np.ndarray:
    """Non-maximum suppression on the window grid: a window is kept when no window overlapping
    it at IoU >= ``iou`` has a higher probability (``prob``: frames x windows)."""
    from scipy.ndimage import maximum_filter

    _, _, shape = window_grid()
    p = prob.reshape(len(prob), *shape)
    top = maximum_filter(p, footprint=_footprint(iou)[None], mode="constant", cval=-np.inf)
    return (p >= top).reshape(prob.shape)


def _observations(keys: pd.MultiIndex, x: np.ndarray, y: np.ndarray, source: str) -> pd.DataFrame:
    """Boxes of side ``SIDE`` at (x, y) in the frames ``keys``, as an observations table."""
    frame = keys.get_level_values(1).to_numpy(dtype="int64")
    return assay.validate(pd.DataFrame({
        "stream": keys.get_level_values(0).to_numpy(dtype=object), "frame": frame, "time": (frame - 1) / FPS,
        "obs_id": np.arange(len(keys), dtype="int64"), "track": pd.array([pd.NA] * len(keys), dtype="Int64"),
        "cls": "digit", "score": 1.0, "source": source,
        "x1": x.astype(float), "y1": y.astype(float), "x2": x + float(SIDE), "y2": y + float(SIDE)}), "observations")


class SyntheticTask:
    """The callbacks of :func:`assay.curate.simulate` for the window detector, split in time:
    the first ``pool_share`` of each stream's frames are the pool, the rest the test frames."""

    def __init__(self, world: World, features: np.ndarray, *, pool_share: float = 0.6, C: float = 1.0) -> None:
        from bench_curate import TestAP

        keys = pd.MultiIndex.from_arrays([world.frames["stream"].to_numpy(dtype=object),
                                          world.frames["frame"].to_numpy(dtype="int64")])
        n = world.frames.groupby("stream")["frame"].transform("max").to_numpy()
        pool = world.frames["frame"].to_numpy() <= np.floor(pool_share * n)
        best = best_iou(world.truth, keys)
        self.world, self.C = world, C
        self.pool_keys, self.test_keys = keys[pool], keys[~pool]
        self.X_pool, self.X_test = features[pool], features[~pool]
        self.best_pool = best[pool]
        self.frames = pd.DataFrame({"stream": self.pool_keys.get_level_values(0), "frame": self.pool_keys.get_level_values(1)})
        wx, wy, _ = window_grid()
        nw = len(wx)
        # every window of the pool and of the test frames, as boxes
        self.pool_windows = _observations(self.pool_keys.repeat(nw), np.tile(wx, len(self.pool_keys)),
                                          np.tile(wy, len(self.pool_keys)), "model:det")
        test_windows = _observations(self.test_keys.repeat(nw), np.tile(wx, len(self.test_keys)),
                                     np.tile(wy, len(self.test_keys)), "model:det")
        tk = pd.MultiIndex.from_arrays([world.truth["stream"].to_numpy(dtype=object), world.truth["frame"].to_numpy()])
        in_pool = tk.isin(self.pool_keys)
        truth = _observations(tk, world.truth["x1"].to_numpy(), world.truth["y1"].to_numpy(), "labels")
        truth["track"] = pd.array(world.truth["track"].to_numpy(), dtype="Int64")
        self.gt_pool = truth.loc[in_pool].reset_index(drop=True)
        self.gt_test = truth.loc[~in_pool].reset_index(drop=True)
        self.ap = TestAP(test_windows, self.gt_test)
        self.conditions_pool = world.frames.loc[pool, list(CONDITIONS)].reset_index(drop=True)
        self.conditions_test = world.frames.loc[~pool, list(CONDITIONS)].reset_index(drop=True)

    def retrain(self, labeled: pd.DataFrame, revealed: pd.DataFrame, rng: np.random.Generator):
        """Logistic regression on the windows of the labeled frames (IoU >= 0.5 with a truth
        box: object; < 0.3: background; between: left out)."""
        from sklearn.linear_model import LogisticRegression

        rows = self.pool_keys.get_indexer(pd.MultiIndex.from_arrays(
            [labeled["stream"].astype(str).to_numpy(dtype=object), labeled["frame"].to_numpy(dtype="int64")]))
        X = self.X_pool[rows].reshape(-1, self.X_pool.shape[-1])
        b = self.best_pool[rows].ravel()
        use = (b >= 0.5) | (b < 0.3)
        y = (b[use] >= 0.5).astype(np.int8)
        if len(np.unique(y)) < 2:
            return (np.zeros(X.shape[1], dtype=np.float32), np.float32(-5.0 if y.sum() == 0 else 5.0))
        model = LogisticRegression(C=self.C, max_iter=500, random_state=int(rng.integers(2**31 - 1)))
        model.fit(X[use], y)
        return model.coef_[0].astype(np.float32), np.float32(model.intercept_[0])

    @staticmethod
    def prob(model, X: np.ndarray) -> np.ndarray:
        w, b = model
        return 1.0 / (1.0 + np.exp(-(X @ w + b)))

    def predict(self, model) -> pd.DataFrame:
        p = self.prob(model, self.X_pool)
        keep = (suppress(p) & (p >= 0.5)).ravel()
        out = self.pool_windows.loc[keep].copy()
        out["score"] = p.ravel()[keep].astype(float)
        return associate(out, iou=0.3, max_gap=0.3, keep_existing=False)

    def evaluate(self, model) -> float:
        p = self.prob(model, self.X_test)
        keep = suppress(p) & (p >= 0.01)
        return self.ap(p.ravel().astype(float), keep.ravel())


# ---------------------------------------------------------------------- the experiment

SETUP = """A window detector (HOG-like features of 16x16 windows on a 4-pixel grid, logistic regression,
non-maximum suppression) retrained from scratch each round on the labeled frames of a synthetic
drifting video: the 795 real frames of `vtest.avi` (Debian's opencv-doc), grey and downscaled to
96x72, in three streams (every third frame), with scikit-learn's handwritten digits composited
in on moving tracks. Episodes of darkness (low contrast under sensor noise), clutter (digit-like
distractors, each for one frame) and crowds (four more digits) start more often as each stream
goes on, and the number of digits grows: the pool (the first 60% of each stream) holds few of
them, the test frames (the last 40%, split in time) many. It can both miss digits and invent
them. Labeling a frame reveals its digit boxes. Quality: AP@0.5 on the test frames. The
assertions (Flicker, Multibox, Appear, Gap) run on the model's own boxes (probability >= 0.5)
over the pool, tracked each round; they are never features of the model. Details: the docstring
of `benchmarks/curate_synthetic.py`."""


def experiment(*, seeds: int, rounds: int, budget: int, initial: int, video_frames: int | None = None,
               pool_share: float = 0.6, C: float = 1.0, episode_rate: float = 0.003, drift: float = 20.0,
               world_seed: int = 0,
               strategies: dict | None = None, n_jobs: int = 1):
    """Render the world, build the task and run the campaigns (``bench_curate.campaigns``);
    returns ``(task, result, (preparation seconds, simulation seconds))``. ``video_frames``
    keeps the video's first frames only (a quick run)."""
    import time

    from bench_curate import campaigns

    t0 = time.perf_counter()
    world = make_world(backgrounds(limit=video_frames), world_seed=world_seed, episode_rate=episode_rate,
                       drift=drift)
    task = SyntheticTask(world, hog_windows(world.images), pool_share=pool_share, C=C)
    prep = time.perf_counter() - t0
    t1 = time.perf_counter()
    result = campaigns(task, seeds=seeds, rounds=rounds, budget=budget, initial=initial, strategies=strategies,
                       n_jobs=n_jobs)
    return task, result, (prep, time.perf_counter() - t1)


def describe(task: SyntheticTask) -> str:
    """The task in numbers: frames, boxes, condition shares in the pool and the test frames,
    and the test AP of the detector trained on every pool frame."""
    share = lambda d: ", ".join(f"{c} {d[c].mean():.0%}" for c in CONDITIONS)  # noqa: E731
    every = task.evaluate(task.retrain(task.frames, task.gt_pool, np.random.default_rng(0)))
    return (f"Pool: {len(task.frames)} frames, {len(task.gt_pool):,} digit boxes; frames in an episode: "
            f"{share(task.conditions_pool)}. Test: {len(task.test_keys)} frames, {len(task.gt_test):,} digit "
            f"boxes; {share(task.conditions_test)}. {task.X_pool.shape[1]} windows per frame, "
            f"{task.X_pool.shape[2]} features each. Test AP of the detector trained on every pool frame: {every:.4f}.")
