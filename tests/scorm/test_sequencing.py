from __future__ import annotations

import json
import zipfile

from lms.scorm.manifest import Manifest, parse_manifest
from lms.scorm.sequencing import (
    build_sequencing_settings,
    global_objective_ids,
    parse_sequencing,
    shared_data_ids,
)

from .zipfactory import manifest2004, sample

NO_EXTENDED_READS = {
    "readRawScore": False,
    "readMinScore": False,
    "readMaxScore": False,
    "readCompletionStatus": False,
    "readProgressMeasure": False,
}


PREFIX = "com.scorm.golfsamples.sequencing.simpleremediation.20043rd."


def sample_manifest(name: str) -> Manifest:
    with zipfile.ZipFile(sample(name)) as zf:
        return parse_manifest(zf.read("imsmanifest.xml"))


FOURTH_EDITION_ITEMS = """
<item identifier="module">
  <title>Module</title>
  <item identifier="lesson" identifierref="r1">
    <title>Lesson</title>
    <adlnav:presentation><adlnav:navigationInterface>
      <adlnav:hideLMSUI>previous</adlnav:hideLMSUI><adlnav:hideLMSUI>suspendAll</adlnav:hideLMSUI>
    </adlnav:navigationInterface></adlnav:presentation>
    <adlcp:completionThreshold completedByMeasure="true" minProgressMeasure="0.9"/>
    <imsss:sequencing IDRef="common">
      <imsss:limitConditions attemptLimit="2"/>
      <imsss:objectives>
        <imsss:primaryObjective objectiveID="lesson_obj" satisfiedByMeasure="true">
          <imsss:minNormalizedMeasure>0.7</imsss:minNormalizedMeasure>
          <imsss:mapInfo targetObjectiveID="g.lesson" writeSatisfiedStatus="true"
                         writeNormalizedMeasure="true"/>
        </imsss:primaryObjective>
        <imsss:objective objectiveID="extra">
          <imsss:mapInfo targetObjectiveID="g.extra" readSatisfiedStatus="false"/>
        </imsss:objective>
      </imsss:objectives>
      <adlseq:objectives>
        <adlseq:objective objectiveID="lesson_obj">
          <adlseq:mapInfo targetObjectiveID="g.lesson" writeRawScore="true"
                          readCompletionStatus="true" writeCompletionStatus="true"/>
          <adlseq:mapInfo targetObjectiveID="g.lesson.progress" readProgressMeasure="true"/>
        </adlseq:objective>
      </adlseq:objectives>
    </imsss:sequencing>
    <adlcp:data><adlcp:map targetID="notes" writeSharedData="true"/></adlcp:data>
  </item>
  <item identifier="quiz" identifierref="r1" parameters="?quiz=1">
    <title>Quiz</title>
    <imsss:sequencing IDRef="common">
      <imsss:sequencingRules>
        <imsss:exitConditionRule>
          <imsss:ruleConditions>
            <imsss:ruleCondition condition="objectiveMeasureGreaterThan" measureThreshold="0.5"
                                 referencedObjective="quiz_obj" operator="noOp"/>
          </imsss:ruleConditions>
          <imsss:ruleAction action="exit"/>
        </imsss:exitConditionRule>
      </imsss:sequencingRules>
      <imsss:objectives><imsss:primaryObjective objectiveID="quiz_obj"/></imsss:objectives>
    </imsss:sequencing>
  </item>
  <imsss:sequencing>
    <imsss:controlMode choice="false" flow="true" forwardOnly="true"/>
    <imsss:rollupRules objectiveMeasureWeight="0.5">
      <imsss:rollupRule childActivitySet="atLeastPercent" minimumPercent="0.5">
        <imsss:rollupConditions conditionCombination="all">
          <imsss:rollupCondition condition="activityProgressKnown"/>
          <imsss:rollupCondition operator="not" condition="satisfied"/>
        </imsss:rollupConditions>
        <imsss:rollupAction action="notSatisfied"/>
      </imsss:rollupRule>
    </imsss:rollupRules>
    <imsss:randomizationControls reorderChildren="true" randomizationTiming="onEachNewAttempt"
                                 selectCount="1" selectionTiming="once"/>
    <adlseq:constrainedChoiceConsiderations preventActivation="true" constrainChoice="true"/>
  </imsss:sequencing>
</item>
"""

