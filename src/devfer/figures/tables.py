"""The paper's tables, formatted from the workflow's tidy tables (Markdown and LaTeX).

Like the figures, this module recomputes nothing: it selects, orders and formats numbers the
stages already wrote, so a number in a table is the number in the Parquet file. Both writers
are self-contained (no pandas Styler, jinja2 or tabulate), because a figure or table step that
fails on a missing optional dependency breaks the whole workflow.

The LaTeX output uses booktabs rules (``\\usepackage{booktabs}`` in the preamble) and escapes
every LaTeX special character, so data values such as 'younger_child' or '61.2%' compile.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from devfer.figures.labels import (
    FIT_NAMES,
    MISSING,
    finite,
    model_label,
    model_levels,
    pretty,
    require_columns,
)
from devfer.stats.seeds import interval_scope, n_seeds

__all__ = [
    "cross_group_table",
    "decomposition_table",
    "format_accuracy",
    "format_p",
    "latex_escape",
    "to_latex",
    "to_markdown",
    "transition_table",
    "trend_fit_table",
    "write_tables",
]

#: Fits from simple to flexible: the order the table reports the tests in.
_FIT_ORDER: tuple[str, ...] = ("linear", "quadratic", "spline", "logistic4")


# --------------------------------------------------------------------------------------------
# Number formats
# --------------------------------------------------------------------------------------------


def format_accuracy(acc: Any, lo: Any, hi: Any) -> str:
    """'61.2% [56.9, 65.4]': accuracy and its interval in percent, one decimal."""
    if not finite(acc):
        return MISSING
    text = f"{100 * float(acc):.1f}%"
    if finite(lo) and finite(hi):
        text += f" [{100 * float(lo):.1f}, {100 * float(hi):.1f}]"
    return text


def format_p(p: Any) -> str:
    """p-values as journals print them: three decimals, and '< 0.001' below that."""
    if not finite(p):
        return MISSING
    p = float(p)
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _fmt(value: Any, decimals: int) -> str:
    return f"{float(value):.{decimals}f}" if finite(value) else MISSING


def _fmt_df(value: Any) -> str:
    """Degrees of freedom: whole numbers without decimals, effective df with one."""
    if not finite(value):
        return MISSING
    v = float(value)
    return f"{v:.0f}" if v.is_integer() else f"{v:.1f}"


# --------------------------------------------------------------------------------------------
# The two tables
# --------------------------------------------------------------------------------------------


def cross_group_table(cross_group: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of every model on every age group, laid out as in the reference study.

    One row per age group (in `group_order`), an n column (images in the group), then one
    column per model whose cells read 'acc% [lo, hi]' in percent with one decimal. When the
    models were evaluated on different numbers of images, n lists them per model ('812 / 799',
    in the order of the model columns) rather than hiding the difference.
    """
    func = "cross_group_table"
    cols = ["model", "age_group", "group_order", "n", "accuracy", "ci_low", "ci_high"]
    require_columns(cross_group, cols, "cross_group", func)
    df = cross_group.copy()
    df["model"] = df["model"].astype(str)
    df["age_group"] = df["age_group"].astype(str)
    if df.duplicated(["model", "age_group"]).any():
        raise ValueError(f"{func}: more than one row per model and age_group")
    orders = df[["age_group", "group_order"]].drop_duplicates()
    if orders["age_group"].duplicated().any():
        raise ValueError(f"{func}: an age_group has more than one group_order")
    groups = list(orders.sort_values("group_order")["age_group"])
    models = model_levels(df["model"])
    cells = df.set_index(["age_group", "model"])
    rows = []
    for g in groups:
        row: dict[str, str] = {"Age group": pretty(g)}
        ns = [cells.loc[(g, m), "n"] for m in models if (g, m) in cells.index]
        ns_int = [str(int(v)) for v in ns if finite(v)]
        row["n"] = ns_int[0] if len(set(ns_int)) == 1 else (" / ".join(ns_int) or MISSING)
        for m in models:
            if (g, m) in cells.index:
                r = cells.loc[(g, m)]
                row[model_label(m)] = format_accuracy(r["accuracy"], r["ci_low"], r["ci_high"])
            else:
                row[model_label(m)] = MISSING
        rows.append(row)
    return pd.DataFrame(rows, columns=["Age group", "n", *[model_label(m) for m in models]])


