"""``ferkit.analyze`` and ``ferkit.analyze_iter``: the rows of ``ferkit predict``, from Python."""

from __future__ import annotations

import ferkit


def test_analyze_writes_the_rows_of_predict(reference, collection, model_ref, tmp_path, parquet_rows):
    summary = ferkit.analyze([collection], out=tmp_path / "pq", workers=1, model=model_ref)
    assert parquet_rows(tmp_path / "pq") == reference["rows"]
    assert summary["files"] == 11 and summary["errors"] == 2
    assert summary["faces"] == len(reference["rows"]["faces"])


def test_analyze_iter_yields_one_item_per_input(reference, collection, model_ref):
    paths = [collection / "broken.jpg", collection / "group.jpeg", collection / "missing.jpg"]
    items = list(ferkit.analyze_iter(paths, workers=1, model=model_ref))
    assert [i["kind"] for i in items] == ["error", "error", "image"]  # missing paths first, then input order
    assert items[0]["path"] == str(collection / "missing.jpg")
    assert items[1]["path"] == str(collection / "broken.jpg")
    boxes = [f["box"] for f in items[2]["faces"]]
    expected = [
        [dict(r)[k] for k in ("x1", "y1", "x2", "y2")]
        for r in reference["rows"]["faces"]
        if dict(r)["path"] == str(collection / "group.jpeg")
    ]
    assert sorted(boxes) == sorted(expected) and boxes