COLLECTION = """
<imsss:sequencingCollection>
  <imsss:sequencing ID="common">
    <imsss:controlMode choiceExit="false"/>
    <imsss:sequencingRules>
      <imsss:preConditionRule>
        <imsss:ruleConditions conditionCombination="any">
          <imsss:ruleCondition condition="Satisfied"/>
          <imsss:ruleCondition condition="attemptLimitExceeded"/>
        </imsss:ruleConditions>
        <imsss:ruleAction action="HiddenFromChoice"/>
      </imsss:preConditionRule>
    </imsss:sequencingRules>
    <imsss:deliveryControls tracked="true" completionSetByContent="true"/>
    <imsss:objectives><imsss:primaryObjective objectiveID="coll_obj"/></imsss:objectives>
    <adlseq:rollupConsiderations requiredForSatisfied="ifAttempted"
                                 measureSatisfactionIfActive="false"/>
  </imsss:sequencing>
</imsss:sequencingCollection>
"""

COLLECTION_RULES = {
    "preConditionRules": [
        {
            "action": "hiddenFromChoice",
            "conditionCombination": "any",
            "conditions": [{"condition": "satisfied"}, {"condition": "attemptLimitExceeded"}],
        }
    ]
}


def fourth_edition_manifest() -> Manifest:
    xml = manifest2004(
        FOURTH_EDITION_ITEMS,
        '<resource identifier="r1" type="webcontent" adlcp:scormType="sco" href="index.html"/>',
        org_attrs='adlseq:objectivesGlobalToSystem="false" adlcp:sharedDataGlobalToSystem="false"',
        org_extra='<imsss:sequencing><imsss:controlMode flow="true"/></imsss:sequencing>',
        after_resources=COLLECTION,
    )
    return parse_manifest(xml.encode())


def test_fourth_edition_settings() -> None:
    m = fourth_edition_manifest()
    assert m.edition == "2004 4th Edition"
    assert m.organization.objectives_global_to_system is False
    assert m.organization.shared_data_global_to_system is False
    settings = build_sequencing_settings(m)
    assert json.loads(json.dumps(settings)) == settings
    assert settings == {
        "activityTree": {
            "id": "org",
            "title": "Test course 2004",
            "sequencingControls": {"flow": True},
            "children": [
                {
                    "id": "module",
                    "title": "Module",
                    "isVisible": True,
                    "sequencingControls": {
                        "flow": True,
                        "choice": False,
                        "forwardOnly": True,
                        "objectiveMeasureWeight": 0.5,
                        "randomizationTiming": "onEachNewAttempt",
                        "selectionTiming": "once",
                        "selectCount": 1,
                        "randomizeChildren": True,
                        "preventActivation": True,
                        "constrainChoice": True,
                    },
                    "rollupRules": {
                        "rules": [
                            {
                                "action": "notSatisfied",
                                "consideration": "atLeastPercent",
                                "minimumPercent": 50.0,
                                "conditionCombination": "all",
                                "conditions": [
                                    {"condition": "progressKnown"},
                                    {"condition": "satisfied", "operator": "not"},
                                ],
                            }
                        ]
                    },
                    "children": [
                        {
                            "id": "lesson",
                            "title": "Lesson",
                            "isVisible": True,
                            "sequencingControls": {"flow": False, "choiceExit": False},
                            "sequencingRules": COLLECTION_RULES,
                            "attemptLimit": 2,
                            "primaryObjective": {
                                "objectiveID": "lesson_obj",
                                "satisfiedByMeasure": True,
                                "minNormalizedMeasure": 0.7,
                                "mapInfo": [
                                    {
                                        "targetObjectiveID": "g.lesson",
                                        "writeSatisfiedStatus": True,
                                        "writeNormalizedMeasure": True,
                                        **NO_EXTENDED_READS,
                                        "readCompletionStatus": True,
                                        "writeCompletionStatus": True,
                                        "writeRawScore": True,
                                    },
                                    {
                                        "targetObjectiveID": "g.lesson.progress",
                                        "readSatisfiedStatus": False,
                                        "readNormalizedMeasure": False,
                                        **NO_EXTENDED_READS,
                                        "readProgressMeasure": True,
                                    },
                                ],
                            },
                            "objectives": [
                                {
                                    "objectiveID": "extra",
                                    "mapInfo": [
                                        {
                                            "targetObjectiveID": "g.extra",
                                            "readSatisfiedStatus": False,
                                            **NO_EXTENDED_READS,
                                        }
                                    ],
                                }
                            ],
                            "deliveryControls": {"completionSetByContent": True},
                            "rollupConsiderations": {
                                "requiredForSatisfied": "ifAttempted",
                                "measureSatisfactionIfActive": False,
                            },
                            "hideLmsUi": ["previous", "suspendAll"],
                            "completionThreshold": {
                                "completedByMeasure": True,
                                "minProgressMeasure": 0.9,
                                "progressWeight": 1.0,
                            },
                            "sharedDataMaps": [
                                {
                                    "targetID": "notes",
                                    "readSharedData": True,
                                    "writeSharedData": True,
                                }
                            ],
                        },
                        {
                            "id": "quiz",
                            "title": "Quiz",
                            "isVisible": True,
                            "sequencingControls": {"flow": False, "choiceExit": False},
                            # The item's own rules replace the collection's rules entirely.
                            "sequencingRules": {
                                "exitConditionRules": [
                                    {
                                        "action": "exit",
                                        "conditions": [
                                            {
                                                "condition": "objectiveMeasureGreaterThan",
                                                "referencedObjective": "quiz_obj",
                                                "parameters": {"threshold": 0.5},
                                            }
                                        ],
                                    }
                                ]
                            },
                            "primaryObjective": {"objectiveID": "quiz_obj"},
                            "deliveryControls": {"completionSetByContent": True},
                            "rollupConsiderations": {
                                "requiredForSatisfied": "ifAttempted",
                                "measureSatisfactionIfActive": False,
                            },
                        },
                    ],
                }
            ],
        }
    }


