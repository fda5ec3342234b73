"""imsmanifest.xml of a single-SCO module: SCORM 1.2 or SCORM 2004 4th edition."""

from __future__ import annotations

from lxml import etree

from .source import ModuleSource

XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LANG = "vi"

NS_12 = {
    None: "http://www.imsproject.org/xsd/imscp_rootv1p1p2",
    "adlcp": "http://www.adlnet.org/xsd/adlcp_rootv1p2",
    "imsmd": "http://www.imsglobal.org/xsd/imsmd_rootv1p2p1",
    "xsi": XSI,
}
SCHEMAS_12 = [
    ("http://www.imsproject.org/xsd/imscp_rootv1p1p2", "imscp_rootv1p1p2.xsd"),
    ("http://www.imsglobal.org/xsd/imsmd_rootv1p2p1", "imsmd_rootv1p2p1.xsd"),
    ("http://www.adlnet.org/xsd/adlcp_rootv1p2", "adlcp_rootv1p2.xsd"),
]
NS_2004 = {
    None: "http://www.imsglobal.org/xsd/imscp_v1p1",
    "adlcp": "http://www.adlnet.org/xsd/adlcp_v1p3",
    "adlseq": "http://www.adlnet.org/xsd/adlseq_v1p3",
    "adlnav": "http://www.adlnet.org/xsd/adlnav_v1p3",
    "imsss": "http://www.imsglobal.org/xsd/imsss",
    "lom": "http://ltsc.ieee.org/xsd/LOM",
    "xsi": XSI,
}
SCHEMAS_2004 = [
    ("http://www.imsglobal.org/xsd/imscp_v1p1", "imscp_v1p1.xsd"),
    ("http://www.adlnet.org/xsd/adlcp_v1p3", "adlcp_v1p3.xsd"),
    ("http://www.adlnet.org/xsd/adlseq_v1p3", "adlseq_v1p3.xsd"),
    ("http://www.adlnet.org/xsd/adlnav_v1p3", "adlnav_v1p3.xsd"),
    ("http://www.imsglobal.org/xsd/imsss", "imsss_v1p0.xsd"),
    ("http://ltsc.ieee.org/xsd/LOM", "lom.xsd"),
]
LAUNCH = "index.html"


def _el(parent, ns: dict, tag: str, text: str | None = None, prefix: str | None = None, **attrs):
    el = etree.SubElement(parent, f"{{{ns[prefix]}}}{tag}")
    for key, value in attrs.items():
        el.set(key, value)
    if text is not None:
        el.text = text
    return el


def _ids(module: ModuleSource) -> dict[str, str]:
    base = f"hp-{module.code}"  # xs:ID values must not start with a digit
    return {"manifest": base, "org": f"{base}-org", "item": f"{base}-item", "res": f"{base}-sco"}


def _keywords(module: ModuleSource) -> list[str]:
    return [f"TT02-2025 {c.id} mức {c.level}" for c in module.competencies]


def _package(module: ModuleSource, files: list[str], ns: dict, schemas: list[tuple[str, str]],
             schemaversion: str, scormtype: str, **item_attrs: str):
    """What both versions share: the root, metadata up to the LOM, the one-item organization
    and the one SCO resource. Returns (metadata, organization, item) for the version's parts."""
    ids = _ids(module)
    root = etree.Element(f"{{{ns[None]}}}manifest", nsmap=ns)
    root.set("identifier", ids["manifest"])
    root.set("version", "1.0")
    root.set(f"{{{XSI}}}schemaLocation", " ".join(f"{u} {f}" for u, f in schemas))
    meta = _el(root, ns, "metadata")
    _el(meta, ns, "schema", "ADL SCORM")
    _el(meta, ns, "schemaversion", schemaversion)
    orgs = _el(root, ns, "organizations", default=ids["org"])
    org = _el(orgs, ns, "organization", identifier=ids["org"])
    _el(org, ns, "title", module.title)
    item = _el(org, ns, "item", identifier=ids["item"], identifierref=ids["res"], **item_attrs)
    _el(item, ns, "title", module.title)
    resources = _el(root, ns, "resources")
    res = _el(resources, ns, "resource", identifier=ids["res"], type="webcontent", href=LAUNCH)
    res.set(f"{{{ns['adlcp']}}}{scormtype}", "sco")
    for name in files:
        _el(res, ns, "file", href=name)
    return root, meta, org, item


def manifest_12(module: ModuleSource, files: list[str]) -> bytes:
    ns = NS_12
    root, meta, _org, item = _package(module, files, ns, SCHEMAS_12, "1.2", "scormtype",
                                      isvisible="true")
    lom = _el(meta, ns, "lom", prefix="imsmd")
    general = _el(lom, ns, "general", prefix="imsmd")
    title = _el(general, ns, "title", prefix="imsmd")
    _el(title, ns, "langstring", module.title, prefix="imsmd").set(XML_LANG, LANG)
    _el(general, ns, "language", LANG, prefix="imsmd")
    desc = _el(general, ns, "description", prefix="imsmd")
    _el(desc, ns, "langstring", module.summary, prefix="imsmd").set(XML_LANG, LANG)
    for word in _keywords(module):
        kw = _el(general, ns, "keyword", prefix="imsmd")
        _el(kw, ns, "langstring", word, prefix="imsmd").set(XML_LANG, LANG)
    _el(item, ns, "masteryscore", str(module.passing_score), prefix="adlcp")
    return _serialize(root)


def manifest_2004(module: ModuleSource, files: list[str]) -> bytes:
    ns, ids = NS_2004, _ids(module)
    root, meta, org, item = _package(module, files, ns, SCHEMAS_2004, "2004 4th Edition",
                                     "scormType")
    lom = _el(meta, ns, "lom", prefix="lom")
    general = _el(lom, ns, "general", prefix="lom")
    ident = _el(general, ns, "identifier", prefix="lom")
    _el(ident, ns, "catalog", "haiphong-lms", prefix="lom")
    _el(ident, ns, "entry", module.code, prefix="lom")
    title = _el(general, ns, "title", prefix="lom")
    _el(title, ns, "string", module.title, prefix="lom", language=LANG)
    _el(general, ns, "language", LANG, prefix="lom")
    desc = _el(general, ns, "description", prefix="lom")
    _el(desc, ns, "string", module.summary, prefix="lom", language=LANG)
    for word in _keywords(module):
        kw = _el(general, ns, "keyword", prefix="lom")
        _el(kw, ns, "string", word, prefix="lom", language=LANG)
    seq = _el(item, ns, "sequencing", prefix="imsss")
    objectives = _el(seq, ns, "objectives", prefix="imsss")
    # The passing score as the LMS sees it (cmi.scaled_passing_score), like 1.2's masteryscore.
    primary = _el(objectives, ns, "primaryObjective", prefix="imsss",
                  objectiveID=f"{ids['item']}-passed", satisfiedByMeasure="true")
    _el(primary, ns, "minNormalizedMeasure", f"{module.passing_score / 100:g}", prefix="imsss")
    _el(seq, ns, "deliveryControls", prefix="imsss", completionSetByContent="true",
        objectiveSetByContent="true")
    org_seq = _el(org, ns, "sequencing", prefix="imsss")
    _el(org_seq, ns, "controlMode", prefix="imsss", choice="true", flow="true")
    return _serialize(root)


def _serialize(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def build_manifest(module: ModuleSource, files: list[str]) -> bytes:
    """`files`: every file of the package except the manifest, in package order."""
    return (manifest_12 if module.scorm == "1.2" else manifest_2004)(module, files)
