"""AAS JSON, XML and AASX reading and writing (graphtwin.aas.codec, .package): round
trips of every element kind, and bad input refused with a message that names the
part, identifiable or element."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from basyx.aas import model

from graphtwin.aas.codec import from_document, read_json, read_xml, to_document
from graphtwin.aas.environment import Environment, element_path
from graphtwin.aas.package import read_aasx
from graphtwin.aas.service import format_for_filename, normalize_format
from graphtwin.aas.vocab import Kind, encode_id, resource_iri
from graphtwin.errors import BadInput, PayloadTooLarge
from tests.unit.test_aas_sample import (
    MANUAL,
    MANUAL_BYTES,
    SHELL_ID,
    SUBMODEL_ID,
    THUMBNAIL,
    THUMBNAIL_BYTES,
    canonical,
    sample_environment,
    serialize,
)

LIMIT = 10_000_000


def read(data: bytes, fmt: str) -> Environment:
    if fmt == "aasx":
        return read_aasx(data, max_unpacked=LIMIT)
    return read_json(data) if fmt == "json" else read_xml(data)


def rezip(data: bytes, *, drop: tuple[str, ...] = (), put: dict[str, bytes] | None = None) -> bytes:
    """``data`` (a zip) without the entries in ``drop`` and with ``put`` written over."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename in drop or info.filename in (put or {}):
                continue
            target.writestr(info, source.read(info.filename))
        for name, content in (put or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def sample_json() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(serialize(sample_environment(), "json"))
    return loaded


def bad_input(data: bytes, fmt: str) -> str:
    with pytest.raises(BadInput) as caught:
        read(data, fmt)
    return caught.value.message


# --- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["aasx", "json", "xml"])
def test_every_element_kind_survives_write_then_read(fmt: str) -> None:
    env = sample_environment()

    back = read(serialize(env, fmt), fmt)

    assert canonical(back) == canonical(env)


def test_aasx_brings_its_supplementary_files_and_thumbnail() -> None:
    back = read_aasx(serialize(sample_environment(), "aasx"), max_unpacked=LIMIT)

    assert back.files[MANUAL].data == MANUAL_BYTES
    assert back.files[MANUAL].content_type == "application/pdf"
    assert back.files[THUMBNAIL].data == THUMBNAIL_BYTES
    manual = back.submodels[0].get_referable("Manual")
    assert isinstance(manual, model.File)
    assert manual.value == MANUAL


def test_a_relative_file_path_becomes_the_absolute_part_name() -> None:
    env = sample_environment()
    manual = env.submodels[0].get_referable("Manual")
    assert isinstance(manual, model.File)
    data = serialize(env, "aasx")
    # The environment part is /aasx/data.xml, so "files/manual.pdf" is /aasx/files/manual.pdf.
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        xml = package.read("aasx/data.xml").replace(
            b"<aas:value>/aasx/files/manual.pdf</aas:value>",
            b"<aas:value>files/manual.pdf</aas:value>",
        )

    back = read_aasx(rezip(data, put={"aasx/data.xml": xml}), max_unpacked=LIMIT)

    read_manual = back.submodels[0].get_referable("Manual")
    assert isinstance(read_manual, model.File)
    assert read_manual.value == MANUAL
    assert back.files[MANUAL].data == MANUAL_BYTES


def test_a_shell_document_lists_submodels_in_id_order_whatever_the_set_order() -> None:
    shell = sample_environment().shells[0]

    document = json.loads(to_document(shell))

    values = [r["keys"][0]["value"] for r in document["submodels"]]
    assert values == sorted(values)
    back = from_document(to_document(shell), Kind.SHELL)
    assert to_document(back) == to_document(shell)


def test_a_stored_document_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(BadInput, match="not a Submodel"):
        from_document(to_document(sample_environment().shells[0]), Kind.SUBMODEL)


def test_element_paths_name_list_items_by_index() -> None:
    submodel = sample_environment().submodels[0]
    markings = submodel.get_referable("Markings")
    assert isinstance(markings, model.SubmodelElementList)
    geo = submodel.get_referable(["Address", "Geo", "Lat"])

    assert element_path(list(markings.value)[1]) == "Markings[1]"
    assert element_path(geo) == "Address.Geo.Lat"


def test_resource_iris_are_base64url_of_the_id_without_padding() -> None:
    assert encode_id("a") == "YQ"
    assert (
        resource_iri("https://acme.example/", Kind.SUBMODEL, "a")
        == "https://acme.example/aas/submodels/YQ"
    )


def test_formats_by_name_and_suffix() -> None:
    assert normalize_format("AASX") == "aasx"
    assert format_for_filename("plant.aasx") == "aasx"
    assert format_for_filename("/tmp/env.JSON") == "json"
    with pytest.raises(BadInput, match="unknown AAS format"):
        format_for_filename("plant.ttl")


# --- bad JSON ----------------------------------------------------------------------


def test_invalid_json_names_line_and_column() -> None:
    message = bad_input(b'{"submodels": [\n  {"id": }]}', "json")
    assert "invalid JSON at line 2, column 10" in message


def test_one_identifiable_on_its_own_is_an_environment_of_one() -> None:
    submodel = sample_environment().submodels[0]
    data = json.dumps(json.loads(to_document(submodel))).encode()

    env = read_json(data)

    assert [s.id for s in env.submodels] == [SUBMODEL_ID]
    assert env.shells == [] and env.concept_descriptions == []


def test_json_that_is_not_an_environment() -> None:
    assert "must be an object" in bad_input(b"[1, 2]", "json")
    assert "'submodels' must be a list" in bad_input(b'{"submodels": {}}', "json")


def test_a_defective_nested_json_element_is_named_by_its_path() -> None:
    data = sample_json()
    submodel = data["submodels"][0]  # type: ignore[index]
    address = next(e for e in submodel["submodelElements"] if e["idShort"] == "Address")
    geo = address["value"][1]
    geo["value"][0]["valueType"] = "xs:bogus"

    message = bad_input(json.dumps(data).encode(), "json")

    assert f"submodel {SUBMODEL_ID!r}, element 'Address.Geo.Lat'" in message
    assert "xs:bogus" in message
    assert "nothing was written" in message


def test_a_defective_list_item_is_named_by_its_index() -> None:
    data = sample_json()
    submodel = data["submodels"][0]  # type: ignore[index]
    markings = next(e for e in submodel["submodelElements"] if e["idShort"] == "Markings")
    markings["value"][1]["idShort"] = "NotAllowed"  # AASd-120: list items have no idShort

    message = bad_input(json.dumps(data).encode(), "json")

    assert "element 'Markings.NotAllowed'" in message or "element 'Markings'" in message
    assert "AASd-120" in message


def test_an_identifiable_without_id_is_named_by_its_position() -> None:
    data = sample_json()
    del data["submodels"][1]["id"]  # type: ignore[index]

    message = bad_input(json.dumps(data).encode(), "json")

    assert message.startswith("submodels[1]")


def test_an_object_in_the_wrong_list_is_refused() -> None:
    data = sample_json()
    data["submodels"].append(data["assetAdministrationShells"][0])  # type: ignore[attr-defined,index]

    assert "is not a Submodel" in bad_input(json.dumps(data).encode(), "json")


def test_duplicate_ids_in_json_are_refused() -> None:
    data = sample_json()
    data["submodels"][1]["id"] = SUBMODEL_ID  # type: ignore[index]

    message = bad_input(json.dumps(data).encode(), "json")

    assert message == f"duplicate id {SUBMODEL_ID!r}: two submodels use it"


def test_an_id_shared_by_a_shell_and_a_submodel_is_a_duplicate() -> None:
    data = sample_json()
    data["submodels"][1]["id"] = SHELL_ID  # type: ignore[index]

    assert "a shell and a submodel use it" in bad_input(json.dumps(data).encode(), "json")


def test_aas_v2_json_is_an_unsupported_version() -> None:
    v2 = {
        "assetAdministrationShells": [
            {"identification": {"id": "urn:x", "idType": "IRI"}, "modelType": {"name": "AAS"}}
        ],
        "assets": [],
        "submodels": [],
        "conceptDescriptions": [],
    }
    assert "unsupported AAS version" in bad_input(json.dumps(v2).encode(), "json")


# --- bad XML -----------------------------------------------------------------------


def test_invalid_xml() -> None:
    assert bad_input(b"<aas:environment", "xml").startswith("invalid XML")


def test_a_defective_nested_xml_element_is_named_by_its_path() -> None:
    xml = serialize(sample_environment(), "xml")
    broken = xml.replace(b"<aas:idShort>Lat</aas:idShort>", b"<aas:idShort>9Lat</aas:idShort>")

    message = bad_input(broken, "xml")

    assert f"submodel {SUBMODEL_ID!r}, element 'Address.Geo.9Lat'" in message
    assert "AASd-002" in message


def test_a_bad_xml_list_item_is_named_by_its_index() -> None:
    xml = serialize(sample_environment(), "xml")
    broken = xml.replace(
        b"<aas:valueType>xs:string</aas:valueType><aas:value>UKCA</aas:value>",
        b"<aas:valueType>xs:int</aas:valueType><aas:value>UKCA</aas:value>",
    )
    assert broken != xml

    assert "element 'Markings[1]'" in bad_input(broken, "xml")


def test_duplicate_ids_in_xml_are_refused() -> None:
    xml = serialize(sample_environment(), "xml")
    start = xml.index(b"<aas:submodel>")
    end = xml.index(b"</aas:submodel>") + len(b"</aas:submodel>")
    doubled = xml[:end] + xml[start:end] + xml[end:]

    assert bad_input(doubled, "xml") == f"duplicate id {SUBMODEL_ID!r}: two submodels use it"


@pytest.mark.parametrize(
    ("namespace", "version"),
    [(b"https://admin-shell.io/aas/3/1", "3.1"), (b"http://www.admin-shell.io/aas/2/0", "2.0")],
)
def test_other_aas_versions_of_xml_are_refused(namespace: bytes, version: str) -> None:
    xml = serialize(sample_environment(), "xml").replace(
        b"https://admin-shell.io/aas/3/0", namespace
    )

    message = bad_input(xml, "xml")

    assert message.startswith(f"unsupported AAS version {version}")


def test_xml_entities_are_not_expanded() -> None:
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
        b'<aas:environment xmlns:aas="https://admin-shell.io/aas/3/0"><aas:submodels>'
        b"<aas:submodel><aas:id>&e;</aas:id></aas:submodel></aas:submodels></aas:environment>"
    )
    # The entity stays unexpanded: the id is empty, not the content of a local file.
    assert (
        bad_input(xml, "xml") == "submodel #1: aas:id on line 1 has no text!; nothing was written"
    )
    named = xml.replace(
        b"<aas:id>&e;</aas:id>", b"<aas:id>urn:x</aas:id><aas:idShort>&e;</aas:idShort>"
    )
    assert read_xml(named).submodels[0].id_short is None