def test_fourth_edition_item_fields_and_ids() -> None:
    m = fourth_edition_manifest()
    lesson, quiz = m.scos()
    assert (lesson.scaled_passing_score, lesson.completion_threshold) == (0.7, 0.9)
    assert quiz.launch == "index.html?quiz=1"
    assert m.sequencing_collection["common"]["sequencingRules"] == COLLECTION_RULES
    assert global_objective_ids(m) == ["g.lesson", "g.lesson.progress", "g.extra"]
    assert shared_data_ids(m) == ["notes"]


def test_simple_remediation_sample_settings() -> None:
    m = sample_manifest("SequencingSimpleRemediation_SCORM20043rdEdition")
    tree = build_sequencing_settings(m)["activityTree"]
    assert tree["id"] == "golf_sample_default_org"
    assert tree["sequencingControls"] == {"flow": True, "choice": False}
    (wrapper,) = tree["children"]
    assert wrapper["isVisible"] is False
    assert wrapper["sequencingControls"] == {"flow": True, "choice": False, "choiceExit": False}
    assert wrapper["sequencingRules"] == {
        "postConditionRules": [
            {
                "action": "retry",
                "conditionCombination": "any",
                "conditions": [
                    {"condition": "satisfied", "operator": "not"},
                    {"condition": "objectiveStatusKnown", "operator": "not"},
                ],
            },
            {
                "action": "exitAll",
                "conditionCombination": "any",
                "conditions": [{"condition": "satisfied"}],
            },
        ]
    }
    acts = {a["id"]: a for a in wrapper["children"]}
    assert list(acts) == [
        "playing_item",
        "etuqiette_item",
        "handicapping_item",
        "havingfun_item",
        "test_1",
        "test_2",
        "test_3",
        "test_4",
    ]
    skip_if_satisfied = {
        "preConditionRules": [{"action": "skip", "conditions": [{"condition": "satisfied"}]}]
    }
    for name in ("playing_item", "etuqiette_item", "handicapping_item", "havingfun_item"):
        assert acts[name]["sequencingRules"] == skip_if_satisfied
        assert acts[name]["sequencingControls"] == {
            "flow": False,
            "rollupObjectiveSatisfied": False,
            "rollupProgressCompletion": False,
            "objectiveMeasureWeight": 0.0,
        }
    assert acts["playing_item"]["primaryObjective"] == {
        "objectiveID": "learning_objective_satisfied",
        "mapInfo": [
            {
                "targetObjectiveID": PREFIX + "playing_satisfied",
                **NO_EXTENDED_READS,
            }
        ],
    }
    test1 = acts["test_1"]
    assert test1["sequencingRules"] == skip_if_satisfied
    assert test1["sequencingControls"] == {"flow": False}
    assert test1["deliveryControls"] == {
        "completionSetByContent": True,
        "objectiveSetByContent": True,
    }
    assert test1["rollupConsiderations"] == {"requiredForCompleted": "ifNotSkipped"}
    assert test1["primaryObjective"]["mapInfo"][0] == {
        "targetObjectiveID": PREFIX + "playing_satisfied",
        "writeSatisfiedStatus": True,
        "writeNormalizedMeasure": True,
        **NO_EXTENDED_READS,
    }
    # test_4 defines its own <sequencingRules>, which replace the collection's skip rule.
    assert acts["test_4"]["sequencingRules"] == {
        "postConditionRules": [{"action": "exitParent", "conditions": [{"condition": "always"}]}]
    }
    assert global_objective_ids(m) == [
        PREFIX + s
        for s in (
            "playing_satisfied",
            "etiquette_satisfied",
            "handicapping_satisfied",
            "havingfun_satisfied",
        )
    ]


