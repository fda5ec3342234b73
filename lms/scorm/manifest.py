"""Safe parsing of imsmanifest.xml (SCORM 1.2 and SCORM 2004 2nd-4th edition).

Elements and attributes are matched by local name (attributes case-insensitively), whatever
their namespace prefix or URI, because authoring tools are inconsistent about both.
"""

from __future__ import annotations

import codecs
import copy
import re
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import unquote, urljoin

from lxml import etree

from .errors import PackageError, PackageInvalid
from .sequencing import (
    HIDE_LMS_UI,
    XML_NS,
    attr,
    child,
    children,
    local,
    parse_bool,
    parse_float,
    parse_sequencing,
    text,
)

MANIFEST = "imsmanifest.xml"
ADLCP_V1P3 = "http://www.adlnet.org/xsd/adlcp_v1p3"
_ROOT = "http://package.invalid/"  # stand-in origin used to resolve relative hrefs
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_INTERNAL_SUBSET = re.compile(
    r"<!DOCTYPE\s+[^\s\[>]+(?:\s+(?:SYSTEM|PUBLIC)(?:\s+(?:\"[^\"]*\"|'[^']*'))+)?\s*\[",
    re.IGNORECASE,
)


@dataclass
class Resource:
    identifier: str
    href: str | None  # as written in the manifest
    scorm_type: str | None  # "sco" | "asset"
    base: str  # xml:base chain (manifest, resources, resource) resolved against the package root
    files: list[str]  # <file href> values resolved against base
    dependencies: list[str]  # identifiers of resources this one depends on


@dataclass
class Item:
    identifier: str
    title: str
    identifierref: str | None = None
    parameters: str = ""
    is_visible: bool = True
    children: list[Item] = field(default_factory=list)
    resource: Resource | None = None
    launch: str | None = None
    scorm_type: str | None = None
    # SCORM 1.2
    mastery_score: float | None = None
    max_time_allowed: str | None = None
    time_limit_action: str | None = None
    data_from_lms: str | None = None
    prerequisites: str | None = None
    # SCORM 2004
    completion_threshold: float | None = None
    completed_by_measure: bool = False
    progress_weight: float = 1.0
    scaled_passing_score: float | None = None
    hide_lms_ui: list[str] = field(default_factory=list)
    sequencing: dict | None = None
    shared_data: list[dict] = field(default_factory=list)  # adlcp:data/adlcp:map (4th edition)

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self) -> list[Item]:
        found = [self]
        for c in self.children:
            found.extend(c.walk())
        return found


@dataclass
class Organization:
    identifier: str
    title: str
    items: list[Item]
    objectives_global_to_system: bool = True
    shared_data_global_to_system: bool = True
    sequencing: dict | None = None

    def walk(self) -> list[Item]:
        return [i for top in self.items for i in top.walk()]


