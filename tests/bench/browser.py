"""Browser figures of the labeling page (headless Chromium, the server on loopback): on an image with 500
shapes of 50 vertices each, the time to the first full render, and the frame time while dragging a vertex,
measured with requestAnimationFrame in the page; and the freehand tool's simplification of a 2,000-point
stroke (median of 50 runs, timed in the page). Prints one JSON line."""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from tests.browser.conftest import CHROMIUM, DEMO, Api
from tests.live_servers import ROOT, Daphne, free_port, manage, photos_write, server_env, wait_until_serving

SHAPES, VERTICES = 500, 50
WIDTH, HEIGHT = 640, 480


def circle(n: int) -> list[list[float]]:
    """The n-th of 500 circles on a 25 x 20 grid over the image, 50 vertices each."""
    cx, cy, r = 12.8 + (n % 25) * 25.6, 12 + (n // 25) * 24, 10.0
    return [
        [
            round(cx + r * math.cos(2 * math.pi * v / VERTICES), 3),
            round(cy + r * math.sin(2 * math.pi * v / VERTICES), 3),
        ]
        for v in range(VERTICES)
    ]


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def first_render_ms(page, url: str, shapes: int, *, ready: bool = False, timeout: float = 30_000) -> float:
    """Open the labeling page at `url` and wait (each animation frame) until it draws `shapes` shapes, and
    with `ready` until it says it is ready too; the page's clock then, from its navigation's start."""
    page.goto(url)
    # A function, not an expression: an expression is evaluated with eval(), which the page's
    # Content-Security-Policy (no 'unsafe-eval') refuses.
    condition = "document.querySelectorAll('#canvas .shape').length >= n"
    if ready:
        condition = f"document.body.dataset.ready === 'true' && {condition}"
    page.wait_for_function(f"(n) => {condition}", arg=shapes, polling="raf", timeout=timeout)
    return page.evaluate("performance.now()")


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# A hand's stroke around an object: 2,000 points on a wobbly loop of about 300 px with pointer jitter (a
# fixed generator, so every run simplifies the same stroke), simplified as the freehand tool does it at
# 100 % (2 px), timed in the page with performance.now(): the median of the runs, after one to warm up.
FREEHAND_STROKE = """async (runs) => {
  const { simplify } = await import('/static/polylog/label/simplify.js');
  const { FREEHAND_TOLERANCE_PX } = await import('/static/polylog/label/constants.js');
  let seed = 7;
  const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 1.5;
  const stroke = Array.from({ length: 2000 }, (_, i) => {
    const a = (2 * Math.PI * i) / 2000;
    const r = 300 + 40 * Math.sin(5 * a) + 15 * Math.cos(13 * a);
    return [400 + r * Math.cos(a) + noise(), 400 + r * Math.sin(a) + noise()];
  });
  let kept = simplify(stroke, FREEHAND_TOLERANCE_PX).length;
  const times = [];
  for (let n = 0; n < runs; n += 1) {
    const start = performance.now();
    kept = simplify(stroke, FREEHAND_TOLERANCE_PX).length;
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(runs / 2)], kept };
}"""


def freehand_simplification(page, runs: int) -> dict:
    """The freehand tool's Douglas-Peucker on a 2,000-point stroke (simplify.js), in the page: its row (no
    database in it: the figure is the browser's alone)."""
    measured = page.evaluate(FREEHAND_STROKE, runs)
    if not 10 < measured["kept"] < 2000:
        raise RuntimeError(f"the stroke kept {measured['kept']} points: the figure would measure nothing")
    median = measured["median"]
    return {
        "name": "freehand simplification of a 2,000-point stroke",
        "database": "-",
        "value": round(median, 2),
        "unit": "ms",
        "target": "< 5",
        "ok": median < 5,
    }


# Issue 20, dense images: main-thread work per zoom step and per pan frame on a 6000x4000 photo with 0, 200
# and 1,000 shapes of 24 vertices, at the fitted zoom (every shape on screen: the worst case for culling)
# and at 100 % (most shapes off screen). Method: in a requestAnimationFrame callback the page notes
# performance.now(), makes the step (a WheelEvent dispatched on the canvas, as a wheel turn does; a pan is
# the renderer's panBy, as a drag's pointermove does) and posts a MessageChannel message; the message runs
# once the frame's style, layout and paint are done on the main thread, and its performance.now() minus the
# first is the step's main-thread work (raster and compositing run on other threads and are not in it).
DENSE_COUNTS = (0, 200, 1000)
FRAME_BUDGET_MS = 16.7
DENSE_STEPS = """async ({ kind, steps, zoom }) => {
  const svg = document.getElementById('canvas');
  const renderer = window.polylogLabel.renderer;
  renderer.fit();
  const rect = svg.getBoundingClientRect();
  const cx = rect.left + rect.width / 2;
  const cy = rect.top + rect.height / 2;
  if (zoom) renderer.zoomAt(zoom / renderer.scale, cx, cy);
  const frame = (step) => new Promise((resolve) => requestAnimationFrame(() => {
    const start = performance.now();
    step();
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve(performance.now() - start);
    channel.port2.postMessage(null);
  }));
  for (let n = 0; n < 5; n += 1) await frame(() => {}); // settle
  const work = [];
  for (let n = 0; n < steps; n += 1) {
    const inward = Math.floor(n / 8) % 2 === 0; // eight notches in, eight out, around the fitted zoom
    const step = kind === 'zoom'
      ? () => svg.dispatchEvent(new WheelEvent('wheel', { deltaY: inward ? -100 : 100, clientX: cx, clientY: cy, bubbles: true, cancelable: true }))
      : () => renderer.panBy(Math.floor(n / 20) % 2 ? -6 : 6, Math.floor(n / 20) % 2 ? -4 : 4);
    work.push(await frame(step));
  }
  // The gesture rests: the view is drawn again for where it ended (render.js applyView, which a timer runs
  // SETTLE_MS after the last step), timed here as one more frame.
  const settle = await frame(() => renderer.applyView());
  return { work, settle };
}"""


def dense_images(browser, base: str, api: Api, *, quick: bool) -> list[dict]:
    """The dense-image rows (issue 20): p50 and p95 of the work per zoom step and per pan frame at each
    count, ratios of 1,000 shapes to none, and the first render's ratio."""
    from tests.browser.dense import dense_job, paste, rings

    job = dense_job(api, [f"dense_{count:04d}" for count in DENSE_COUNTS])
    label_id = job["label_classes"][0]["id"]
    items = dict(zip(DENSE_COUNTS, [item["id"] for item in job["items"]], strict=True))
    for count, item_id in items.items():
        if count:
            paste(api, item_id, label_id, rings(count))
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    log_in(page, base, *DEMO)
    # Alternating rounds: each round measures every count in turn (in the other order the next round), and
    # a figure pools its samples over the rounds, so a slow spell of the machine falls on all counts alike.
    rounds, steps = (2, 30) if quick else (4, 50)
    rows: list[dict] = []
    samples: dict[tuple[str, str, int], list[float]] = {}
    first_render: dict[int, list[float]] = {}
    settles: dict[tuple[str, str, int], list[float]] = {}

    def row(name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> None:
        rows.append(
            {"name": name, "database": "sqlite", "value": value, "unit": unit, "target": target, "ok": ok}
        )

    for round_ in range(rounds):
        for count in DENSE_COUNTS if round_ % 2 == 0 else reversed(DENSE_COUNTS):
            for _ in range(1 if quick else 2):
                rendered = first_render_ms(
                    page, f"{base}/items/{items[count]}/", count, ready=True, timeout=60_000
                )
                first_render.setdefault(count, []).append(rendered)
            page.evaluate("() => document.querySelector('[data-tool=edit]')?.click()")
            for kind in ("zoom", "pan"):
                for where, zoom in (("fitted", None), ("100 %", 1)):
                    measured = page.evaluate(DENSE_STEPS, {"kind": kind, "steps": steps, "zoom": zoom})
                    samples.setdefault((kind, where, count), []).extend(measured["work"])
                    settles.setdefault((kind, where, count), []).append(measured["settle"])
    figures: dict[tuple[str, str, int], float] = {}
    for count in DENSE_COUNTS:
        for kind in ("zoom", "pan"):
            for where in ("fitted", "100 %"):
                work = samples[(kind, where, count)]
                p50, p95 = pct(work, 0.5), pct(work, 0.95)
                figures[(kind, where, count)] = p95
                row(f"6000x4000, {count} shapes x 24: {kind} {where}, work p50", round(p50, 1), "ms")
                row(
                    f"6000x4000, {count} shapes x 24: {kind} {where}, work p95",
                    round(p95, 1),
                    "ms",
                    f"<= {FRAME_BUDGET_MS} (frame)",
                    p95 <= FRAME_BUDGET_MS,
                )
    for kind in ("zoom", "pan"):
        for where in ("fitted", "100 %"):
            ratio = figures[(kind, where, 1000)] / max(figures[(kind, where, 0)], 0.1)
            row(
                f"6000x4000, {kind} {where} p95: 1,000 shapes / none",
                round(ratio, 2),
                "x",
                "<= 2",
                ratio <= 2,
            )
    # The frame that draws the view again once a gesture rests (not a per-step cost: one per gesture).
    for kind in ("zoom", "pan"):
        for where in ("fitted", "100 %"):
            for count in DENSE_COUNTS:
                row(
                    f"6000x4000, {count} shapes x 24: {kind} {where}, the view drawn again after the gesture",
                    round(statistics.median(settles[(kind, where, count)]), 1),
                    "ms",
                )
    render = {count: statistics.median(times) for count, times in first_render.items()}
    ratio = render[1000] / render[0]
    row("6000x4000, first render: 1,000 shapes / none", round(ratio, 2), "x", "<= 2", ratio <= 2)
    row("6000x4000, first render with 1,000 shapes", round(render[1000]), "ms")
    context.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database", default="sqlite", help="the server's embedded default; for run.py")
    parser.add_argument("--dense-only", action="store_true", help="only the dense-image rows (issue 20)")
    args = parser.parse_args()
    rows: list[dict] = []

    def row(name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> None:
        rows.append(
            {"name": name, "database": "sqlite", "value": value, "unit": unit, "target": target, "ok": ok}
        )

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print(json.dumps([]))
        return 0
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        print(json.dumps([]))
        return 0

    var_dir = Path(tempfile.mkdtemp(prefix="polylog-browser-bench-"))
    env = server_env(var_dir)
    env.pop("DEBUG", None)
    manage(env, "migrate", "--noinput", "-v0")
    photos = photos_write(var_dir / "photos", 4, size=(WIDTH, HEIGHT))
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.browser.seed", "--photos", str(photos)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    port = free_port()
    logs = var_dir / "logs"
    logs.mkdir()
    output_path = logs / "server.out.log"
    output = open(output_path, "wb")  # noqa: SIM115 - closed by Daphne.stop
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Daphne(process, port, logs / "access.log", output_path, output)
    try:
        wait_until_serving([server], timeout=60)
        base = server.base_url
        api = Api(base, *DEMO)
        if args.dense_only:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                rows += dense_images(browser, base, api, quick=args.quick)
                browser.close()
            print(json.dumps(rows))
            return 0
        item_id = seed["items"][0]["id"]
        label_id = api.get(f"/api/jobs/{seed['job_id']}/label-classes/")[0]["id"]
        for n in range(SHAPES):
            api.command(
                item_id,
                {
                    "type": "add_polygon",
                    "shape_id": str(uuid.uuid4()),
                    "label_class_id": label_id,
                    "points": circle(n),
                },
            )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            log_in(page, base, *DEMO)
            renders = []
            for _ in range(2 if args.quick else 5):
                renders.append(first_render_ms(page, f"{base}/items/{item_id}/", SHAPES))
            render = pct(renders, 0.5)
            row(
                f"labeling page, {SHAPES} shapes x {VERTICES} vertices: first full render p50",
                round(render),
                "ms",
                "<= 1000",
                render <= 1000,
            )

            # Drag the first vertex of one shape in the edit tool, recording every frame's time.
            page.wait_for_selector("body[data-live=true]")
            page.keyboard.press("e")
            to_client = "([x, y]) => window.polylogLabel.renderer.toClient([x, y])"
            centre = page.evaluate(to_client, [320.0, 252.0])  # the middle of circle 262: select it
            page.mouse.click(*centre)
            page.wait_for_selector("#canvas .shape.selected")
            start = page.evaluate(to_client, circle(262)[0])
            # Every frame's interval (requestAnimationFrame) and the page's own work in it (the renderer's
            # render call, timed in the page): at 60 Hz the interval cannot drop below 16.7 ms, so the
            # work is what says whether a frame fits, and intervals over 25 ms are dropped frames.
            page.evaluate(
                """() => {
                  const renderer = window.polylogLabel.renderer;
                  const render = renderer.render.bind(renderer);
                  window.__work = [];
                  renderer.render = (...args) => {
                    const t = performance.now();
                    render(...args);
                    window.__work.push(performance.now() - t);
                  };
                  window.__frames = [];
                  (function tick(t) {
                    window.__frames.push(t);
                    if (window.__frames.length < 100000) requestAnimationFrame(tick);
                  })(performance.now());
                }"""
            )
            page.mouse.move(*start)
            page.mouse.down()
            steps = 60 if args.quick else 240
            # Outward along the radius (0 to 8 image pixels and back), so the ring never crosses itself and
            # the server takes the move; screen pixels per image pixel from two mapped points.
            scale = (
                page.evaluate(to_client, [circle(262)[0][0] + 100, circle(262)[0][1]])[0] - start[0]
            ) / 100
            for k in range(steps):
                page.mouse.move(
                    start[0] + scale * (4 + 4 * math.sin(k / 10 - math.pi / 2) + 0.05 * k), start[1]
                )
            page.mouse.up()
            page.wait_for_selector("body[data-pending='0']")
            near = [
                shape["points"]
                for shape in api.get(f"/api/items/{item_id}/state/")["shapes"]
                if abs(shape["points"][25][0] - circle(262)[25][0]) < 1e-6
                and abs(shape["points"][25][1] - circle(262)[25][1]) < 1e-6
            ]
            if near != [] and near[0] == circle(262):  # a handle under the pointer moved: whichever it was
                raise RuntimeError("the drag did not move a vertex: the figures would measure nothing")
            frames = page.evaluate("window.__frames")
            work = page.evaluate("window.__work")
            intervals = [b - a for a, b in zip(frames, frames[1:], strict=False)][1:]
            p95 = pct(work, 0.95) if work else float("nan")
            row(
                "labeling page, dragging a vertex: render work per frame p95",
                round(p95, 1),
                "ms",
                "<= 16",
                p95 <= 16,
            )
            row(
                "labeling page, dragging a vertex: frame interval p95 (60 Hz)",
                round(pct(intervals, 0.95), 1),
                "ms",
            )
            row(
                "labeling page, dragging a vertex: dropped frames (> 25 ms)",
                sum(d > 25 for d in intervals),
                f"of {len(intervals)}",
            )
            rows.append(freehand_simplification(page, runs=20 if args.quick else 50))
            context.close()
            rows += dense_images(browser, base, api, quick=args.quick)
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(var_dir, ignore_errors=True)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
