"""Outbox rows written together (alerting.insert_alerts, used for targets whose timing reads no history):
each at most once by its idempotency key, in their order, and counted only when new."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.alerts.render import Message
from monitor.store import Store
from monitor.store.alerting import alert_row, insert_alert, insert_alerts

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _row(key: str, target: str = "ops") -> dict[str, object]:
    return alert_row(kind="incident", target=target, key=key, message=Message(f"title {key}", "body", "text"),
                     now=NOW)


def test_insert_alerts_writes_new_keys_once_in_order_and_counts_only_those(store: Store) -> None:
    with store.write() as conn:
        assert insert_alert(conn, kind="incident", target="ops", key="incident:INC-A:1:ops",
                            message=Message("first", "body", "text"), now=NOW)
        assert insert_alerts(conn, []) == 0
        written = insert_alerts(conn, [_row("incident:INC-A:1:ops"), _row("incident:INC-B:1:ops"),
                                       _row("incident:INC-C:1:ops", target="chat")])
        assert written == 2
        assert insert_alerts(conn, [_row("incident:INC-B:1:ops")]) == 0  # a retry writes nothing twice
    rows = store.outbox_rows()
    assert [r["idempotency_key"] for r in rows] == ["incident:INC-A:1:ops", "incident:INC-B:1:ops",
                                                    "incident:INC-C:1:ops"]
    assert rows[0]["title"] == "first"  # the existing row was left as it was
    assert [r["status"] for r in rows] == ["pending"] * 3