@dataclass
class Manifest:
    identifier: str
    version: str
    edition: str
    title: str
    default_org: str
    organizations: list[Organization]
    resources: dict[str, Resource]
    sequencing_collection: dict[str, dict] = field(default_factory=dict)

    @property
    def organization(self) -> Organization:
        for org in self.organizations:
            if org.identifier == self.default_org:
                return org
        return self.organizations[0]

    def scos(self) -> list[Item]:
        """Launchable leaf items (SCOs and assets) of the default organisation, in tree order."""
        return [i for i in self.organization.walk() if i.is_leaf and i.launch]

    def find_item(self, identifier: str) -> Item | None:
        return next((i for i in self.organization.walk() if i.identifier == identifier), None)

    def resource_closure(self, identifier: str) -> list[Resource]:
        """The resource and everything it depends on, transitively, each once."""
        seen: dict[str, Resource] = {}
        pending = [identifier]
        while pending:
            rid = pending.pop(0)
            res = self.resources.get(rid)
            if res is None or rid in seen:
                continue
            seen[rid] = res
            pending.extend(res.dependencies)
        return list(seen.values())

    def to_json(self) -> dict:
        return {
            "schema": 1,
            "identifier": self.identifier,
            "version": self.version,
            "edition": self.edition,
            "title": self.title,
            "default_org": self.default_org,
            "organizations": [_org_to_json(o) for o in self.organizations],
            "resources": {k: _resource_to_json(r) for k, r in self.resources.items()},
            "sequencing_collection": copy.deepcopy(self.sequencing_collection),
        }

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        resources = {
            k: Resource(
                identifier=r["identifier"],
                href=r.get("href"),
                scorm_type=r.get("scorm_type"),
                base=r.get("base", ""),
                files=list(r.get("files", [])),
                dependencies=list(r.get("dependencies", [])),
            )
            for k, r in data.get("resources", {}).items()
        }
        orgs = [_org_from_json(o, resources) for o in data.get("organizations", [])]
        return cls(
            identifier=data["identifier"],
            version=data["version"],
            edition=data.get("edition", data["version"]),
            title=data.get("title", ""),
            default_org=data.get("default_org", orgs[0].identifier if orgs else ""),
            organizations=orgs,
            resources=resources,
            sequencing_collection=copy.deepcopy(data.get("sequencing_collection", {})),
        )


# --- JSON helpers ----------------------------------------------------------------------------

_ITEM_FIELDS = [f.name for f in fields(Item) if f.name not in ("children", "resource")]


def _resource_to_json(res: Resource) -> dict:
    return {
        "identifier": res.identifier,
        "href": res.href,
        "scorm_type": res.scorm_type,
        "base": res.base,
        "files": list(res.files),
        "dependencies": list(res.dependencies),
    }


def _item_to_json(item: Item) -> dict:
    data = {name: copy.deepcopy(getattr(item, name)) for name in _ITEM_FIELDS}
    data["children"] = [_item_to_json(c) for c in item.children]
    return data


def _item_from_json(data: dict, resources: dict[str, Resource]) -> Item:
    values = {k: copy.deepcopy(v) for k, v in data.items() if k in _ITEM_FIELDS}
    item = Item(**values)
    item.children = [_item_from_json(c, resources) for c in data.get("children", [])]
    if item.identifierref:
        item.resource = resources.get(item.identifierref)
    return item


def _org_to_json(org: Organization) -> dict:
    return {
        "identifier": org.identifier,
        "title": org.title,
        "items": [_item_to_json(i) for i in org.items],
        "objectives_global_to_system": org.objectives_global_to_system,
        "shared_data_global_to_system": org.shared_data_global_to_system,
        "sequencing": copy.deepcopy(org.sequencing),
    }


def _org_from_json(data: dict, resources: dict[str, Resource]) -> Organization:
    return Organization(
        identifier=data["identifier"],
        title=data.get("title", ""),
        items=[_item_from_json(i, resources) for i in data.get("items", [])],
        objectives_global_to_system=data.get("objectives_global_to_system", True),
        shared_data_global_to_system=data.get("shared_data_global_to_system", True),
        sequencing=copy.deepcopy(data.get("sequencing")),
    )


# --- URL helpers -----------------------------------------------------------------------------


def is_external(url: str) -> bool:
    return bool(_URL_SCHEME.match(url)) or url.startswith("//")


def resolve(base: str, href: str) -> str:
    """Resolve href against a package-relative (or absolute URL) base; stays inside the root."""
    href = href.strip().replace("\\", "/")
    url = urljoin(base if is_external(base) else _ROOT + base, href)
    return url[len(_ROOT) :] if url.startswith(_ROOT) else url


def _join_base(parent: str, xml_base: str | None) -> str:
    if not xml_base or not xml_base.strip():
        return parent
    value = xml_base.strip().replace("\\", "/")
    if not value.endswith("/"):
        value += "/"  # tools write "sco1" meaning the folder; treat every xml:base as a folder
    return resolve(parent, value)


