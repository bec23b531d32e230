"""Convert world-atlas's countries-110m.json (TopoJSON, ISC, Natural Earth 1:110m) into the compact GeoJSON
the dashboard draws as its base map: monitor/web/static/vendor/countries-110m.geojson.

Run once when the outlines change:
    cd /tmp && npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python scripts/make_outlines.py /tmp/package/countries-110m.json

Coordinates are rounded to 0.01 degree (about 1 km, far finer than 1:110m) and only each country's name
is kept, so the file stays small. The decoding follows the TopoJSON specification (quantized, delta-encoded
arcs; a negative arc index ~i is arc i reversed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "monitor" / "web" / "static" / "vendor" / "countries-110m.geojson"
Point = list[float]


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append([round(x * sx + tx, 2), round(y * sy + ty, 2)])
        arcs.append(points)
    return arcs


def ring(indexes: list[int], arcs: list[list[Point]]) -> list[Point]:
    out: list[Point] = []
    for i in indexes:
        points = arcs[i] if i >= 0 else arcs[~i][::-1]
        out.extend(points[1:] if out else points)  # consecutive arcs share their end point
    return out


def geometry(geom: dict[str, Any], arcs: list[list[Point]]) -> dict[str, Any] | None:
    if geom.get("type") == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r, arcs) for r in geom["arcs"]]}
    if geom.get("type") == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [[ring(r, arcs) for r in p] for p in geom["arcs"]]}
    return None  # a country without a shape at this scale


def convert(topology: dict[str, Any]) -> dict[str, Any]:
    arcs = decode_arcs(topology)
    features = []
    for geom in topology["objects"]["countries"]["geometries"]:
        shape = geometry(geom, arcs)
        if shape is not None:
            features.append({"type": "Feature", "properties": {"name": geom.get("properties", {}).get("name")},
                             "geometry": shape})
    return {"type": "FeatureCollection", "features": features}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topojson", type=Path, help="world-atlas countries-110m.json")
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        topology = json.loads(args.topojson.read_text(encoding="utf-8"))
        collection = convert(topology)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"Error: {args.topojson}: not a world-atlas TopoJSON file ({exc})", file=sys.stderr)
        return 1
    args.output.write_text(json.dumps(collection, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{args.output}: {len(collection['features'])} countries, {args.output.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
