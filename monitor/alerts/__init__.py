"""Alerts: incident views and rules go in; planned, rendered and delivered messages come out.

routing (which target, when), digest (bursts and schedules), render (text), deliver (apprise), health (feeds).
"""