def add_parameters(url: str, parameters: str) -> str:
    """Append an item's parameters to its launch URL (SCORM CAM rules)."""
    params = parameters.strip()
    if not params:
        return url
    if params.startswith("#"):
        return url if "#" in url else url + params
    params = params.lstrip("?&")
    if not params:
        return url
    path, sep, fragment = url.partition("#")
    if path.endswith(("?", "&")):
        joined = path + params
    else:
        joined = path + ("&" if "?" in path else "?") + params
    return joined + (sep + fragment if sep else "")


def strip_query(href: str) -> str:
    return href.split("#", 1)[0].split("?", 1)[0]


# --- XML -------------------------------------------------------------------------------------


def _sniff_text(xml: bytes) -> str:
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if xml.startswith(bom):
            return xml.decode(encoding, errors="replace")
    if xml[:4] == b"<\x00?\x00":
        return xml.decode("utf-16-le", errors="replace")
    if xml[:4] == b"\x00<\x00?":
        return xml.decode("utf-16-be", errors="replace")
    return xml.decode("utf-8", errors="replace")


def _forbidden(detail: str) -> PackageInvalid:
    return PackageInvalid(
        [
            PackageError(
                "xml_forbidden",
                f"imsmanifest.xml {detail}; DTD internal subsets and entity declarations are not "
                "allowed in manifests.",
                MANIFEST,
            )
        ]
    )


def parse_xml(xml: bytes) -> Any:
    """Parse untrusted XML: no DTDs, no entities, no network, no huge trees."""
    # Checked before parsing so entity bombs are refused without libxml2 ever seeing them.
    sniffed = _sniff_text(xml)
    if _INTERNAL_SUBSET.search(sniffed) or "<!ENTITY" in sniffed.upper():
        raise _forbidden("declares a DOCTYPE with an internal subset")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else None)
        message = re.sub(r",? line \d+, column \d+$", "", exc.msg or str(exc))
        error = PackageError(
            "xml_malformed", f"imsmanifest.xml line {line}: {message}", MANIFEST, line
        )
        raise PackageInvalid([error]) from None
    if root is None:
        raise PackageInvalid([PackageError("xml_malformed", "imsmanifest.xml is empty.", MANIFEST)])
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and (list(dtd.iterentities()) or list(dtd.iterelements())):
        raise _forbidden("declares a DOCTYPE with an internal subset")
    if any(isinstance(el, etree._Entity) for el in root.iter()):
        raise _forbidden("uses entity references")
    return root


# --- version detection -----------------------------------------------------------------------


def _namespaces(root: Any) -> set[str]:
    found: set[str] = set()
    for el in root.iter():
        found.update(v for v in el.nsmap.values() if v)
    return found


def _detect_version(root: Any, schemaversion: str | None) -> tuple[str, str]:
    """Return (family, edition).

    The family is "2004" when metadata/schemaversion mentions 2004 or CAM 1.3, or when the
    adlcp_v1p3 namespace (or the 2004-only imsss/adlseq namespaces) is declared; else "1.2".
    The edition comes from schemaversion when it names one ("2004 4th Edition", "CAM 1.3" =
    2nd). A bare or missing schemaversion is "2004 4th Edition" when 4th-edition-only markup is
    present (adlseq:objectives, adlcp:data shared data, completionThreshold attributes,
    sharedDataGlobalToSystem) and "2004 3rd Edition" otherwise: 3rd and 4th edition packages use
    the same namespace URIs, and 3rd edition rules are what such packages were built against.
    """
    sv = (schemaversion or "").lower()
    namespaces = {ns.lower() for ns in _namespaces(root)}
    is_2004 = (
        "2004" in sv
        or "1.3" in sv
        or ADLCP_V1P3 in namespaces
        or any("imsss" in ns or "adlseq" in ns for ns in namespaces)
    )
    if not is_2004:
        return "1.2", "1.2"
    if "4th" in sv:
        return "2004", "2004 4th Edition"
    if "3rd" in sv:
        return "2004", "2004 3rd Edition"
    if "2nd" in sv or "1.3" in sv:
        return "2004", "2004 2nd Edition"
    return "2004", "2004 4th Edition" if _has_4th_edition_markup(root) else "2004 3rd Edition"


