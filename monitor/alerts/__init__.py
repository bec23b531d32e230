"""Alerts: incident revisions, rules and outbox history go in; planned, rendered and delivered messages come out.

routing (which target, when; overrides after a merge, burst timing), merges (what a merge still owes each
target), health (when a feed is down or back up), digest (bursts and schedules), render (text), deliver
(apprise). All but deliver are pure; the store calls them inside its transactions.
"""
