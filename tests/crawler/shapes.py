"""The extraction figure: what a crawl of the fixture web read, per shape and per field, against
the rows each shape publishes (``synth.broker_web.build_fixture``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from store.models import Listing, ListingRow
from store.runtime import Store
from store.sealed import LISTING_ROW_PII
from synth.broker_web import FIELDS, SHAPES, Fixture

# listing key (path on the fixture web) -> the shape it publishes
SHAPE_OF_PATH = {
    "/meibo/list": "paginated_sjis_table",
    "/catalog/item/1.html": "catalog_headed_table",
    "/catalog/item/2.html": "headerless_table",
    "/catalog/files/sample.csv": "csv_cp932",
    "/catalog/files/sample.xlsx": "xlsx",
    "/paste/raw/x7Kq2": "paste_eucjp",
    "/liar/a.html": "lying_charset",
    "/liar/b.html": "lying_charset",
    "/takedown/": "takedown",
    "/spa/list": "script_only",
    "/pastes/raw/k3Vd9.txt": "paste_text",
    "/pastes/raw/Qm72x.txt": "paste_text",
    "/pastes/raw/pZ04t": "paste_text",
}

Row = tuple[str, ...]


def rows_by_shape(store: Store, base: str) -> dict[str, list[Row]]:
    """The rows the store holds (not gone) for each shape's listings."""
    out: dict[str, list[Row]] = {s: [] for s in SHAPES}
    host = base.split("://", 1)[1]
    with store.sessions() as s:
        q = select(ListingRow, Listing.key).join(Listing).where(ListingRow.gone_at.is_(None))
        for row, key in s.execute(q):
            shape = SHAPE_OF_PATH.get(key.removeprefix(host))
            if shape:
                pii = store.vault.open_json(row.pii, LISTING_ROW_PII)
                out[shape].append(tuple(pii.get(f, "") for f in FIELDS))
    return out


@dataclass(frozen=True)
class ShapeFigure:
    exact: int  # rows read with every field exactly as published, in its column
    published: int
    extracted: int
    fields: dict[str, tuple[int, int]]  # field -> (values found in that column, published)

    def line(self, shape: str) -> str:
        per_field = " ".join(f"{f}={got}/{of}" for f, (got, of) in self.fields.items() if of)
        return (
            f"{shape:22} {self.exact:4}/{self.published:<4} exact, {self.extracted:4} read  "
            f"{per_field}"
        )


def figures(got: dict[str, list[Row]], fixture: Fixture) -> dict[str, ShapeFigure]:
    out = {}
    for shape in SHAPES:
        truth_rows = [tuple(r[f] for f in FIELDS) for r in fixture.shapes[shape]]
        exact = sum((Counter(truth_rows) & Counter(got[shape])).values())
        fields = {}
        for i, f in enumerate(FIELDS):
            published = Counter(r[i] for r in truth_rows if r[i])
            read = Counter(r[i] for r in got[shape] if r[i])
            fields[f] = (sum((published & read).values()), sum(published.values()))
        out[shape] = ShapeFigure(exact, len(truth_rows), len(got[shape]), fields)
    return out


def report(title: str, figs: dict[str, ShapeFigure]) -> str:
    return "\n".join([f"\n{title}", *(fig.line(shape) for shape, fig in figs.items())])