def _has_4th_edition_markup(root: Any) -> bool:
    for el in root.iter():
        name = local(el)
        if name == "objectives" and "adlseq" in (etree.QName(el).namespace or ""):
            return True
        if name == "data" and "adlcp" in (etree.QName(el).namespace or ""):
            return True
        if name == "completionThreshold" and any(
            attr(el, a) is not None for a in ("completedByMeasure", "minProgressMeasure")
        ):
            return True
        if name == "organization" and attr(el, "sharedDataGlobalToSystem") is not None:
            return True
    return False


# --- manifest structure ----------------------------------------------------------------------


class _Builder:
    def __init__(self, root: Any):
        self.root = root
        self.errors: list[PackageError] = []
        self.collection_elems: dict[str, Any] = {}

    def invalid(self, message: str, el: Any | None = None) -> None:
        line = el.sourceline if el is not None else None
        where = f" (imsmanifest.xml line {line})" if line else ""
        self.errors.append(PackageError("manifest_invalid", message + where, MANIFEST, line))

    def build(self) -> Manifest | None:
        root = self.root
        if local(root) != "manifest":
            self.invalid(f"The root element of imsmanifest.xml is <{local(root)}>, not <manifest>.")
            return None
        metadata = child(root, "metadata")
        schema = text(child(metadata, "schema")) if metadata is not None else None
        if schema and "common cartridge" in schema.lower():
            self.errors.append(
                PackageError(
                    "unsupported_version",
                    f"imsmanifest.xml describes an IMS Common Cartridge ('{schema}'), not a "
                    "SCORM package.",
                    MANIFEST,
                )
            )
            return None
        schemaversion = text(child(metadata, "schemaversion")) if metadata is not None else None
        version, edition = _detect_version(root, schemaversion)

        base = _join_base("", root.get(f"{{{XML_NS}}}base"))
        resources = self.resources(root, base)
        collection = self.collection(root)
        orgs_el = child(root, "organizations")
        org_elements = list(children(orgs_el, "organization")) if orgs_el is not None else []
        organizations = [self.organization(o, resources) for o in org_elements]
        if not organizations:
            self.invalid("imsmanifest.xml has no <organization>, so there is nothing to launch.")
            return None
        default_org = attr(orgs_el, "default") or ""
        if default_org not in {o.identifier for o in organizations}:
            default_org = organizations[0].identifier
        manifest = Manifest(
            identifier=attr(root, "identifier") or "",
            version=version,
            edition=edition,
            title="",
            default_org=default_org,
            organizations=organizations,
            resources=resources,
            sequencing_collection=collection,
        )
        manifest.title = manifest.organization.title or manifest.identifier
        return manifest

    def resources(self, root: Any, base: str) -> dict[str, Resource]:
        found: dict[str, Resource] = {}
        resources_el = child(root, "resources")
        if resources_el is None:
            return found
        base = _join_base(base, resources_el.get(f"{{{XML_NS}}}base"))
        elements = list(children(resources_el, "resource"))
        for el in elements:
            identifier = attr(el, "identifier")
            if not identifier:
                self.invalid("A <resource> has no identifier attribute.", el)
                continue
            res_base = _join_base(base, el.get(f"{{{XML_NS}}}base"))
            href = attr(el, "href") or None
            scorm_type = (attr(el, "scormType") or "").lower() or None
            files = [resolve(res_base, h) for f in children(el, "file") if (h := attr(f, "href"))]
            deps = [d for dep in children(el, "dependency") if (d := attr(dep, "identifierref"))]
            found[identifier] = Resource(identifier, href, scorm_type, res_base, files, deps)
        for el in elements:
            res = found.get(attr(el, "identifier") or "")
            for dep in res.dependencies if res else []:
                if dep not in found:
                    self.invalid(
                        f"Resource '{res.identifier}' depends on resource '{dep}', which is not "
                        "defined in <resources>.",
                        el,
                    )
        return found

    def collection(self, root: Any) -> dict[str, dict]:
        parsed: dict[str, dict] = {}
        coll = child(root, "sequencingCollection")
        if coll is None:
            return parsed
        for seq in children(coll, "sequencing"):
            seq_id = attr(seq, "ID")
            if seq_id:
                self.collection_elems[seq_id] = seq
                parsed[seq_id] = parse_sequencing(seq)
        return parsed

    def sequencing(self, owner: Any) -> dict | None:
        seq = child(owner, "sequencing")
        if seq is None:
            return None
        ref = attr(seq, "IDRef")
        base = None
        if ref:
            base = self.collection_elems.get(ref)
            if base is None:
                self.invalid(
                    f"<sequencing IDRef='{ref}'> refers to a sequencing collection entry that "
                    "does not exist.",
                    seq,
                )
        return parse_sequencing(seq, base)

    def organization(self, el: Any, resources: dict[str, Resource]) -> Organization:
        identifier = attr(el, "identifier") or ""
        items = [self.item(i, resources) for i in children(el, "item")]
        if not items:
            self.invalid(f"Organization '{identifier}' contains no items.", el)
        return Organization(
            identifier=identifier,
            title=text(child(el, "title")) or identifier,
            items=items,
            objectives_global_to_system=parse_bool(attr(el, "objectivesGlobalToSystem"), True),
            shared_data_global_to_system=parse_bool(attr(el, "sharedDataGlobalToSystem"), True),
            sequencing=self.sequencing(el),
        )

    def item(self, el: Any, resources: dict[str, Resource]) -> Item:
        identifier = attr(el, "identifier") or ""
        item = Item(
            identifier=identifier,
            title=text(child(el, "title")) or identifier,
            identifierref=attr(el, "identifierref") or None,
            parameters=attr(el, "parameters") or "",
            is_visible=parse_bool(attr(el, "isvisible"), True),
        )
        item.children = [self.item(c, resources) for c in children(el, "item")]
        if not identifier:
            self.invalid("An <item> has no identifier attribute.", el)
        self.link_resource(item, el, resources)
        self.item_details(item, el)
        return item

    def link_resource(self, item: Item, el: Any, resources: dict[str, Resource]) -> None:
        if item.identifierref:
            res = resources.get(item.identifierref)
            if res is None:
                self.invalid(
                    f"Item '{item.identifier}' refers to resource '{item.identifierref}', which "
                    "is not defined in <resources>.",
                    el,
                )
                return
            item.resource = res
            item.scorm_type = res.scorm_type
            if res.href:
                item.launch = add_parameters(resolve(res.base, res.href), item.parameters)
        if item.is_leaf and item.launch is None and (item.identifierref is None or item.resource):
            reason = (
                "has no identifierref"
                if item.identifierref is None
                else f"refers to resource '{item.identifierref}', which has no href"
            )
            self.invalid(
                f"Item '{item.identifier}' has no content to launch: it {reason}.",
                el,
            )

    def item_details(self, item: Item, el: Any) -> None:
        item.mastery_score = parse_float(text(child(el, "masteryscore")))
        item.max_time_allowed = text(child(el, "maxtimeallowed"))
        item.time_limit_action = text(child(el, "timelimitaction"))
        item.data_from_lms = text(child(el, "datafromlms"))
        item.prerequisites = text(child(el, "prerequisites"))
        threshold = child(el, "completionThreshold")
        if threshold is not None:
            self.completion_threshold(item, threshold)
        presentation = child(el, "presentation")
        if presentation is not None:
            tokens = [
                HIDE_LMS_UI.get((text(h) or "").lower())
                for h in presentation.iter()
                if local(h).lower() == "hidelmsui"
            ]
            item.hide_lms_ui = list(dict.fromkeys(t for t in tokens if t))
        data = child(el, "data")
        if data is not None:
            item.shared_data = [
                {
                    "targetID": target,
                    "readSharedData": parse_bool(attr(m, "readSharedData"), True),
                    "writeSharedData": parse_bool(attr(m, "writeSharedData"), False),
                }
                for m in children(data, "map")
                if (target := attr(m, "targetID"))
            ]
        item.sequencing = self.sequencing(el)
        if item.sequencing:
            self.apply_sequencing_details(item, item.sequencing)

    @staticmethod
    def completion_threshold(item: Item, el: Any) -> None:
        has_attrs = any(
            attr(el, a) is not None
            for a in ("completedByMeasure", "minProgressMeasure", "progressWeight")
        )
        if has_attrs:  # 4th edition attribute form
            item.completed_by_measure = parse_bool(attr(el, "completedByMeasure"), False)
            measure = parse_float(attr(el, "minProgressMeasure"))
            item.completion_threshold = measure if measure is not None else 1.0
            weight = parse_float(attr(el, "progressWeight"))
            item.progress_weight = weight if weight is not None else 1.0
        else:
            # 2nd/3rd edition element text: the threshold always decides completion.
            measure = parse_float(text(el))
            if measure is not None:
                item.completion_threshold = measure
                item.completed_by_measure = True

    @staticmethod
    def apply_sequencing_details(item: Item, seq: dict) -> None:
        primary = seq.get("primaryObjective") or {}
        if primary.get("satisfiedByMeasure"):
            item.scaled_passing_score = primary.get("minNormalizedMeasure", 1.0)
        if seq.get("attemptAbsoluteDurationLimit") and not item.max_time_allowed:
            item.max_time_allowed = seq["attemptAbsoluteDurationLimit"]


