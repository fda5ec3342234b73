from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from lms.scorm.errors import PackageInvalid
from lms.scorm.package import validate_package
from lms.scorm.zipcheck import DEFAULT_LIMITS, ZipLimits

from .zipfactory import item, manifest12, package, sample, sco12, symlink_entry, write_zip

GOOD_SAMPLES = [
    ("RuntimeBasicCalls_SCORM12", "1.2", 1, 44),
    ("ContentPackagingOneFilePerSCO_SCORM12", "1.2", 18, 44),
    ("RuntimeBasicCalls_SCORM20043rdEdition", "2004", 1, 69),
    ("ContentPackagingOneFilePerSCO_SCORM20043rdEdition", "2004", 18, 69),
    ("SequencingSimpleRemediation_SCORM20043rdEdition", "2004", 8, 69),
]


def errors_of(zip_path: Path, limits: ZipLimits = DEFAULT_LIMITS) -> list[tuple[str, str | None]]:
    with pytest.raises(PackageInvalid) as exc:
        validate_package(zip_path, limits)
    return [(e.code, e.path) for e in exc.value.errors]


@pytest.mark.parametrize(("name", "version", "scos", "files"), GOOD_SAMPLES)
def test_good_samples_validate(name: str, version: str, scos: int, files: int) -> None:
    path = sample(name)
    result = validate_package(path)
    assert result.manifest.version == version
    assert len(result.manifest.scos()) == scos
    assert len(result.files) == files and "imsmanifest.xml" in result.files
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with zipfile.ZipFile(path) as zf:
        assert result.size_bytes == sum(i.file_size for i in zf.infolist())


def test_invalid_file_references_sample_names_every_missing_file() -> None:
    with pytest.raises(PackageInvalid) as exc:
        validate_package(sample("InvalidFileReferences_SCORM12"))
    errors = exc.value.errors
    assert [(e.code, e.path) for e in errors] == [
        ("file_missing", "content/nonexistent.html"),
        ("file_missing", "content/nonexistent.js"),
        ("file_missing", "content/nonexistent.css"),
        ("file_missing", "content/nonexistent_asset.html"),
    ]
    assert errors[0].message == (
        "imsmanifest.xml references 'content/nonexistent.html' (resource resource_1) but the "
        "file is not in the package."
    )
    assert "(resource resource_2)" in errors[3].message


def test_malformed_sample_rejected_with_line() -> None:
    with pytest.raises(PackageInvalid) as exc:
        validate_package(sample("MalformedXml_SCORM12"))
    (error,) = exc.value.errors
    assert (error.code, error.line) == ("xml_malformed", 27)
    assert error.as_dict() == {
        "code": "xml_malformed",
        "message": error.message,
        "path": "imsmanifest.xml",
        "line": 27,
    }


def test_problems_from_zip_and_manifest_are_reported_together(tmp_path: Path) -> None:
    xml = manifest12(item() + item("i2", ref="ghost"), sco12(files=["index.html", "gone.js"]))
    zpath = write_zip(
        tmp_path / "mixed.zip",
        [
            ("imsmanifest.xml", xml),
            ("index.html", "x"),
            ("../escape.html", "x"),
            symlink_entry("link", "/etc"),
        ],
    )
    assert errors_of(zpath) == [
        ("path_escape", "../escape.html"),
        ("symlink", "link"),
        ("manifest_invalid", "imsmanifest.xml"),
        ("file_missing", "gone.js"),
    ]


def test_missing_manifest(tmp_path: Path) -> None:
    zpath = write_zip(tmp_path / "none.zip", [("index.html", "x")])
    assert errors_of(zpath) == [("manifest_missing", "imsmanifest.xml")]


def test_manifest_too_large_is_not_parsed(tmp_path: Path) -> None:
    zpath = package(tmp_path, manifest12(item(), sco12()))
    assert errors_of(zpath, ZipLimits(max_manifest_bytes=200)) == [("too_large", "imsmanifest.xml")]


def test_xml_base_paths_are_checked(tmp_path: Path) -> None:
    resources = (
        '<resources xml:base="course/"><resource identifier="r1" type="webcontent" '
        'adlcp:scormtype="sco" xml:base="sco1/" href="index.html?x=1#top">'
        '<file href="index.html"/><file href="style.css"/></resource></resources>'
    )
    xml = manifest12(item(), "").replace("<resources>\n    \n  </resources>", resources)
    ok = package(tmp_path, xml, files=["course/sco1/index.html", "course/sco1/style.css"])
    result = validate_package(ok)
    assert result.manifest.scos()[0].launch == "course/sco1/index.html?x=1#top"
    missing = package(tmp_path, xml, files=["course/sco1/index.html"], name="missing.zip")
    assert errors_of(missing) == [("file_missing", "course/sco1/style.css")]


def test_percent_encoded_and_external_hrefs(tmp_path: Path) -> None:
    resources = (
        sco12("r1", "my%20page.html", files=["my%20page.html"])
        + '<resource identifier="r2" type="webcontent" adlcp:scormtype="asset"'
        ' href="https://cdn.example.com/video.html"/>'
    )
    xml = manifest12(item() + item("i2", ref="r2"), resources)
    result = validate_package(package(tmp_path, xml, files=["my page.html"]))
    assert [s.launch for s in result.manifest.scos()] == [
        "my%20page.html",
        "https://cdn.example.com/video.html",
    ]


def test_dependency_on_missing_resource(tmp_path: Path) -> None:
    resources = sco12().replace("</resource>", '<dependency identifierref="shared"/></resource>')
    zpath = package(tmp_path, manifest12(item(), resources))
    assert errors_of(zpath) == [("manifest_invalid", "imsmanifest.xml")]


def test_missing_file_in_subfolder_zip_manifest(tmp_path: Path) -> None:
    zpath = write_zip(
        tmp_path / "nested.zip",
        [("MyCourse/imsmanifest.xml", manifest12(item(), sco12())), ("MyCourse/index.html", "x")],
    )
    with pytest.raises(PackageInvalid) as exc:
        validate_package(zpath)
    (error,) = exc.value.errors
    assert error.code == "manifest_missing"
    assert "'MyCourse/'" in error.message
