"""Feeds: a feed URL goes in (with its conditional-GET state); parsed FeedItems and fetch outcomes come out.

fetch (HTTP with caps and retries) -> body, http_errors, retry, urls (its helpers) -> parse (bytes to items).
"""
