from __future__ import annotations

import json
import time
import zipfile

import pytest

from lms.scorm.errors import PackageInvalid
from lms.scorm.manifest import Manifest, add_parameters, parse_manifest, resolve

from .zipfactory import (
    IMSCP_12,
    item,
    manifest12,
    manifest2004,
    sample,
    sco12,
)


def sample_manifest(name: str) -> Manifest:
    with zipfile.ZipFile(sample(name)) as zf:
        return parse_manifest(zf.read("imsmanifest.xml"), set(zf.namelist()))


def errors_of(xml: str | bytes, files: set[str] | None = None) -> list[tuple[str, str]]:
    raw = xml.encode() if isinstance(xml, str) else xml
    with pytest.raises(PackageInvalid) as exc:
        parse_manifest(raw, files)
    return [(e.code, e.message) for e in exc.value.errors]


GOLF_PAGES = [
    ("playing_playing_item", "Playing/Playing.html"),
    ("playing_par_item", "Playing/Par.html"),
    ("playing_scoring_item", "Playing/Scoring.html"),
    ("playing_otherscoring_item", "Playing/OtherScoring.html"),
    ("playing_rules_item", "Playing/RulesOfGolf.html"),
    ("playing_quiz_item", "shared/assessmenttemplate.html?questions=Playing"),
    ("etiquette_course_item", "Etiquette/Course.html"),
    ("etiquette_distracting_item", "Etiquette/Distracting.html"),
    ("etiquette_play_item", "Etiquette/Play.html"),
    ("etiquette_quiz_item", "shared/assessmenttemplate.html?questions=Etiquette"),
    ("handicapping_overview_item", "Handicapping/Overview.html"),
    ("handicapping_calchandi_item", "Handicapping/CalculatingHandicap.html"),
    ("handicapping_calcscore_item", "Handicapping/CalculatingScore.html"),
    ("handicapping_example_item", "Handicapping/Example.html"),
    ("handicapping_quiz_item", "shared/assessmenttemplate.html?questions=Handicapping"),
    ("havingfun_howto_item", "HavingFun/HowToHaveFun.html"),
    ("havingfun_makefriends_item", "HavingFun/MakeFriends.html"),
    ("havingfun_quiz_item", "shared/assessmenttemplate.html?questions=HavingFun"),
]


# --- real samples ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["RuntimeBasicCalls_SCORM12", "RuntimeBasicCalls_SCORM20043rdEdition"]
)
def test_runtime_basic_calls(name: str) -> None:
    m = sample_manifest(name)
    is_2004 = name.endswith("20043rdEdition")
    assert (m.version, m.edition) == (("2004", "2004 3rd Edition") if is_2004 else ("1.2", "1.2"))
    assert m.title == "Golf Explained - Run-time Basic Calls"
    assert m.default_org == "golf_sample_default_org"
    (sco,) = m.scos()
    assert (sco.identifier, sco.title, sco.launch, sco.scorm_type) == (
        "item_1",
        "Golf Explained",
        "shared/launchpage.html",
        "sco",
    )
    assert len(sco.resource.files) == 39
    if is_2004:
        assert m.organization.objectives_global_to_system is False
        assert m.organization.sequencing["sequencingControls"] == {"flow": True}
        assert sco.sequencing["deliveryControls"] == {
            "completionSetByContent": True,
            "objectiveSetByContent": True,
        }


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("ContentPackagingOneFilePerSCO_SCORM12", "1.2"),
        ("ContentPackagingOneFilePerSCO_SCORM20043rdEdition", "2004"),
    ],
)
def test_content_packaging_one_file_per_sco(name: str, version: str) -> None:
    m = sample_manifest(name)
    assert m.version == version
    assert [i.identifier for i in m.organization.items] == [
        "playing_item",
        "etiquette_item",
        "handicapping_item",
        "havingfun_item",
    ]
    assert [(s.identifier, s.launch) for s in m.scos()] == GOLF_PAGES
    assert {s.scorm_type for s in m.scos()} == {"asset"}
    quiz = m.find_item("playing_quiz_item")
    assert quiz is not None and quiz.parameters == "?questions=Playing"
    closure = [r.identifier for r in m.resource_closure("playing_quiz_resource")]
    assert closure == ["playing_quiz_resource", "common_files"]
    assert m.resources["common_files"].href is None


