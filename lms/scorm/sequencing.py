"""IMS Simple Sequencing (SCORM 2004) -> settings for scorm-again 3.4.3's sequencing engine.

The output follows scorm-again's ``SequencingSettings`` / ``ActivitySettings`` types. Keys whose
value equals scorm-again's own default are left out, with one exception: scorm-again defaults
``flow`` to true while the standard defaults it to false, so ``flow`` is always written.
Sequencing collections (``IDRef``) are merged here, not in the browser, so every activity carries
its complete definition and no ``collections`` key is emitted.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from lxml import etree

if TYPE_CHECKING:
    from .manifest import Item, Manifest

XML_NS = "http://www.w3.org/XML/1998/namespace"

# --- small XML helpers shared with manifest.py ---------------------------------------------


def local(el: Any) -> str:
    """Local name of an element, or "" for comments and processing instructions."""
    if not isinstance(el.tag, str):
        return ""
    return etree.QName(el).localname


def namespace(el: Any) -> str:
    if not isinstance(el.tag, str):
        return ""
    return etree.QName(el).namespace or ""


def children(el: Any, name: str | None = None) -> Iterator[Any]:
    lowered = name.lower() if name else None
    for child in el:
        tag = local(child)
        if tag and (lowered is None or tag.lower() == lowered):
            yield child


def child(el: Any, name: str) -> Any | None:
    return next(children(el, name), None)


def attr(el: Any, name: str) -> str | None:
    """Attribute by local name in any namespace, case-insensitively (authoring tools vary)."""
    value = el.get(name)
    if value is not None:
        return value.strip()
    lowered = name.lower()
    for key, val in el.attrib.items():
        if etree.QName(key).localname.lower() == lowered:
            return val.strip()
    return None


def text(el: Any | None) -> str | None:
    if el is None:
        return None
    value = "".join(el.itertext()).strip()
    return value or None


def parse_bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return default


def parse_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip().replace(",", "."))
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def parse_int(value: str | None) -> int | None:
    number = parse_float(value)
    return int(number) if number is not None else None


# --- vocabularies ------------------------------------------------------------------------


def _vocab(*tokens: str) -> dict[str, str]:
    return {t.lower(): t for t in tokens}


_RULE_CONDITIONS = _vocab(
    "satisfied",
    "objectiveStatusKnown",
    "objectiveMeasureKnown",
    "objectiveMeasureGreaterThan",
    "objectiveMeasureLessThan",
    "completed",
    "activityProgressKnown",
    "attempted",
    "attemptLimitExceeded",
    "timeLimitExceeded",
    "outsideAvailableTimeRange",
    "always",
    "never",
)
_RULE_ACTIONS = _vocab(
    "skip",
    "disabled",
    "hiddenFromChoice",
    "stopForwardTraversal",
    "exitParent",
    "exitAll",
    "retry",
    "retryAll",
    "continue",
    "previous",
    "exit",
)
# scorm-again names the rollup form of activityProgressKnown "progressKnown".
_ROLLUP_CONDITIONS = {
    **_vocab(
        "satisfied",
        "objectiveStatusKnown",
        "objectiveMeasureKnown",
        "completed",
        "attempted",
        "attemptLimitExceeded",
        "timeLimitExceeded",
        "outsideAvailableTimeRange",
        "always",
        "notAttempted",
        "progressKnown",
    ),
    "activityprogressknown": "progressKnown",
}
_ROLLUP_ACTIONS = _vocab("satisfied", "notSatisfied", "completed", "incomplete")
_CHILD_SETS = _vocab("all", "any", "none", "atLeastCount", "atLeastPercent")
_TIMINGS = _vocab("never", "once", "onEachNewAttempt")
_CONSIDERATIONS = _vocab("always", "ifAttempted", "ifNotSkipped", "ifNotSuspended")
HIDE_LMS_UI = _vocab(
    "continue", "previous", "exit", "exitAll", "abandon", "abandonAll", "suspendAll"
)

# Boolean attributes and their defaults in the standard (equal to scorm-again's defaults).
_CONTROL_MODE = {
    "choice": True,
    "choiceExit": True,
    "forwardOnly": False,
    "useCurrentAttemptObjectiveInfo": True,
    "useCurrentAttemptProgressInfo": True,
}
_DELIVERY = {"tracked": True, "completionSetByContent": False, "objectiveSetByContent": False}
_CONSTRAINED_CHOICE = {"preventActivation": False, "constrainChoice": False}
_MAP_EXTENSION_READS = [
    "readRawScore",
    "readMinScore",
    "readMaxScore",
    "readCompletionStatus",
    "readProgressMeasure",
]
_MAP_EXTENSION_WRITES = [
    "writeRawScore",
    "writeMinScore",
    "writeMaxScore",
    "writeCompletionStatus",
    "writeProgressMeasure",
]


def _changed_bools(el: Any | None, defaults: dict[str, bool]) -> dict[str, bool]:
    """The boolean attributes of el whose value differs from the default."""
    if el is None:
        return {}
    values = {name: parse_bool(attr(el, name), default) for name, default in defaults.items()}
    return {name: v for name, v in values.items() if v != defaults[name]}


def _token(value: str | None, vocab: dict[str, str]) -> str | None:
    if value is None:
        return None
    return vocab.get(value.strip().lower(), value.strip())


# --- parsing -------------------------------------------------------------------------------


def _group_key(el: Any) -> tuple[str, str]:
    family = "adlseq" if "adlseq" in namespace(el).lower() else "imsss"
    return family, local(el).lower()


def _merged_groups(elem: Any, base: Any | None) -> dict[tuple[str, str], list[Any]]:
    """Child elements of a <sequencing>, completed from a referenced collection entry.

    An element present on the item replaces the collection's element of the same kind
    (so an item's <sequencingRules> replaces the collection's rules entirely).
    """
    groups: dict[tuple[str, str], list[Any]] = {}
    for el in children(elem):
        groups.setdefault(_group_key(el), []).append(el)
    if base is not None:
        inherited: dict[tuple[str, str], list[Any]] = {}
        for el in children(base):
            key = _group_key(el)
            if key not in groups:
                inherited.setdefault(key, []).append(el)
        groups.update(inherited)
    return groups


def parse_sequencing(elem: Any, base: Any | None = None) -> dict:
    """Turn an imsss:sequencing element into an ActivitySettings fragment.

    ``base`` is the sequencingCollection entry named by the element's IDRef, if any.
    """
    groups = _merged_groups(elem, base)

    def first(family: str, name: str) -> Any | None:
        found = groups.get((family, name.lower()))
        return found[0] if found else None

    out: dict[str, Any] = {}
    controls: dict[str, Any] = {}

    mode = first("imsss", "controlMode")
    controls["flow"] = parse_bool(attr(mode, "flow"), False) if mode is not None else False
    controls.update(_changed_bools(mode, _CONTROL_MODE))

    rules = first("imsss", "sequencingRules")
    if rules is not None:
        parsed_rules = _sequencing_rules(rules)
        if parsed_rules:
            out["sequencingRules"] = parsed_rules

    limits = first("imsss", "limitConditions")
    if limits is not None:
        attempt_limit = parse_int(attr(limits, "attemptLimit"))
        if attempt_limit:  # 0 means "no limit"
            out["attemptLimit"] = attempt_limit
        duration = attr(limits, "attemptAbsoluteDurationLimit")
        if duration:
            out["attemptAbsoluteDurationLimit"] = duration

    rollup = first("imsss", "rollupRules")
    if rollup is not None:
        controls.update(_rollup_controls(rollup))
        rollup_rules = [_rollup_rule(r) for r in children(rollup, "rollupRule")]
        if rollup_rules:
            out["rollupRules"] = {"rules": rollup_rules}

    objectives = first("imsss", "objectives")
    if objectives is not None:
        out.update(_objectives(objectives))
    extension = first("adlseq", "objectives")
    if extension is not None:
        _apply_objective_extensions(out, extension)

    random = first("imsss", "randomizationControls")
    if random is not None:
        controls.update(_randomization(random))

    delivery = _changed_bools(first("imsss", "deliveryControls"), _DELIVERY)
    if delivery:
        out["deliveryControls"] = delivery

    controls.update(
        _changed_bools(first("adlseq", "constrainedChoiceConsiderations"), _CONSTRAINED_CHOICE)
    )

    considerations = first("adlseq", "rollupConsiderations")
    if considerations is not None:
        values = _rollup_considerations(considerations)
        if values:
            out["rollupConsiderations"] = values

    aux = first("imsss", "auxiliaryResources")
    if aux is not None:
        resources = [
            {
                "resourceId": attr(a, "auxiliaryResourceID") or "",
                "purpose": attr(a, "purpose") or "",
            }
            for a in children(aux, "auxiliaryResource")
        ]
        resources = [r for r in resources if r["resourceId"]]
        if resources:
            out["auxiliaryResources"] = resources

    out["sequencingControls"] = controls
    return out


def _sequencing_rules(el: Any) -> dict:
    result: dict[str, list[dict]] = {}
    for tag, key in (
        ("preConditionRule", "preConditionRules"),
        ("exitConditionRule", "exitConditionRules"),
        ("postConditionRule", "postConditionRules"),
    ):
        parsed = [r for r in (_sequencing_rule(rule) for rule in children(el, tag)) if r]
        if parsed:
            result[key] = parsed
    return result


def _sequencing_rule(el: Any) -> dict | None:
    action_el = child(el, "ruleAction")
    action = _token(attr(action_el, "action") if action_el is not None else None, _RULE_ACTIONS)
    if not action:
        return None
    rule: dict[str, Any] = {"action": action, "conditions": []}
    conditions = child(el, "ruleConditions")
    if conditions is not None:
        combination = (attr(conditions, "conditionCombination") or "all").lower()
        if combination == "any":
            rule["conditionCombination"] = "any"
        for cond in children(conditions, "ruleCondition"):
            name = _token(attr(cond, "condition"), _RULE_CONDITIONS)
            if not name:
                continue
            parsed: dict[str, Any] = {"condition": name}
            if (attr(cond, "operator") or "").lower() == "not":
                parsed["operator"] = "not"
            referenced = attr(cond, "referencedObjective")
            if referenced:
                parsed["referencedObjective"] = referenced
            threshold = parse_float(attr(cond, "measureThreshold"))
            if threshold is not None:
                parsed["parameters"] = {"threshold": threshold}
            rule["conditions"].append(parsed)
    return rule


def _rollup_controls(el: Any) -> dict:
    controls: dict[str, Any] = {}
    for name in ("rollupObjectiveSatisfied", "rollupProgressCompletion"):
        if not parse_bool(attr(el, name), True):
            controls[name] = False
    weight = parse_float(attr(el, "objectiveMeasureWeight"))
    if weight is not None and weight != 1.0:
        controls["objectiveMeasureWeight"] = weight
    return controls


def _rollup_rule(el: Any) -> dict:
    action_el = child(el, "rollupAction")
    action = _token(attr(action_el, "action") if action_el is not None else None, _ROLLUP_ACTIONS)
    rule: dict[str, Any] = {"action": action or "satisfied", "conditions": []}
    child_set = _token(attr(el, "childActivitySet"), _CHILD_SETS) or "all"
    if child_set != "all":
        rule["consideration"] = child_set
    count = parse_int(attr(el, "minimumCount"))
    if count:
        rule["minimumCount"] = count
    percent = parse_float(attr(el, "minimumPercent"))
    if percent:
        rule["minimumPercent"] = round(percent * 100, 6)  # manifest 0..1, scorm-again 0..100
    conditions = child(el, "rollupConditions")
    if conditions is not None:
        if (attr(conditions, "conditionCombination") or "any").lower() == "all":
            rule["conditionCombination"] = "all"
        for cond in children(conditions, "rollupCondition"):
            name = _token(attr(cond, "condition"), _ROLLUP_CONDITIONS)
            if not name:
                continue
            parsed: dict[str, Any] = {"condition": name}
            if (attr(cond, "operator") or "").lower() == "not":
                parsed["operator"] = "not"
            rule["conditions"].append(parsed)
    return rule


def _objectives(el: Any) -> dict:
    out: dict[str, Any] = {}
    primary = child(el, "primaryObjective")
    if primary is not None:
        out["primaryObjective"] = _objective(primary)
    others = [_objective(o) for o in children(el, "objective")]
    others = [o for o in others if o.get("objectiveID")]
    if others:
        out["objectives"] = others
    return out


def _objective(el: Any) -> dict:
    obj: dict[str, Any] = {}
    objective_id = attr(el, "objectiveID")
    if objective_id:
        obj["objectiveID"] = objective_id
    by_measure = parse_bool(attr(el, "satisfiedByMeasure"), False)
    if by_measure:
        obj["satisfiedByMeasure"] = True
    measure = parse_float(text(child(el, "minNormalizedMeasure")))
    if measure is not None:
        obj["minNormalizedMeasure"] = measure
    elif by_measure:
        obj["minNormalizedMeasure"] = 1.0  # the standard's default
    maps = [_map_info(m) for m in children(el, "mapInfo") if attr(m, "targetObjectiveID")]
    if maps:
        obj["mapInfo"] = maps
    return obj


def _map_info(el: Any) -> dict:
    info: dict[str, Any] = {"targetObjectiveID": attr(el, "targetObjectiveID")}
    for name, default in (
        ("readSatisfiedStatus", True),
        ("readNormalizedMeasure", True),
        ("writeSatisfiedStatus", False),
        ("writeNormalizedMeasure", False),
    ):
        value = parse_bool(attr(el, name), default)
        if value != default:
            info[name] = value
    # scorm-again reads the 4th-edition extras by default; the standard does not.
    for name in _MAP_EXTENSION_READS:
        info[name] = False
    return info


def _apply_objective_extensions(out: dict, el: Any) -> None:
    """Fold adlseq:objectives (4th edition mapInfo extensions) into the matching objectives."""
    by_id: dict[str, dict] = {}
    for obj in [out.get("primaryObjective"), *out.get("objectives", [])]:
        if obj and obj.get("objectiveID"):
            by_id[obj["objectiveID"]] = obj
    for ext in children(el, "objective"):
        obj = by_id.get(attr(ext, "objectiveID") or "")
        if obj is None:
            continue
        for ext_map in children(ext, "mapInfo"):
            target = attr(ext_map, "targetObjectiveID")
            if not target:
                continue
            maps = obj.setdefault("mapInfo", [])
            info = next((m for m in maps if m["targetObjectiveID"] == target), None)
            if info is None:
                info = {
                    "targetObjectiveID": target,
                    "readSatisfiedStatus": False,
                    "readNormalizedMeasure": False,
                    **{name: False for name in _MAP_EXTENSION_READS},
                }
                maps.append(info)
            for name in _MAP_EXTENSION_READS + _MAP_EXTENSION_WRITES:
                if parse_bool(attr(ext_map, name), False):
                    info[name] = True


def _randomization(el: Any) -> dict:
    controls: dict[str, Any] = {}
    for name in ("randomizationTiming", "selectionTiming"):
        timing = _token(attr(el, name), _TIMINGS)
        if timing and timing != "never":
            controls[name] = timing
    count = parse_int(attr(el, "selectCount"))
    if count is not None:
        controls["selectCount"] = count
    # scorm-again's "reorderChildren" is runtime state; the manifest flag is "randomizeChildren".
    if parse_bool(attr(el, "reorderChildren"), False):
        controls["randomizeChildren"] = True
    return controls


def _rollup_considerations(el: Any) -> dict:
    values: dict[str, Any] = {}
    for name in (
        "requiredForSatisfied",
        "requiredForNotSatisfied",
        "requiredForCompleted",
        "requiredForIncomplete",
    ):
        value = _token(attr(el, name), _CONSIDERATIONS)
        if value and value != "always":
            values[name] = value
    if not parse_bool(attr(el, "measureSatisfactionIfActive"), True):
        values["measureSatisfactionIfActive"] = False
    return values


# --- settings for the player ----------------------------------------------------------------


def _fragment(sequencing: dict | None, activity_id: str) -> dict:
    fragment = copy.deepcopy(sequencing) if sequencing else {}
    controls = fragment.setdefault("sequencingControls", {})
    controls.setdefault("flow", False)
    primary = fragment.get("primaryObjective")
    if primary is not None and not primary.get("objectiveID"):
        # scorm-again ignores objectives without an ID; the standard allows omitting it here.
        primary["objectiveID"] = f"{activity_id}#primary"
    return fragment


def _node(item: Item) -> dict[str, Any]:
    return {"id": item.identifier, "title": item.title, "isVisible": item.is_visible}


def _activity(item: Item) -> dict:
    node = _node(item)
    node.update(_fragment(item.sequencing, item.identifier))
    if item.hide_lms_ui:
        node["hideLmsUi"] = list(item.hide_lms_ui)
    if item.completion_threshold is not None or item.completed_by_measure:
        node["completionThreshold"] = {
            "completedByMeasure": item.completed_by_measure,
            "minProgressMeasure": (
                item.completion_threshold if item.completion_threshold is not None else 1.0
            ),
            "progressWeight": item.progress_weight,
        }
    elif item.progress_weight != 1.0:
        node["completionThreshold"] = {"progressWeight": item.progress_weight}
    if item.shared_data:
        node["sharedDataMaps"] = copy.deepcopy(item.shared_data)
    if item.children:
        node["children"] = [_activity(c) for c in item.children]
    return node


def _flow_activity(item: Item) -> dict:
    node = _node(item)
    if item.children:
        node["sequencingControls"] = {"choice": True, "flow": True}
        node["children"] = [_flow_activity(c) for c in item.children]
    return node


def build_sequencing_settings(manifest: Manifest) -> dict:
    org = manifest.organization
    root: dict[str, Any] = {"id": org.identifier, "title": org.title}
    if manifest.version != "2004":
        root["sequencingControls"] = {"choice": True, "flow": True}
        root["children"] = [_flow_activity(i) for i in org.items]
        return {"activityTree": root}
    root.update(_fragment(org.sequencing, org.identifier))
    root["children"] = [_activity(i) for i in org.items]
    return {"activityTree": root}


def _walk(items: Iterable[Item]) -> Iterator[Item]:
    for item in items:
        yield item
        yield from _walk(item.children)


def _fragments(manifest: Manifest) -> Iterator[dict]:
    for org in manifest.organizations:
        if org.sequencing:
            yield org.sequencing
        for item in _walk(org.items):
            if item.sequencing:
                yield item.sequencing
    yield from manifest.sequencing_collection.values()


def global_objective_ids(manifest: Manifest) -> list[str]:
    found: dict[str, None] = {}
    for fragment in _fragments(manifest):
        objectives = [fragment.get("primaryObjective"), *fragment.get("objectives", [])]
        for obj in objectives:
            for info in (obj or {}).get("mapInfo", []):
                found.setdefault(info["targetObjectiveID"], None)
    return list(found)


def shared_data_ids(manifest: Manifest) -> list[str]:
    """Every adlcp:map targetID (SCORM 2004 4th edition shared data stores)."""
    found: dict[str, None] = {}
    for org in manifest.organizations:
        for item in _walk(org.items):
            for entry in item.shared_data:
                found.setdefault(entry["targetID"], None)
    return list(found)