# --- bad AASX ------------------------------------------------------------------------


def test_a_file_that_is_not_a_zip() -> None:
    assert "not a valid zip" in bad_input(b"PK\x03\x04 not really", "aasx")


def test_a_truncated_package() -> None:
    data = serialize(sample_environment(), "aasx")
    assert "not a valid zip" in bad_input(data[: len(data) // 2], "aasx")


def test_a_package_without_the_origin_relationship() -> None:
    data = rezip(serialize(sample_environment(), "aasx"), drop=("_rels/.rels",))
    assert "no aasx-origin relationship" in bad_input(data, "aasx")


def test_a_package_missing_its_environment_part() -> None:
    data = rezip(serialize(sample_environment(), "aasx"), drop=("aasx/data.xml",))
    assert bad_input(data, "aasx") == "the AASX package has no part /aasx/data.xml"


def test_a_package_missing_a_supplementary_file() -> None:
    data = rezip(serialize(sample_environment(), "aasx"), drop=("aasx/files/manual.pdf",))

    message = bad_input(data, "aasx")

    assert f"submodel {SUBMODEL_ID!r}, File element 'Manual'" in message
    assert "/aasx/files/manual.pdf" in message


def test_a_package_missing_the_thumbnail() -> None:
    data = rezip(serialize(sample_environment(), "aasx"), drop=("aasx/files/thumb.png",))
    assert f"shell {SHELL_ID!r}, default thumbnail" in bad_input(data, "aasx")


def test_a_package_whose_environment_part_does_not_parse() -> None:
    data = rezip(serialize(sample_environment(), "aasx"), put={"aasx/data.xml": b"<broken"})
    assert bad_input(data, "aasx").startswith("AASX part /aasx/data.xml: invalid XML")


def test_a_corrupt_zip_entry_is_refused() -> None:
    data = bytearray(serialize(sample_environment(), "aasx"))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as package:
        info = package.getinfo("aasx/data.xml")
    # Flip bytes inside the compressed data of the environment part (after its header).
    start = info.header_offset + 30 + len(info.filename) + 40
    data[start : start + 8] = bytes(b ^ 0xFF for b in data[start : start + 8])

    message = bad_input(bytes(data), "aasx")

    assert "/aasx/data.xml" in message


def test_a_package_that_unpacks_too_far_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge):
        read_aasx(serialize(sample_environment(), "aasx"), max_unpacked=1000)


def test_duplicate_ids_across_parts_of_a_package_are_refused() -> None:
    data = serialize(sample_environment(), "aasx")
    env = sample_environment()
    extra = serialize(Environment(submodels=[env.submodels[1]]), "json")
    rels = (
        b"<?xml version='1.0' encoding='UTF-8'?><Relationships xmlns="
        b'"http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Target="/aasx/data.xml" Id="r1" '
        b'Type="http://admin-shell.io/aasx/relationships/aas-spec"/>'
        b'<Relationship Target="/aasx/extra.json" Id="r2" '
        b'Type="http://admin-shell.io/aasx/relationships/aas-spec"/></Relationships>'
    )
    data = rezip(data, put={"aasx/extra.json": extra, "aasx/_rels/aasx-origin.rels": rels})

    assert "duplicate id" in bad_input(data, "aasx")


def test_an_aas_v2_package_is_an_unsupported_version() -> None:
    data = serialize(sample_environment(), "aasx")
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        xml = package.read("aasx/data.xml")
        rels = package.read("_rels/.rels")
        origin = package.read("aasx/_rels/aasx-origin.rels")
    old = "http://www.admin-shell.io/aasx/relationships/"
    data = rezip(
        data,
        put={
            "aasx/data.xml": xml.replace(
                b"https://admin-shell.io/aas/3/0", b"http://www.admin-shell.io/aas/2/0"
            ),
            "_rels/.rels": rels.replace(b"http://admin-shell.io/aasx/relationships/", old.encode()),
            "aasx/_rels/aasx-origin.rels": origin.replace(
                b"http://admin-shell.io/aasx/relationships/", old.encode()
            ),
        },
    )

    assert "unsupported AAS version 2.0" in bad_input(data, "aasx")
