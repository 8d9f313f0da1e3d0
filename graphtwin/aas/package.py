"""AASX packages (OPC/ECMA-376 zip): read with their supplementary files, write.

Reading walks the package the way basyx's ``AASXReader`` does (aasx-origin ->
aas-spec parts -> aas-spec-split parts, File elements -> supplementary parts),
but strictly and with errors that name the part or the element, and it also
reads each shell's default thumbnail.
"""

from __future__ import annotations

import datetime
import io
import logging
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from contextlib import closing

from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.util import traversal
from lxml import etree  # type: ignore[import-untyped]
from pyecma376_2.core_properties import OPCCoreProperties
from pyecma376_2.package_model import OPCRelationship, OPCTargetMode, part_realpath
from pyecma376_2.zip_package import ZipPackageReader

from graphtwin.aas.codec import read_json, read_xml
from graphtwin.aas.environment import Environment, SupplementaryFile, element_path
from graphtwin.errors import BadInput, PayloadTooLarge

log = logging.getLogger(__name__)

# Packages of AAS v2 tools use www.admin-shell.io relationship types (their AAS
# part is then refused as another version, with a clear message).
_WWW = "http://www.admin-shell.io/aasx/relationships/"
_ORIGIN = (aasx.RELATIONSHIP_TYPE_AASX_ORIGIN, f"{_WWW}aasx-origin")
_SPEC = (aasx.RELATIONSHIP_TYPE_AAS_SPEC, f"{_WWW}aas-spec")
_SPLIT = (aasx.RELATIONSHIP_TYPE_AAS_SPEC_SPLIT, f"{_WWW}aas-spec-split")
ENVIRONMENT_PART = "/aasx/data.xml"


def is_package_path(value: str | None) -> bool:
    """True for a path inside the package; absolute URIs and ``//host`` references
    point outside it."""
    return bool(value) and not value.startswith("//") and ":" not in value.split("/")[0]  # type: ignore[union-attr]