def _duplicate_identifiers(manifest: Manifest) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for org in manifest.organizations:
        for item in org.walk():
            if item.identifier in seen and item.identifier not in dupes:
                dupes.append(item.identifier)
            seen.add(item.identifier)
    return dupes


def missing_file_errors(manifest: Manifest, file_names: set[str]) -> list[PackageError]:
    """One file_missing error per referenced path that is not in the package."""
    folded = {n.lower(): n for n in file_names}
    errors: list[PackageError] = []
    reported: set[str] = set()

    def present(path: str) -> bool:
        if path.endswith("/"):
            return any(n.startswith(path) for n in file_names)
        return path in file_names or unquote(path) in file_names

    for res in manifest.resources.values():
        refs = []
        if res.href:
            launch = resolve(res.base, res.href)
            if not is_external(launch):
                refs.append(strip_query(launch))
        refs.extend(strip_query(f) for f in res.files if not is_external(f))
        for path in refs:
            if not path or path in reported or present(path):
                continue
            reported.add(path)
            message = (
                f"imsmanifest.xml references '{path}' (resource {res.identifier}) but the file "
                "is not in the package"
            )
            near = folded.get(unquote(path).lower())
            if near:
                message += f"; the package has '{near}', which differs only in letter case"
            errors.append(PackageError("file_missing", message + ".", path))
    return errors


def parse_manifest(xml: bytes, file_names: set[str] | None = None) -> Manifest:
    """Parse and validate a manifest; with file_names, also check every referenced file exists.

    Raises PackageInvalid listing every problem found.
    """
    root = parse_xml(xml)
    builder = _Builder(root)
    manifest = builder.build()
    errors = builder.errors
    if manifest is not None:
        for dupe in _duplicate_identifiers(manifest):
            errors.append(
                PackageError(
                    "manifest_invalid",
                    f"Item identifier '{dupe}' is used more than once in imsmanifest.xml.",
                    MANIFEST,
                )
            )
        if file_names is not None:
            errors.extend(missing_file_errors(manifest, file_names))
    if errors or manifest is None:
        raise PackageInvalid(errors)
    return manifest
