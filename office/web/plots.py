"""Drawing the dashboard's figures as SVG on the server (matplotlib, no script in the page)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: files only

from matplotlib import pyplot as plt

from casework.dashboard import Figure

plt.rcParams["font.family"] = ["Noto Sans CJK JP", "IPAexGothic", "DejaVu Sans"]
plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, and the browser's font


def svg(figure: Figure) -> str:
    """The figure as an SVG document (bars for a table of counts)."""
    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    try:
        labels = [str(row[0]) for row in figure.rows]
        series = figure.columns[1:]
        width = 0.8 / max(1, len(series))
        for i, name in enumerate(series):
            values = [float(row[i + 1]) for row in figure.rows]
            ax.bar([x + i * width for x in range(len(labels))], values, width, label=name)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(figure.title, fontsize=10)
        if len(series) > 1:
            ax.legend(fontsize=8)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg")
        return out.getvalue()
    finally:
        plt.close(fig)