def trend_fit_table(trend_fits: pd.DataFrame) -> pd.DataFrame:
    """Linear and nonlinear trend fits per model and level, with the documented decision.

    Columns: Model, Level, Fit, AIC, BIC, Statistic (the test against the linear fit), df, p
    ('< 0.001' below 0.001), Preferred ('yes' on the fit the criterion prefers) and Decision.
    Rows run model by model (infant, adult, ...), group level before image level, and fits
    from simple to flexible, so the table reads as the sequence of tests it reports.
    """
    func = "trend_fit_table"
    cols = ["model", "level", "fit", "aic", "bic", "statistic", "df", "p_value", "decision"]
    require_columns(trend_fits, cols, "trend_fits", func)
    df = trend_fits.copy()
    models = model_levels(df["model"])
    levels = [lv for lv in ("group", "image") if lv in set(df["level"].astype(str))]
    levels += [str(lv) for lv in pd.unique(df["level"].astype(str)) if lv not in levels]
    fits = [f for f in _FIT_ORDER if f in set(df["fit"].astype(str))]
    fits += [str(f) for f in pd.unique(df["fit"].astype(str)) if f not in fits]
    df["_m"] = df["model"].astype(str).map({m: i for i, m in enumerate(models)})
    df["_l"] = df["level"].astype(str).map({lv: i for i, lv in enumerate(levels)})
    df["_f"] = df["fit"].astype(str).map({f: i for i, f in enumerate(fits)})
    df = df.sort_values(["_m", "_l", "_f"], kind="stable")
    has_preferred = "preferred" in df.columns
    rows = []
    for _, r in df.iterrows():
        row = {
            "Model": model_label(r["model"]),
            "Level": pretty(r["level"]),
            "Fit": FIT_NAMES.get(str(r["fit"]), pretty(r["fit"])),
            "AIC": _fmt(r["aic"], 1),
            "BIC": _fmt(r["bic"], 1),
            "Statistic": _fmt(r["statistic"], 2),
            "df": _fmt_df(r["df"]),
            "p": format_p(r["p_value"]),
        }
        if has_preferred:
            row["Preferred"] = "yes" if _truthy(r["preferred"]) else ""
        row["Decision"] = pretty(r["decision"]) if isinstance(r["decision"], str) else MISSING
        rows.append(row)
    return pd.DataFrame(rows)


def _truthy(value: Any) -> bool:
    """A boolean cell that may have come back from Parquet as bool, numpy bool or NA."""
    return False if _is_na(value) else bool(value)


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------

_NUMERIC = re.compile(r"^\s*(?:[<>]\s*)?[-+\u2212]?\d[\d,]*(?:\.\d+)?\s*%?(?:\s*\[.*\])?\s*$")


def _is_numeric_column(values: Sequence[str]) -> bool:
    """Right-align a column when every non-missing cell is a (formatted) number."""
    cells = [v for v in values if v not in ("", MISSING)]
    return bool(cells) and all(_NUMERIC.match(part) for v in cells for part in v.split(" / "))


