"""`gazetteer import` and `gazetteer download`: the local place index from GeoNames dumps."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from monitor.cli.app import App, main, pass_app
from monitor.errors import InputError

_DUMP_NAME = re.compile(r"^([A-Za-z]{2}|allCountries|cities(500|1000|5000|15000))$")
_CHUNK = 1 << 16


@main.group(cls=type(main))
def gazetteer() -> None:
    """The local place index: villages and districts from GeoNames dumps.

    The shipped index knows towns of 15,000 people and more (500 and more in the areas of the
    followed conflicts). Import a country's GeoNames dump to reach its villages and districts; the
    daemon, the CLI and the API use the local index when it exists ([gazetteer] index).

    \b
    Examples:
      ceasefire-monitor gazetteer download AM
      ceasefire-monitor gazetteer import ~/Downloads/AZ.zip ~/Downloads/admin2Codes.txt
    """


@gazetteer.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@pass_app
def gazetteer_import(app: App, files: tuple[str, ...]) -> None:
    """Add the places of GeoNames dump files to the local place index.

    FILES: a country's XX.zip (or XX.txt), allCountries.zip, cities500.zip, admin1CodesASCII.txt,
    admin2Codes.txt, alternateNamesV2.zip or alternatenames/XX.zip, in that order (alternate names
    join the places already imported). Each import extends the index; a bad file leaves it as it was.

    \b
    Examples:
      ceasefire-monitor gazetteer import UA.zip admin2Codes.txt
      ceasefire-monitor --config /etc/ceasefire-monitor/config.toml gazetteer import alternatenames/UA.zip
    """
    for name in files:
        if not Path(name).is_file():
            raise InputError(f"{name}: no such file")
    _import(app, [Path(f) for f in files])


@gazetteer.command("download")
@click.argument("country")
@click.option("--alternate-names", is_flag=True, help="Also fetch and import alternatenames/XX.zip.")
@click.option("--keep", metavar="DIR", type=click.Path(file_okay=False),
              help="Keep the downloaded files in DIR (default: delete them after the import).")
@pass_app
def gazetteer_download(app: App, country: str, alternate_names: bool, keep: str | None) -> None:
    """Fetch a country's GeoNames dump ([gazetteer] download_url + XX.zip) and import it.

    COUNTRY: an ISO 3166-1 alpha-2 code (UA, AM, SD), or cities500 / allCountries. The admin2 code
    table is fetched too, so districts are named.

    \b
    Examples:
      ceasefire-monitor gazetteer download UA
      ceasefire-monitor gazetteer download SD --alternate-names --keep ~/geonames
    """
    if not _DUMP_NAME.match(country):
        raise InputError(f"COUNTRY: {country!r} is not a two-letter country code, cities500 or allCountries",
                         hint="for example: ceasefire-monitor gazetteer download UA")
    name = country.upper() if len(country) == 2 else country
    base = app.settings.gazetteer.download_url
    wanted = [f"{name}.zip", "admin2Codes.txt"]
    if alternate_names:
        wanted.append(f"alternatenames/{name}.zip" if len(name) == 2 else "alternateNamesV2.zip")
    with _folder(keep) as folder:
        paths = [_fetch(base + file, folder / file.replace("/", "-"), app) for file in wanted]
        _import(app, paths)


def _import(app: App, paths: list[Path]) -> None:
    from monitor.reading.geonames_import import import_files

    index = Path(app.settings.gazetteer.index or "gazetteer.sqlite")
    with _progress() as bar:
        report = import_files(index, paths, bar)
    click.echo(f"{index}: {report.places} settlements, {report.divisions} divisions, "
               f"{report.alternate_names} alternate names added from {len(report.files)} file(s)")
    if report.skipped_names:
        click.echo(f"note: {report.skipped_names} alternate names of places not in the index were skipped "
                   "(import the country's dump first)", err=True)


def _fetch(url: str, target: Path, app: App) -> Path:
    """Download `url` to `target` with a progress bar. Raises InputError with the URL on any failure."""
    import httpx

    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60.0,
                          headers={"User-Agent": "ceasefire-monitor (gazetteer download)"}) as response:
            if response.status_code != 200:
                raise InputError(f"{url}: HTTP {response.status_code}",
                                 hint="check the country code and [gazetteer] download_url")
            total = int(response.headers.get("content-length") or 0)
            with _progress(f"download {target.name}") as bar, open(target, "wb") as out:
                for chunk in response.iter_bytes(_CHUNK):
                    out.write(chunk)
                    bar(response.num_bytes_downloaded, total or response.num_bytes_downloaded)
    except httpx.HTTPError as e:
        raise InputError(f"{url}: cannot download ({type(e).__name__}: {e})",
                         hint="check the network and [gazetteer] download_url") from e
    except OSError as e:
        raise InputError(f"{target}: cannot write ({e.strerror or e})") from e
    return target


@contextmanager
def _folder(keep: str | None) -> Iterator[Path]:
    if keep is not None:
        folder = Path(keep).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"--keep: cannot create {folder} ({e.strerror or e})") from e
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="cfm-geonames-") as tmp:
        yield Path(tmp)


@contextmanager
def _progress(label: str = "import") -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr, fed (done, total) byte counts."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update