def test_sequencing_simple_remediation_structure() -> None:
    m = sample_manifest("SequencingSimpleRemediation_SCORM20043rdEdition")
    assert (m.version, m.edition) == ("2004", "2004 3rd Edition")
    (wrapper,) = m.organization.items
    assert wrapper.identifier == "content_wrapper" and wrapper.is_visible is False
    assert [(s.identifier, s.launch) for s in m.scos()] == [
        ("playing_item", "shared/launchpage.html?content=playing"),
        ("etuqiette_item", "shared/launchpage.html?content=etiquette"),
        ("handicapping_item", "shared/launchpage.html?content=handicapping"),
        ("havingfun_item", "shared/launchpage.html?content=havingfun"),
        ("test_1", "shared/launchpage.html?content=assessment1"),
        ("test_2", "shared/launchpage.html?content=assessment2"),
        ("test_3", "shared/launchpage.html?content=assessment3"),
        ("test_4", "shared/launchpage.html?content=assessment4"),
    ]
    assert sorted(m.sequencing_collection) == ["content_seq_rules", "test_seq_rules"]


def test_malformed_sample_reports_line() -> None:
    with zipfile.ZipFile(sample("MalformedXml_SCORM12")) as zf:
        xml = zf.read("imsmanifest.xml")
    with pytest.raises(PackageInvalid) as exc:
        parse_manifest(xml)
    (error,) = exc.value.errors
    assert (error.code, error.line, error.path) == ("xml_malformed", 27, "imsmanifest.xml")
    assert error.message.startswith("imsmanifest.xml line 27: ")
    assert "mismatch" in error.message


@pytest.mark.parametrize(
    "name",
    [
        "RuntimeBasicCalls_SCORM12",
        "ContentPackagingOneFilePerSCO_SCORM12",
        "RuntimeBasicCalls_SCORM20043rdEdition",
        "ContentPackagingOneFilePerSCO_SCORM20043rdEdition",
        "SequencingSimpleRemediation_SCORM20043rdEdition",
    ],
)
def test_json_round_trip(name: str) -> None:
    m = sample_manifest(name)
    stored = json.loads(json.dumps(m.to_json()))
    again = Manifest.from_json(stored)
    assert again == m
    assert again.scos()[0].resource is again.resources[again.scos()[0].identifierref]


# --- hostile XML ---------------------------------------------------------------------------


def billion_laughs(levels: int = 10) -> str:
    decls = ['<!ENTITY lol0 "lol">']
    decls += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)]
    body = manifest12(item(title=f"&lol{levels - 1};"), sco12())
    head, rest = body.split("\n", 1)
    return f"{head}\n<!DOCTYPE manifest [\n{chr(10).join(decls)}\n]>\n{rest}"


def test_billion_laughs_rejected_quickly() -> None:
    started = time.monotonic()
    errors = errors_of(billion_laughs())
    assert time.monotonic() - started < 1
    assert [c for c, _ in errors] == ["xml_forbidden"]


def test_billion_laughs_in_utf16_rejected() -> None:
    xml = billion_laughs().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert [c for c, _ in errors_of(xml)] == ["xml_forbidden"]


def test_external_entity_not_resolved() -> None:
    xml = manifest12(item(title="&xxe;"), sco12()).replace(
        "<manifest", '<!DOCTYPE manifest [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<manifest', 1
    )
    errors = errors_of(xml)
    assert [c for c, _ in errors] == ["xml_forbidden"]
    assert not any("root:" in message for _, message in errors)


def test_external_dtd_is_not_loaded() -> None:
    xml = manifest12(item(), sco12()).replace(
        "<manifest", '<!DOCTYPE manifest SYSTEM "file:///etc/passwd">\n<manifest', 1
    )
    m = parse_manifest(xml.encode())
    assert m.scos()[0].title == "Lesson"


def test_undeclared_entity_is_a_syntax_error() -> None:
    errors = errors_of(manifest12(item(title="&nbsp;"), sco12()))
    assert errors[0][0] == "xml_malformed"
    assert errors[0][1] == "imsmanifest.xml line 8: Entity 'nbsp' not defined"


# --- launch URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "parameters", "expected"),
    [
        ("a.html", "?x=1", "a.html?x=1"),
        ("a.html", "x=1", "a.html?x=1"),
        ("a.html?b=2", "?a=1", "a.html?b=2&a=1"),
        ("a.html?b=2", "&a=1", "a.html?b=2&a=1"),
        ("a.html?", "a=1", "a.html?a=1"),
        ("a.html", "#frag", "a.html#frag"),
        ("a.html#top", "?a=1", "a.html?a=1#top"),
        ("a.html#top", "#other", "a.html#top"),
        ("a.html", "  ", "a.html"),
    ],
)
def test_add_parameters(url: str, parameters: str, expected: str) -> None:
    assert add_parameters(url, parameters) == expected


def test_parameters_join_existing_query() -> None:
    xml = manifest12(
        '<item identifier="i1" identifierref="r1" parameters="?a=1"><title>T</title></item>',
        sco12(href="sco/index.html?lang=en", files=["sco/index.html"]),
    )
    assert parse_manifest(xml.encode()).scos()[0].launch == "sco/index.html?lang=en&a=1"