def _cells(df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    header = [str(c) for c in df.columns]
    body = [["" if _is_na(v) else str(v) for v in row] for row in df.itertuples(index=False)]
    return header, body


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub/pandoc pipe table, padded so the source is readable; numbers right-aligned."""
    header, body = _cells(df)

    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    header = [esc(h) for h in header]
    body = [[esc(c) for c in row] for row in body]
    widths = [max([len(header[j]), 3, *(len(row[j]) for row in body)]) for j in range(len(header))]
    right = [_is_numeric_column([row[j] for row in body]) for j in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * (w - 1) + ":" if r else "-" * w for w, r in zip(widths, right, strict=True)]
    lines = [line(header), "| " + " | ".join(rule) + " |", *(line(row) for row in body)]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"$<$",
    ">": r"$>$",
    "\u2013": "--",  # en dash
    "\u2212": "$-$",  # minus sign
}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters (and '<', which text fonts would print as '¡')."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(df: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table environment: caption and label on top, text left, numbers right.

    `caption` is plain text and escaped like the cells; `label` is used verbatim (LaTeX
    labels may contain underscores).
    """
    header, body = _cells(df)
    right = [_is_numeric_column([row[j] for row in body]) for j in range(len(header))]
    spec = "".join("r" if r else "l" for r in right)

    def line(cells: Sequence[str]) -> str:
        return " & ".join(latex_escape(c) for c in cells) + r" \\"

    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        rf"\caption{{{latex_escape(caption)}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        line(header),
        r"\midrule",
        *(line(row) for row in body),
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def _years(est: Any, lo: Any, hi: Any) -> str:
    if not finite(est):
        return MISSING
    interval = f" [{lo:.1f}, {hi:.1f}]" if finite(lo) and finite(hi) else ""
    return f"{est:.1f}{interval}"


def transition_table(transition: pd.DataFrame) -> pd.DataFrame:
    """Every transition estimate with its interval, whether the data support it, and why not.

    A non-credible estimate keeps its number (readers may want it) but reads 'no' under
    Credible, with the reason beside it.
    """
    cols = ["model", "curve", "method", "estimate", "ci_low", "ci_high", "credible", "note"]
    require_columns(transition, cols, "transition", "transition_table")
    rows = []
    for _, r in transition.iterrows():
        rows.append(
            {
                "Model": model_label(r["model"]),
                "Curve": pretty(r["curve"]),
                "Estimator": str(r["method"]).split(";")[0].split(":")[0],
                "Age (y) [95% CI]": _years(r["estimate"], r["ci_low"], r["ci_high"]),
                "Truth (y)": _fmt(r.get("truth", float("nan")), 2),
                "Credible": "yes" if _truthy(r["credible"]) else "no",
                "Why not": "" if _truthy(r["credible"]) else str(r["note"]),
            }
        )
    return pd.DataFrame(rows)


def _points(est: Any, lo: Any, hi: Any) -> str:
    """A change in accuracy in percentage points, with its interval."""
    if not finite(est):
        return MISSING
    interval = f" [{100 * lo:+.1f}, {100 * hi:+.1f}]" if finite(lo) and finite(hi) else ""
    return f"{100 * est:+.1f}{interval}"


def decomposition_table(change: pd.DataFrame) -> pd.DataFrame:
    """Each model's change from the youngest to the oldest group, split into face shape and
    expression development (percentage points, paired intervals), and the verdict."""
    cols = ["model", "control", "observed_change", "shape_change", "expression_change"]
    require_columns(change, cols, "decomposition_change", "decomposition_table")
    rows = []
    for _, r in change.iterrows():
        share = r.get("share_shape", float("nan"))
        rows.append(
            {
                "Model": model_label(r["model"]),
                "Control": pretty(r["control"]),
                "Change": f"{pretty(r['from_group'])} → {pretty(r['to_group'])}",
                "Observed (pts)": _points(
                    r["observed_change"], r["observed_ci_low"], r["observed_ci_high"]
                ),
                "Face shape (pts)": _points(
                    r["shape_change"], r["shape_ci_low"], r["shape_ci_high"]
                ),
                "Expression (pts)": _points(
                    r["expression_change"], r["expression_ci_low"], r["expression_ci_high"]
                ),
                "Face-shape share": f"{100 * share:.0f}%" if finite(share) else MISSING,
                "Verdict": str(r["verdict"]),
            }
        )
    return pd.DataFrame(rows)


def write_tables(
    cross_group: pd.DataFrame,
    trend_fits: pd.DataFrame,
    out_dir: Path | str,
    transition: pd.DataFrame | None = None,
    decomposition_change: pd.DataFrame | None = None,
) -> list[Path]:
    """Write cross_group, trend_fits and (when given) transition and decomposition tables
    as .md and .tex into `out_dir`; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cg = cross_group_table(cross_group)
    tf = trend_fit_table(trend_fits)
    scope = f"; intervals: {interval_scope(n_seeds(cross_group))}"
    specs = [
        (
            "cross_group",
            cg,
            "Expression recognition accuracy by age group (percent, with confidence interval)"
            + scope,
            "tab:cross_group",
        ),
        (
            "trend_fits",
            tf,
            "Linear and nonlinear fits of accuracy on age; tests are against the linear fit",
            "tab:trend_fits",
        ),
    ]
    if transition is not None:
        caption = (
            "Transition ages; an estimate the data cannot support is marked not credible" + scope
        )
        specs.append(("transition", transition_table(transition), caption, "tab:transition"))
    if decomposition_change is not None:
        caption = (
            "Change in accuracy from the youngest to the oldest age group: face shape vs "
            "expression development (percentage points)" + scope
        )
        specs.append(
            (
                "decomposition",
                decomposition_table(decomposition_change),
                caption,
                "tab:decomposition",
            )
        )
    paths: list[Path] = []
    for stem, table, caption, label in specs:
        md, tex = out / f"{stem}.md", out / f"{stem}.tex"
        md.write_text(f"{to_markdown(table)}\n{caption}.\n", encoding="utf-8")
        tex.write_text(to_latex(table, caption, label), encoding="utf-8")
        paths += [md, tex]
    return paths


def to_html(df: pd.DataFrame, title: str) -> str:
    """A whole table as a small standalone HTML page, for `snakemake --report`.

    The report shows HTML as a page but a Parquet file only as bytes; floats keep four
    significant digits, so p-values and accuracies both stay readable.
    """
    body = df.to_html(
        index=False,
        na_rep=MISSING,
        float_format=lambda x: f"{x:.4g}",
        border=0,
        classes="devfer",
        escape=True,
    )
    style = (
        "body{font-family:sans-serif;font-size:13px}"
        "table.devfer{border-collapse:collapse}"
        "table.devfer th,table.devfer td{padding:2px 8px;text-align:right;"
        "border-bottom:1px solid #ddd}"
        "table.devfer th{background:#f4f4f4}"
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{style}</style></head><body>\n<h3>{title}</h3>\n{body}\n</body></html>\n"
    )


def write_html_tables(tables: dict[str, str | Path], out_dir: str | Path) -> list[Path]:
    """`{name}.html` in `out_dir` for each Parquet table given by name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, path in tables.items():
        target = out_dir / f"{name}.html"
        target.write_text(to_html(pd.read_parquet(path), name.replace("_", " ")))
        written.append(target)
    return written
