"""The ``graphtwin`` command line."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from tqdm import tqdm

from graphtwin.bootstrap import Runtime, build_app, running
from graphtwin.config import Settings, load_settings
from graphtwin.errors import ShapeViolation, TwinError
from graphtwin.graph.arcadedb import ArcadeDBError
from graphtwin.logs import configure_logging
from graphtwin.semantics.documents import format_for_filename, parse_document, serialize

T = TypeVar("T")


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def _run(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    async def main() -> T:
        async with running(settings, supervise=False) as runtime:
            return await work(runtime)

    try:
        return asyncio.run(main())
    except TwinError as error:
        _fail(error)
        raise  # unreachable: _fail exits
    except ArcadeDBError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)


def _fail(error: TwinError) -> None:
    click.echo(f"error: {error.message}", err=True)
    if isinstance(error, ShapeViolation):
        for v in error.report.violations[:50]:
            click.echo(f"  {v.severity}: <{v.focus_node}> {v.path or ''}: {v.message}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data directory (embedded).")
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR.")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, log_level: str | None) -> None:
    """graphtwin: a semantic asset-graph twin server for manufacturing.

    Configuration comes from GRAPHTWIN_* environment variables (see the README);
    flags override them. Without GRAPHTWIN_NEO4J_URI graphtwin starts an embedded
    ArcadeDB in the data directory.
    """
    try:
        settings = load_settings().with_overrides(data_dir=data_dir, log_level=log_level)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    configure_logging(settings.log_level)
    ctx.obj = settings


@cli.command()
@click.option("--demo", is_flag=True, help="Import the demo plant if the graph has no sites.")
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--dev/--no-dev", default=None, help="Serve GraphiQL at /graphql.")
@click.pass_context
def serve(
    ctx: click.Context, demo: bool, host: str | None, port: int | None, dev: bool | None
) -> None:
    """Start the GraphQL server (and the embedded graph engine)."""
    import uvicorn

    settings = _settings(ctx).with_overrides(host=host, port=port, dev=dev)
    app = build_app(settings, demo=demo)
    click.echo(f"graphtwin on http://{settings.host}:{settings.port}/graphql", err=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", default=None, help="turtle, json-ld or nt (default: by suffix).")
@click.option("--replace", is_flag=True, help="Replace what the graph says of the subjects.")
@click.pass_context
def import_(ctx: click.Context, files: tuple[Path, ...], fmt: str | None, replace: bool) -> None:
    """Import RDF files; each file is one atomic, SHACL-validated write."""
    settings = _settings(ctx)

    async def work(runtime: Runtime) -> None:
        twins = runtime.services.twins
        total = sum(f.stat().st_size for f in files)
        with tqdm(total=total, unit="B", unit_scale=True, desc="import", file=sys.stderr) as bar:
            for path in files:
                bar.set_postfix_str(f"{path.name}: parsing")
                graph = parse_document(
                    path.read_bytes(),
                    fmt or format_for_filename(path.name),
                    max_bytes=None,
                )
                bar.set_postfix_str(f"{path.name}: validating and writing {len(graph)} triples")
                result = await twins.import_graph(graph, replace=replace)
                bar.update(path.stat().st_size)
                tqdm.write(
                    f"{path}: {len(graph)} triples, {len(result.created)} created, "
                    f"{len(result.updated)} updated",
                    file=sys.stderr,
                )

    _run(settings, work)


@cli.command()
@click.option("--format", "fmt", default="turtle", help="turtle, json-ld or nt.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File (default stdout).")
@click.pass_context
def export(ctx: click.Context, fmt: str, output: Path | None) -> None:
    """Export the whole graph as RDF."""

    async def work(runtime: Runtime) -> str:
        return serialize(await runtime.services.twins.export_graph(), fmt)

    text = _run(_settings(ctx), work)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def validate(ctx: click.Context, as_json: bool) -> None:
    """Validate the whole stored graph against the shapes (exit 1 on violations)."""

    async def work(runtime: Runtime) -> Any:
        return await runtime.services.twins.validate_all()

    report = _run(_settings(ctx), work)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "conforms": report.conforms,
                    "violations": [v.__dict__ for v in report.violations],
                },
                indent=2,
            )
        )
    else:
        for v in report.violations:
            click.echo(f"{v.severity}: <{v.focus_node}> {v.path or ''}: {v.message}")
        click.echo("conforms" if report.conforms else f"{len(report.violations)} violation(s)")
    sys.exit(0 if report.conforms else 1)


@cli.group()
def ontology() -> None:
    """Inspect the ontologies in force."""


@ontology.command("list")
@click.option("--properties", is_flag=True, help="List properties instead of classes.")
@click.pass_context
def ontology_list(ctx: click.Context, properties: bool) -> None:
    """Print the class hierarchy (or the properties) of the loaded ontologies."""
    from graphtwin.semantics.ontology import OntologyIndex

    settings: Settings = ctx.find_root().obj
    try:
        index = OntologyIndex.load(settings.ontology_dir)
    except TwinError as error:
        _fail(error)
        return
    if properties:
        for prop in sorted(index.properties.values(), key=lambda p: p.iri):
            unit = f" [{index.unit_of(prop.iri).symbol}]" if index.unit_of(prop.iri) else ""  # type: ignore[union-attr]
            click.echo(f"{prop.kind:10} {prop.iri}{unit}")
        return

    def show(iri: str, depth: int) -> None:
        cls = index.classes[iri]
        click.echo(f"{'  ' * depth}{iri}" + (f"  ({cls.label})" if cls.label else ""))
        for child in index.subclasses(iri, direct=True):
            show(child, depth + 1)

    for root in sorted(
        c.iri for c in index.classes.values() if not any(p in index.classes for p in c.parents)
    ):
        show(root, 0)


@cli.group()
def aas() -> None:
    """Asset Administration Shells (AAS v3.0): import and export."""


def _links(values: tuple[str, ...]) -> dict[str, str]:
    links: dict[str, str] = {}
    for value in values:
        shell_id, sep, iri = value.rpartition("=")
        if not sep or not shell_id or not iri:
            raise click.BadParameter(f"{value!r} is not SHELL_ID=IRI", param_hint="--link")
        links[shell_id] = iri
    return links


@aas.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", default=None, help="aasx, json or xml (default: by suffix).")
@click.option(
    "--link",
    "links",
    multiple=True,
    metavar="SHELL_ID=IRI",
    help="The asset a shell describes (repeatable); else matched by globalAssetId or "
    "serial number.",
)
@click.option("--replace", is_flag=True, help="Overwrite shells and submodels already stored.")
@click.pass_context
def aas_import(
    ctx: click.Context, file: Path, fmt: str | None, links: tuple[str, ...], replace: bool
) -> None:
    """Import an AAS environment (AASX, JSON or XML) as one atomic, validated write."""
    from graphtwin.aas.service import format_for_filename

    settings: Settings = ctx.find_root().obj
    link = _links(links)

    async def work(runtime: Runtime) -> None:
        service = runtime.services.aas
        if service is None:  # pragma: no cover - bootstrap always builds it
            raise click.ClickException("the AAS service is not available")
        try:
            kind = fmt or format_for_filename(file.name)
        except TwinError as error:
            raise click.BadParameter(error.message, param_hint="--format") from error
        result = await service.import_bytes(file.read_bytes(), kind, link=link, replace=replace)
        unchanged = f" ({len(result.unchanged)} unchanged)" if result.unchanged else ""
        click.echo(
            f"{file}: {len(result.shells)} shells, {len(result.submodels)} submodels, "
            f"{len(result.concept_descriptions)} concept descriptions{unchanged}, "
            f"{result.files} supplementary files; {len(result.write.created)} created, "
            f"{len(result.write.updated)} updated",
            err=True,
        )
        for shell_id, match in sorted(result.linked.items()):
            click.echo(f"  linked {shell_id} -> {match.asset} (by {match.by})", err=True)
        for shell_id, why in sorted(result.unlinked.items()):
            click.echo(f"  unlinked {shell_id}: {why}", err=True)

    _run(settings, work)


@aas.command("export")
@click.argument("iri")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["aasx", "json", "xml"], case_sensitive=False),
    default="aasx",
    show_default=True,
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File (default stdout).")
@click.pass_context
def aas_export(ctx: click.Context, iri: str, fmt: str, output: Path | None) -> None:
    """Export an asset (a site, line, machine, ...) and its parts as an AAS environment."""
    settings: Settings = ctx.find_root().obj

    async def work(runtime: Runtime) -> bytes:
        service = runtime.services.aas
        if service is None:  # pragma: no cover - bootstrap always builds it
            raise click.ClickException("the AAS service is not available")
        return await service.export(iri, fmt)

    data = _run(settings, work)
    if output:
        output.write_bytes(data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def main() -> None:
    cli()