def test_xml_base_chain() -> None:
    xml = manifest12(
        item(),
        '<resource identifier="r1" type="webcontent" adlcp:scormtype="sco" xml:base="sco1"'
        ' href="index.html"><file href="index.html"/><file href="img/a.png"/></resource>',
        manifest_attrs='xml:base="course/"',
    ).replace("<resources>", '<resources xml:base="content/">')
    m = parse_manifest(xml.encode())
    res = m.resources["r1"]
    assert res.base == "course/content/sco1/"
    assert res.files == ["course/content/sco1/index.html", "course/content/sco1/img/a.png"]
    assert m.scos()[0].launch == "course/content/sco1/index.html"


@pytest.mark.parametrize(
    ("base", "href", "expected"),
    [
        ("", "a/b.html", "a/b.html"),
        ("x/", "../b.html", "b.html"),
        ("", "../../etc/passwd", "etc/passwd"),
        ("", "/abs/page.html", "abs/page.html"),
        ("", "dir\\page.html", "dir/page.html"),
        ("", "https://cdn.example.com/p.html", "https://cdn.example.com/p.html"),
        ("https://cdn.example.com/c/", "p.html", "https://cdn.example.com/c/p.html"),
    ],
)
def test_resolve(base: str, href: str, expected: str) -> None:
    assert resolve(base, href) == expected


# --- SCORM 1.2 / 2004 details ------------------------------------------------------------


def test_scorm12_item_fields() -> None:
    extra = (
        "<adlcp:masteryscore>80</adlcp:masteryscore>"
        "<adlcp:maxtimeallowed>00:30:00</adlcp:maxtimeallowed>"
        "<adlcp:timelimitaction>exit,message</adlcp:timelimitaction>"
        "<adlcp:datafromlms>level=2</adlcp:datafromlms>"
        '<adlcp:prerequisites type="aicc_script">i0</adlcp:prerequisites>'
    )
    xml = manifest12(
        item("i0", title="Intro")
        + item("i1", extra=extra).replace("<item ", '<item isvisible="false" '),
        sco12(),
    )
    m = parse_manifest(xml.encode())
    it = m.find_item("i1")
    assert it is not None
    assert (it.mastery_score, it.max_time_allowed, it.time_limit_action) == (
        80.0,
        "00:30:00",
        "exit,message",
    )
    assert (it.data_from_lms, it.prerequisites, it.is_visible) == ("level=2", "i0", False)


def test_scorm2004_completion_threshold_forms() -> None:
    xml = manifest2004(
        item("text", extra="<adlcp:completionThreshold>0.75</adlcp:completionThreshold>")
        + item(
            "attrs",
            extra='<adlcp:completionThreshold completedByMeasure="true" minProgressMeasure="0.6"'
            ' progressWeight="2"/>',
        )
        + item("plain"),
        '<resource identifier="r1" type="webcontent" adlcp:scormType="sco" href="index.html"/>',
        edition=None,
    )
    m = parse_manifest(xml.encode())
    text_item, attr_item, plain = (m.find_item(i) for i in ("text", "attrs", "plain"))
    assert (text_item.completion_threshold, text_item.completed_by_measure) == (0.75, True)
    assert (attr_item.completion_threshold, attr_item.completed_by_measure) == (0.6, True)
    assert attr_item.progress_weight == 2.0
    assert (plain.completion_threshold, plain.completed_by_measure) == (None, False)
    assert m.edition == "2004 4th Edition"  # inferred from the attribute form


def test_scorm2004_item_fields() -> None:
    seq = (
        '<imsss:sequencing><imsss:limitConditions attemptLimit="3"'
        ' attemptAbsoluteDurationLimit="PT1H"/>'
        '<imsss:objectives><imsss:primaryObjective satisfiedByMeasure="true">'
        "<imsss:minNormalizedMeasure>0.8</imsss:minNormalizedMeasure>"
        "</imsss:primaryObjective></imsss:objectives></imsss:sequencing>"
    )
    extra = (
        "<adlcp:timeLimitAction>exit,no message</adlcp:timeLimitAction>"
        "<adlcp:dataFromLMS>hello</adlcp:dataFromLMS>"
        "<adlnav:presentation><adlnav:navigationInterface>"
        "<adlnav:hideLMSUI>continue</adlnav:hideLMSUI><adlnav:hideLMSUI>previous</adlnav:hideLMSUI>"
        "<adlnav:hideLMSUI>bogus</adlnav:hideLMSUI>"
        "</adlnav:navigationInterface></adlnav:presentation>" + seq
    )
    xml = manifest2004(
        item(extra=extra),
        '<resource identifier="r1" type="webcontent" adlcp:scormType="sco" href="index.html"/>',
    )
    sco = parse_manifest(xml.encode()).scos()[0]
    assert (sco.time_limit_action, sco.data_from_lms) == ("exit,no message", "hello")
    assert sco.hide_lms_ui == ["continue", "previous"]
    assert sco.scaled_passing_score == 0.8
    assert sco.max_time_allowed == "PT1H"
    assert sco.sequencing["attemptLimit"] == 3