def test_scorm2004_without_sequencing_uses_standard_defaults() -> None:
    m = sample_manifest("ContentPackagingOneFilePerSCO_SCORM20043rdEdition")
    tree = build_sequencing_settings(m)["activityTree"]

    def walk(node: dict) -> list[dict]:
        return [node] + [n for c in node.get("children", []) for n in walk(c)]

    nodes = walk(tree)
    assert len(nodes) == 1 + 4 + 18
    assert all(n["sequencingControls"] == {"flow": False} for n in nodes)
    assert global_objective_ids(m) == []


def test_scorm12_gets_a_simple_flow_tree() -> None:
    m = sample_manifest("ContentPackagingOneFilePerSCO_SCORM12")
    tree = build_sequencing_settings(m)["activityTree"]
    assert tree["sequencingControls"] == {"choice": True, "flow": True}
    assert [c["id"] for c in tree["children"]] == [
        "playing_item",
        "etiquette_item",
        "handicapping_item",
        "havingfun_item",
    ]
    playing = tree["children"][0]
    assert playing["sequencingControls"] == {"choice": True, "flow": True}
    assert playing["children"][0] == {
        "id": "playing_playing_item",
        "title": "How to Play",
        "isVisible": True,
    }


def test_primary_objective_without_id_gets_one() -> None:
    xml = manifest2004(
        '<item identifier="i1" identifierref="r1"><title>T</title><imsss:sequencing>'
        '<imsss:objectives><imsss:primaryObjective satisfiedByMeasure="true"/></imsss:objectives>'
        "</imsss:sequencing></item>",
        '<resource identifier="r1" type="webcontent" adlcp:scormType="sco" href="index.html"/>',
    )
    m = parse_manifest(xml.encode())
    assert m.scos()[0].scaled_passing_score == 1.0
    child = build_sequencing_settings(m)["activityTree"]["children"][0]
    assert child["primaryObjective"] == {
        "objectiveID": "i1#primary",
        "satisfiedByMeasure": True,
        "minNormalizedMeasure": 1.0,
    }


def test_parse_sequencing_token_spellings() -> None:
    from lxml import etree

    elem = etree.fromstring(
        '<sequencing xmlns="http://www.imsglobal.org/xsd/imsss">'
        '<controlMode choice="TRUE" choiceExit="0" useCurrentAttemptObjectiveInfo="false"/>'
        "<sequencingRules><postConditionRule><ruleConditions>"
        '<ruleCondition condition="objectivemeasurelessthan" measureThreshold="-0.25"/>'
        '</ruleConditions><ruleAction action="EXITPARENT"/></postConditionRule>'
        '<preConditionRule><ruleAction action="disabled"/></preConditionRule>'
        "</sequencingRules>"
        '<limitConditions attemptLimit="0"/>'
        '<rollupRules rollupObjectiveSatisfied="false">'
        '<rollupRule childActivitySet="atLeastCount" minimumCount="2">'
        '<rollupConditions><rollupCondition condition="completed"/></rollupConditions>'
        '<rollupAction action="completed"/></rollupRule></rollupRules>'
        '<deliveryControls tracked="false"/>'
        "</sequencing>"
    )
    assert parse_sequencing(elem) == {
        "sequencingControls": {
            "flow": False,
            "choiceExit": False,
            "useCurrentAttemptObjectiveInfo": False,
            "rollupObjectiveSatisfied": False,
        },
        "sequencingRules": {
            "preConditionRules": [{"action": "disabled", "conditions": []}],
            "postConditionRules": [
                {
                    "action": "exitParent",
                    "conditions": [
                        {
                            "condition": "objectiveMeasureLessThan",
                            "parameters": {"threshold": -0.25},
                        }
                    ],
                }
            ],
        },
        "rollupRules": {
            "rules": [
                {
                    "action": "completed",
                    "consideration": "atLeastCount",
                    "minimumCount": 2,
                    "conditions": [{"condition": "completed"}],
                }
            ]
        },
        "deliveryControls": {"tracked": False},
    }
