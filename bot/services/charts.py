"""Charts as PNG bytes (matplotlib, Agg backend) with Chinese labels.

The CJK font is Noto Sans CJK SC shipped by the ``mplfonts`` package (a dependency), registered
with matplotlib's font manager on first use, so labels never render as tofu boxes whatever
fonts the machine has. No Telegram here: callers send the bytes.

:func:`bar_chart` is called from worker threads (:mod:`bot.services.offloop`) and has the chart
drawn (:func:`draw`) in the worker process (:func:`bot.services.offloop.in_process`): the bot's
own process never imports matplotlib (about 100 MB once a district's chart was drawn) and no
drawing holds the GIL the event loop needs. A chart that could not be drawn (the worker died,
a missing font) is logged and left out: ``None``, and the caller answers with its text alone.
matplotlib is not thread-safe, so one chart is drawn at a time in a process (:data:`_drawing`).
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.services import offloop

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties

log = logging.getLogger(__name__)
_drawing = threading.Lock()


@lru_cache(maxsize=1)
def _matplotlib():  # type: ignore[no-untyped-def]
    """matplotlib with the Agg backend, imported on the first chart (in the worker process;
    half a second that start-up need not pay)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    return font_manager, Figure


@lru_cache(maxsize=1)
def cjk_font() -> FontProperties:
    """The registered CJK font; raises FileNotFoundError if the font file is missing."""
    import mplfonts

    font_manager, _ = _matplotlib()
    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    if not path.is_file():
        raise FileNotFoundError(f"CJK font not found at {path}")
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path))


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    xlabel: str = "",
    percent: bool = False,
    groups: Sequence[str] | None = None,
) -> bytes | None:
    """A horizontal bar chart, one bar per label (top to bottom in the given order), drawn in
    the worker process (blocking: call it from a worker thread); None when it failed."""
    try:
        return offloop.in_process(draw, list(labels), list(values), title=title, xlabel=xlabel, percent=percent,
                                  groups=None if groups is None else list(groups))
    except Exception:  # a chart is never worth the answer: the caller sends its text alone
        log.exception("chart not drawn (%d bars)", len(labels))
        return None


def draw(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    xlabel: str = "",
    percent: bool = False,
    groups: Sequence[str] | None = None,
) -> bytes:
    """The chart's PNG, drawn here (in the worker process; tests call it directly)."""
    with _drawing:
        return _bar_chart(labels, values, title=title, xlabel=xlabel, percent=percent, groups=groups)


def _bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    xlabel: str,
    percent: bool,
    groups: Sequence[str] | None,
) -> bytes:
    font = cjk_font()
    height = max(2.5, 0.4 * len(labels) + 1.2)
    _, Figure = _matplotlib()
    fig = Figure(figsize=(7, height), dpi=110)
    ax = fig.add_subplot()
    positions = list(range(len(labels)))[::-1]
    palette = ["#c0392b", "#e67e22", "#2980b9", "#27ae60", "#8e44ad", "#7f8c8d"]
    colours = [palette[0]] * len(labels)
    if groups is not None:
        keys = list(dict.fromkeys(groups))
        colours = [palette[keys.index(g) % len(palette)] for g in groups]
    bars = ax.barh(positions, values, color=colours)
    ax.set_yticks(positions, labels=list(labels), fontproperties=font)
    ax.set_title(title, fontproperties=font)
    if xlabel:
        ax.set_xlabel(xlabel, fontproperties=font)
    if percent:
        ax.set_xlim(0, 100)
    for bar, value in zip(bars, values, strict=True):
        text = f"{value:.0f}%" if percent else f"{value:g}"
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + text, va="center", fontsize=8)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