def unpacked_size(data: bytes) -> int:
    """What the package's zip entries add up to, unpacked (nothing is unpacked).

    :raises BadInput: not a zip file.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as probe:
            return sum(info.file_size for info in probe.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise BadInput(f"not an AASX package: the file is not a valid zip ({exc})") from exc


def read_aasx(data: bytes, *, max_unpacked: int) -> Environment:
    """The environment of an AASX package, with its supplementary files.

    :raises BadInput: not a zip, not an AASX package, a part is missing or does
        not parse (the message names it), or duplicate ids.
    :raises PayloadTooLarge: the package unpacks to more than ``max_unpacked`` bytes.
    """
    unpacked = unpacked_size(data)
    if unpacked > max_unpacked:
        raise PayloadTooLarge(
            f"the AASX package unpacks to {unpacked} bytes, more than the limit of {max_unpacked}"
        )
    try:
        reader = ZipPackageReader(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError) as exc:
        raise BadInput(f"not a valid AASX (OPC) package: {exc}") from exc
    with closing(reader):
        return _read_package(reader)


def _related(reader: ZipPackageReader, part: str, types: Iterable[str]) -> list[str]:
    try:
        related = reader.get_related_parts_by_type(part)
    except (KeyError, ValueError, IndexError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise BadInput(f"AASX relationships of {part} do not parse: {exc}") from exc
    return [target for t in types for target in related.get(t, [])]


def _read_part(reader: ZipPackageReader, name: str) -> bytes:
    try:
        with reader.open_part(name) as part:
            return bytes(part.read())
    except KeyError as exc:
        raise BadInput(f"the AASX package has no part {name}") from exc
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:  # CRC, bad deflate
        raise BadInput(f"AASX part {name} is corrupt: {exc}") from exc


def _read_package(reader: ZipPackageReader) -> Environment:
    origins = _related(reader, "/", _ORIGIN)
    if not origins:
        raise BadInput("not an AASX package: it has no aasx-origin relationship")
    specs: list[str] = []
    for origin in origins:
        for spec in _related(reader, origin, _SPEC):
            specs += [spec, *_related(reader, spec, _SPLIT)]
    if not specs:
        raise BadInput("the AASX package holds no AAS part (no aas-spec relationship)")
    env = Environment()
    for name in specs:
        env.merge(_read_spec_part(reader, name))
    env.check_unique_ids()
    return env


def _read_spec_part(reader: ZipPackageReader, name: str) -> Environment:
    data = _read_part(reader, name)
    content_type = reader.get_content_type(name).split(";")[0].strip()
    where = f"AASX part {name}: "
    if content_type in ("text/xml", "application/xml") or name.lower().endswith(".xml"):
        env = read_xml(data, where=where)
    elif content_type in ("text/json", "application/json") or name.lower().endswith(".json"):
        env = read_json(data, where=where)
    else:
        raise BadInput(f"{where}neither XML nor JSON (content type {content_type!r})")
    _collect_files(reader, name, env)
    return env


def _supplementary(
    reader: ZipPackageReader, value: str, source: str, what: str
) -> tuple[str, SupplementaryFile]:
    try:
        absolute = part_realpath(value, source)
    except IndexError as exc:
        raise BadInput(f"{what}: the path {value!r} leaves the package") from exc
    try:
        content_type = reader.get_content_type(absolute)
    except KeyError as exc:
        raise BadInput(
            f"{what} refers to {value!r}, which the AASX package does not contain"
        ) from exc
    return absolute, SupplementaryFile(content_type, _read_part(reader, absolute))


def _collect_files(reader: ZipPackageReader, source: str, env: Environment) -> None:
    """Read the parts File elements and default thumbnails point at; their values
    become absolute part names (as basyx's reader does)."""
    for submodel in env.submodels:
        for element in traversal.walk_submodel(submodel):
            if isinstance(element, model.File) and is_package_path(element.value):
                what = f"submodel {submodel.id!r}, File element {element_path(element)!r}"
                name, found = _supplementary(reader, str(element.value), source, what)
                env.files[name] = found
                element.value = name
    for shell in env.shells:
        thumbnail = shell.asset_information.default_thumbnail
        if thumbnail is not None and is_package_path(thumbnail.path):
            what = f"shell {shell.id!r}, default thumbnail"
            name, found = _supplementary(reader, thumbnail.path, source, what)
            env.files[name] = found
            thumbnail.path = name


def write_aasx(
    objects: Iterable[model.Identifiable], files: Mapping[str, SupplementaryFile]
) -> bytes:
    """An AASX package: the objects as one XML part, plus the supplementary files
    File elements and default thumbnails refer to."""
    objects = list(objects)
    container = aasx.DictSupplementaryFileContainer()  # type: ignore[no-untyped-call]
    for name, found in sorted(files.items()):
        container.add_file(name, io.BytesIO(found.data), found.content_type)
    thumbnails = sorted(
        {
            shell.asset_information.default_thumbnail.path
            for shell in objects
            if isinstance(shell, model.AssetAdministrationShell)
            and shell.asset_information.default_thumbnail is not None
            and shell.asset_information.default_thumbnail.path in files
        }
    )
    referenced = {
        element.value
        for submodel in objects
        if isinstance(submodel, model.Submodel)
        for element in traversal.walk_submodel(submodel)
        if isinstance(element, model.File)
    }
    buffer = io.BytesIO()
    # failsafe: a File whose bytes graphtwin never had (imported from JSON or XML)
    # is logged and left out, as basyx does, instead of refusing the whole export.
    with aasx.AASXWriter(buffer, failsafe=True) as writer:
        writer.write_all_aas_objects(
            ENVIRONMENT_PART,
            model.DictObjectStore(objects),
            container,
            additional_relationships=[
                OPCRelationship(
                    f"thumbnail{index}",
                    aasx.RELATIONSHIP_TYPE_AAS_SUPL,
                    name,
                    OPCTargetMode.INTERNAL,
                )
                for index, name in enumerate(thumbnails)
            ],
        )
        for name in thumbnails:
            if name not in referenced:
                with writer.writer.open_part(name, files[name].content_type) as part:
                    part.write(files[name].data)
        properties = OPCCoreProperties()  # type: ignore[no-untyped-call]
        properties.creator = "graphtwin"
        properties.created = datetime.datetime.now(datetime.UTC)
        writer.write_core_properties(properties)
    return buffer.getvalue()
