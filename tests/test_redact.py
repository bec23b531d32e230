"""monitor.redact: URLs reduced to scheme and host; secrets removed from free text."""

from __future__ import annotations

import pytest

from monitor.redact import redact_text, redact_url, secret_parts

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#desk"
TGRAM = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-100123456"
DISCORD = "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js"
MAILTOS = "mailtos://alerts:Sup3r%2FSecret@smtp.example.org:587?from=alerts@example.org&to=desk@example.org"
POSTGRES = "postgresql+psycopg://monitor:hunter2pw@db.example.org:5432/monitor"


@pytest.mark.parametrize(("url", "expected"), [
    # Tokens in the host position: nothing but the scheme is shown.
    (SLACK, "slack://***"),
    (TGRAM, "tgram://***"),
    (DISCORD, "discord://***"),
    ("pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@azGDORePK8gMaC0QOYAMyEEuzJnyUi", "pover://***"),
    # A real host is kept; userinfo, path and query are not.
    (MAILTOS, "mailtos://***@smtp.example.org:587/***"),
    ("mailto://user:pass@gmail.com", "mailto://***@gmail.com"),
    ("mailtos://smtp.example.com/?user=desk&pass=secret", "mailtos://smtp.example.com/***"),
    ("json://127.0.0.1:9000/hook", "json://127.0.0.1:9000/***"),
    ("json://localhost:9000", "json://localhost:9000"),
    ("jsons://[::1]:8443/hook", "jsons://[::1]:8443/***"),
    ("https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajk", "https://hooks.slack.com/***"),
    ("HTTPS://Example.ORG/feed?token=abc#x", "https://example.org/***"),
    (POSTGRES, "postgresql+psycopg://***@db.example.org:5432/***"),
    ("postgresql://monitor:pw@db/monitor", "postgresql://***"),
    # A non-numeric "port" is a token in disguise.
    ("xyz://host.example.org:SECRETTOKEN", "xyz://host.example.org/***"),
    # A JWT has dots but is no host name.
    ("ntfy://eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
     "ntfy://***"),
    # SQLite URLs hold a file name, never a credential.
    ("sqlite:////var/lib/ceasefire-monitor/monitor.db", "sqlite:////var/lib/ceasefire-monitor/monitor.db"),
    # Not a URL at all: nothing can be trusted.
    ("TIiajkdnlazkcOXrIdevi7FQ", "***"),
    ("", "***"),
])
def test_redact_url_keeps_only_scheme_and_a_real_host(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_secret_parts_include_the_pieces_a_notifier_quotes() -> None:
    parts = secret_parts(SLACK)
    assert {SLACK, "T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ"} <= parts
    assert "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" in secret_parts(TGRAM)
    assert {"Sup3r%2FSecret", "Sup3r/Secret"} <= secret_parts(MAILTOS)
    assert "smtp.example.org" not in secret_parts(MAILTOS)  # a host name is not a secret
    assert secret_parts("  ") == set()


def test_redact_text_hides_the_http_form_of_an_apprise_url() -> None:
    # apprise reports failures with the HTTPS URL it built, not the slack:// URL it was given.
    error = "POST https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ: 404 no_team"
    redacted = redact_text(error, [SLACK])
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in redacted and "T1JJ3T3L2" not in redacted
    assert redacted.endswith(": 404 no_team")
    assert "hooks.slack.com" in redacted


def test_redact_text_hides_a_telegram_bot_token() -> None:
    error = "Failed to send to bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw (chat 42)"
    assert redact_text(error, [TGRAM]) == "Failed to send to bot *** (chat 42)"


def test_redact_text_hides_passwords_even_when_quoted_alone() -> None:
    error = "SMTP AUTH failed for alerts with password Sup3r/Secret"
    assert "Sup3r/Secret" not in redact_text(error, [MAILTOS])


def test_redact_text_redacts_credential_urls_it_was_not_told_about() -> None:
    error = "could not connect to postgresql://monitor:hunter2pw@db.example.org:5432/monitor: timeout"
    assert redact_text(error) == "could not connect to postgresql://***@db.example.org:5432/***: timeout"
    assert redact_text("bad URL slack://T1/A1/B1 given") == "bad URL slack://*** given"
    assert redact_text("GET https://user:pw@example.org/x failed") == "GET https://***@example.org/*** failed"


def test_redact_text_keeps_plain_web_urls_but_not_their_keys() -> None:
    text = "fetch https://oc-media.org/feed/?page=2&api_key=abc123 failed: 503"
    assert redact_text(text) == "fetch https://oc-media.org/feed/?page=2&api_key=*** failed: 503"


def test_redact_text_replaces_the_longest_secret_first() -> None:
    assert redact_text("token abcdef-123456 and abcdef", ["abcdef", "abcdef-123456"]) == "token *** and ***"


def test_redact_text_leaves_text_without_secrets_alone() -> None:
    text = "feed OC Media: http_503: Service Unavailable (retry in 120s)"
    assert redact_text(text, [SLACK, "", "  "]) == text


# -- over-masking: addresses are not credentials --------------------------------------------------------

LOOPBACK_TARGET = "json://127.0.0.1:8080/hook"


@pytest.mark.parametrize("secret", [LOOPBACK_TARGET, "jsons://localhost:8443/hook", "json://[::1]:8080/hook",
                                    "postgresql+psycopg://monitor:hunter2pw@db.example.org:5432/monitor"])
def test_secret_parts_leave_out_a_real_host_and_port(secret: str) -> None:
    authority = secret.partition("://")[2].partition("/")[0].rpartition("@")[2]
    host, _, port = authority.rpartition(":")
    assert not {authority, host, port} & secret_parts(secret)


def test_redact_text_keeps_host_and_port_of_a_loopback_webhook_without_credentials() -> None:
    error = "POST http://127.0.0.1:8080/hook: Connection refused (127.0.0.1:8080)"
    assert redact_text(error, [LOOPBACK_TARGET]) == error
    assert redact_text(error) == error
    assert redact_text(error, ["http://localhost:8080/hook"]) == error


def test_redact_text_shows_a_quoted_secret_url_as_redact_url_does() -> None:
    assert redact_text(f"cannot load {LOOPBACK_TARGET} now", [LOOPBACK_TARGET]) == \
        "cannot load json://127.0.0.1:8080/*** now"
    assert redact_text("Failed POST http://127.0.0.1:8080/hook", ["http://127.0.0.1:8080/hook"]) == \
        "Failed POST http://127.0.0.1:8080/***"


def test_redact_text_keeps_the_database_address_but_not_its_password() -> None:
    error = "connection to db.example.org:5432 failed: password authentication failed (hunter2pw)"
    assert redact_text(error, [POSTGRES]) == \
        "connection to db.example.org:5432 failed: password authentication failed (***)"


def test_redact_text_still_masks_credentials_of_a_loopback_webhook() -> None:
    secret = "json://user:S3cretPass@127.0.0.1:8080/hook?token=TOPSECRET"
    error = f"POST http://127.0.0.1:8080/hook?token=TOPSECRET failed; auth S3cretPass; url {secret}"
    assert redact_text(error, [secret]) == \
        "POST http://127.0.0.1:8080/hook?token=*** failed; auth ***; url json://***@127.0.0.1:8080/***"
    # Untold: userinfo and key parameters are recognised by shape, the address is kept.
    assert redact_text("GET http://u:S3cretPass@127.0.0.1:8080/hook failed") == \
        "GET http://***@127.0.0.1:8080/*** failed"
    assert redact_text("POST http://127.0.0.1:8080/hook?api_key=K3y&x=1 failed") == \
        "POST http://127.0.0.1:8080/hook?api_key=***&x=1 failed"


@pytest.mark.parametrize(("secret", "token"), [
    ("xyz://host.example.org:SECRETTOKEN", "SECRETTOKEN"),      # a token in the port position
    ("xyz://host.example.org:123456789", "123456789"),          # digits, but no port number
    (TGRAM, "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),   # a token in the host:port position
])
def test_tokens_posing_as_host_or_port_are_still_hidden(secret: str, token: str) -> None:
    assert token in secret_parts(secret)
    assert token not in redact_text(f"error at {token}", [secret])
    assert token not in redact_url(secret)
