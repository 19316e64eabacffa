"""The report's figures as Vega-Lite charts (altair), written as SVG by vl-convert: text files
that come out byte-identical from the same store, so a regenerated report diffs clean.

Each function takes plain rows (from igd.report_data / the store) and returns a chart or None
when the store holds nothing to draw.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

WIDTH, HEIGHT = 520, 260


def _legend(**kw):
    """Legends below the plot, names whole, lines drawn as lines (a dash pattern reads as one)."""
    alt = _alt()
    return alt.Legend(orient="bottom", labelLimit=600, columns=1, **kw)


def _alt():
    import altair as alt

    return alt


def _dashes(field: str, solid_then_dashed: list[str]):
    """Solid for the first value, dashed for the second, said in the subtitle (a legend cannot
    draw a dash pattern in vl-convert's SVG)."""
    alt = _alt()
    return alt.StrokeDash(f"{field}:N", legend=None,
                          scale=alt.Scale(domain=solid_then_dashed, range=[[1, 0], [6, 3]]))


def loss_curves(logs: Mapping[str, Sequence[Mapping]]):
    """Fig. 2 / 5 / 7: training loss of zero-IG and non-zero-IG target tokens per logging step,
    one line per (run, token kind). `logs`: run label -> train_log rows."""
    values = [{"run": label, "tokens": "zero IG" if r["name"] == "loss_zero_ig" else "IG > 0",
               "step": r["step"], "loss": r["value"]}
              for label, rows in logs.items() for r in rows if r["name"] in ("loss_zero_ig", "loss_nonzero_ig")]
    if not values:
        return None
    alt = _alt()
    return alt.Chart(alt.Data(values=values)).mark_line(point=True).encode(
        x=alt.X("step:Q", title="training step"), y=alt.Y("loss:Q", title="mean token loss (CE)"),
        color=alt.Color("run:N", title="run", legend=_legend()),
        strokeDash=_dashes("tokens", ["IG > 0", "zero IG"]),
    ).properties(width=WIDTH, height=HEIGHT, title=alt.TitleParams(
        "Training loss of zero-IG vs IG > 0 target tokens", subtitle="solid: IG > 0 tokens; dashed: zero-IG tokens"))


_STEP = re.compile(r"^h_(pred|truth)@(\d+)$")


def entropy_gap(evals: Mapping[str, Mapping[str, float]]):
    """Fig. 3 / 6 / 8: mean H(prefix) per decoding step of the top-10 (solid) and of the
    ground truth (dashed), one colour per evaluation (e.g. per alpha)."""
    values = []
    for label, metrics in evals.items():
        for name, value in metrics.items():
            if m := _STEP.match(name):
                values.append({"run": label, "of": "top-10" if m[1] == "pred" else "ground truth",
                               "step": int(m[2]), "H": value})
    if not values:
        return None
    alt = _alt()
    return alt.Chart(alt.Data(values=values)).mark_line(point=True).encode(
        x=alt.X("step:Q", title="decoding step (tokens generated)"),
        y=alt.Y("H:Q", title="mean prefix entropy H (nats, Eq. 4)"),
        color=alt.Color("run:N", title="decoding", legend=_legend()),
        strokeDash=_dashes("of", ["top-10", "ground truth"]),
    ).properties(width=WIDTH, height=HEIGHT, title=alt.TitleParams(
        "Entropy of the decoded prefix vs the ground truth's", subtitle="solid: the top-10 titles; dashed: the ground truth"))


def ig_logp(evals: Mapping[str, Mapping[str, float]], bins: Sequence[str]):
    """Fig. 4: mean log p of the decoded tokens per IG bin (zero-IG tokens in bin "0")."""
    values = [{"run": label, "IG bin": b, "mean log p": m[f"iglogp_mean@{b}"], "tokens": m[f"iglogp_n@{b}"]}
              for label, m in evals.items() for b in bins if f"iglogp_mean@{b}" in m]
    if not values:
        return None
    alt = _alt()
    return alt.Chart(alt.Data(values=values)).mark_bar().encode(
        x=alt.X("IG bin:N", sort=list(bins), title="IG of the token (nats)"),
        xOffset=alt.XOffset("run:N"), y=alt.Y("mean log p:Q", title="mean log p of the decoded token"),
        color=alt.Color("run:N", title="run", legend=_legend()),
        tooltip=["run:N", "IG bin:N", "mean log p:Q", "tokens:Q"],
    ).properties(width=WIDTH, height=HEIGHT, title="Log-probability of decoded tokens by their IG")


def sweep(points: Sequence[Mapping], x: str, y: str, title: str):
    """A metric against a setting (beta, alpha), one line per series."""
    if not points:
        return None
    alt = _alt()
    return alt.Chart(alt.Data(values=list(points))).mark_line(point=True).encode(
        x=alt.X(f"{x}:Q", title=x), y=alt.Y(f"{y}:Q", title=y), color=alt.Color("series:N", title="", legend=_legend()),
    ).properties(width=WIDTH, height=HEIGHT, title=title)


# vl-convert bundles Liberation Sans; naming it (not the default "sans-serif", resolved from the
# host's fonts) lays text out alike on every machine, so the SVG bytes do not depend on the host.
FONT = "Liberation Sans"


def write_svg(chart, path) -> None:
    # altair renders through vl-convert: offline, and the same spec gives the same bytes
    chart.configure(font=FONT).save(str(path), format="svg")