def test_version_detection() -> None:
    resources = '<resource identifier="r1" type="webcontent" href="index.html"/>'
    no_metadata = manifest2004(item(), resources, edition=None)
    m = parse_manifest(no_metadata.encode())
    assert (m.version, m.edition) == ("2004", "2004 3rd Edition")
    cam13 = manifest2004(item(), resources, edition="CAM 1.3")
    assert parse_manifest(cam13.encode()).edition == "2004 2nd Edition"
    fourth = manifest2004(item(), resources, edition="2004 4th Edition")
    assert parse_manifest(fourth.encode()).edition == "2004 4th Edition"
    plain_cp = (
        f'<manifest identifier="m" xmlns="{IMSCP_12}"><organizations><organization identifier="o">'
        '<item identifier="i" identifierref="r"/></organization></organizations>'
        '<resources><resource identifier="r" href="x.html"/></resources></manifest>'
    )
    m = parse_manifest(plain_cp.encode())
    assert (m.version, m.edition, m.title) == ("1.2", "1.2", "o")


def test_tolerates_odd_namespaces_and_attribute_case() -> None:
    # No namespaces at all, SCORM 1.2 spelling of scormtype in a 2004 manifest, upper-case bool.
    xml = (
        '<manifest identifier="m"><metadata><schemaversion>2004 3rd Edition</schemaversion>'
        '</metadata><organizations default="o"><organization identifier="o"><title>T</title>'
        '<item identifier="i" identifierref="r" isVisible="FALSE"><title>I</title></item>'
        '</organization></organizations><resources><resource identifier="r" scormtype="SCO"'
        ' href="x.html"/></resources></manifest>'
    )
    sco = parse_manifest(xml.encode()).scos()[0]
    assert (sco.scorm_type, sco.is_visible, sco.launch) == ("sco", False, "x.html")


# --- validation ----------------------------------------------------------------------------


def test_structural_errors_are_all_reported() -> None:
    xml = manifest12(
        item("missing_ref", ref="nope")
        + '<item identifier="empty"><title>Empty leaf</title></item>'
        + item("no_href", ref="r_nohref")
        + item("missing_ref", ref="r1"),
        sco12() + '<resource identifier="r_nohref" type="webcontent" adlcp:scormtype="asset">'
        '<dependency identifierref="ghost"/></resource>',
    )
    errors = errors_of(xml)
    assert [c for c, _ in errors] == ["manifest_invalid"] * 5
    text = "\n".join(m for _, m in errors)
    assert "depends on resource 'ghost'" in text
    assert "Item 'missing_ref' refers to resource 'nope'" in text
    assert "Item 'empty' has no content to launch: it has no identifierref" in text
    assert "refers to resource 'r_nohref', which has no href" in text
    assert "'missing_ref' is used more than once" in text


def test_no_organizations() -> None:
    xml = (
        f'<manifest identifier="m" xmlns="{IMSCP_12}"><organizations/>'
        '<resources><resource identifier="r" href="x.html"/></resources></manifest>'
    )
    errors = errors_of(xml)
    assert [c for c, _ in errors] == ["manifest_invalid"]
    assert "no <organization>" in errors[0][1]


def test_organization_without_items() -> None:
    errors = errors_of(manifest12("", sco12()))
    assert errors == [
        ("manifest_invalid", "Organization 'org' contains no items. (imsmanifest.xml line 6)")
    ]


def test_missing_sequencing_collection_reference() -> None:
    xml = manifest2004(
        item(extra='<imsss:sequencing IDRef="nowhere"/>'),
        '<resource identifier="r1" type="webcontent" adlcp:scormType="sco" href="index.html"/>',
    )
    errors = errors_of(xml)
    assert [c for c, _ in errors] == ["manifest_invalid"]
    assert "IDRef='nowhere'" in errors[0][1]


def test_common_cartridge_is_unsupported() -> None:
    xml = (
        '<manifest identifier="cc"><metadata><schema>IMS Common Cartridge</schema>'
        "<schemaversion>1.1.0</schemaversion></metadata></manifest>"
    )
    assert [c for c, _ in errors_of(xml)] == ["unsupported_version"]


def test_missing_files_checked_when_names_given() -> None:
    xml = manifest12(item(), sco12(files=["index.html", "Img/Logo.png"]))
    errors = errors_of(xml, {"imsmanifest.xml", "index.html", "img/logo.png"})
    assert errors == [
        (
            "file_missing",
            "imsmanifest.xml references 'Img/Logo.png' (resource r1) but the file is not in the "
            "package; the package has 'img/logo.png', which differs only in letter case.",
        )
    ]
