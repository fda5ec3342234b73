"""Module sources (`courses/modules/*.yaml`): loading and validation.

The format is documented in `courses/README.md`. Validation collects every problem with the
file name and the place in the file, so a writer can fix a module in one pass.
"""

from __future__ import annotations

import re
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .tools import run_tool

FRAMEWORK_DIR = Path(__file__).resolve().parent.parent / "data" / "frameworks"
DEFAULT_FRAMEWORK = "tt02-2025"

VOICE = "vi"
SPEED_WPM = 140  # espeak-ng words per minute: slower than default, for older listeners
SLIDE_PAUSE_S = 1.5  # silence after each slide's narration
MIN_VIDEO_S = 5 * 60
MAX_VIDEO_S = 7 * 60
MAX_BULLET = 70
# The catalog's limits, shared with the admin forms' rules (lms/admin_catalog/rules.py) and
# kept here so that building modules needs no Flask.
CODE_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CODE_MAX = 40  # programmes.code, topics.code, modules.code
TITLE_MAX = 300
LEVEL_MIN, LEVEL_MAX = 1, 8  # competency levels of the framework
OBJECTIVES_MIN, OBJECTIVES_MAX = 2, 4


@dataclass(frozen=True)
class Question:
    prompt: str
    choices: tuple[str, ...]
    answer: int
    explain: str


@dataclass(frozen=True)
class Slide:
    title: str
    bullets: tuple[str, ...]
    narration: str


@dataclass(frozen=True)
class Check:
    question: Question


@dataclass(frozen=True)
class Competency:
    id: str
    level: int


@dataclass
class ModuleSource:
    path: Path
    code: str
    title: str
    scorm: str
    audience: tuple[str, ...]
    competencies: tuple[Competency, ...]
    summary: str
    objectives: tuple[str, ...]
    steps: tuple[Slide | Check, ...]
    passing_score: int
    quiz: tuple[Question, ...]
    raw: bytes = field(repr=False, default=b"")

    @property
    def slides(self) -> list[Slide]:
        return [s for s in self.steps if isinstance(s, Slide)]

    @property
    def checks(self) -> list[Check]:
        return [s for s in self.steps if isinstance(s, Check)]


class SourceError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems

    def __reduce__(self):  # pickled as its problems (build_all's worker processes)
        return (type(self), (self.problems,))


# libyaml's safe loader when PyYAML was built with it: the pure-Python one takes ~0.3 s a module.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text) -> object:
    """`yaml.safe_load`, through libyaml when available."""
    return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 (a safe loader)


def load_framework(code: str = DEFAULT_FRAMEWORK) -> dict:
    with open(FRAMEWORK_DIR / f"{code}.yaml", encoding="utf-8") as fh:
        return load_yaml(fh)


def competency_ids(framework: dict) -> set[str]:
    return {c["id"] for d in framework["domains"] for c in d["competencies"]}


def _text(value, where: str, problems: list[str], *, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"{where}: thiếu nội dung")
        return ""
    if not isinstance(value, str):
        problems.append(f"{where}: phải là chuỗi văn bản")
        return ""
    return " ".join(value.split())


def _question(data, where: str, problems: list[str], max_choices: int = 4) -> Question | None:
    if not isinstance(data, dict):
        problems.append(f"{where}: phải là một câu hỏi (prompt, choices, answer, explain)")
        return None
    prompt = _text(data.get("prompt"), f"{where}.prompt", problems)
    choices = data.get("choices")
    if not isinstance(choices, list) or not 2 <= len(choices) <= max_choices:
        problems.append(f"{where}.choices: cần từ 2 đến {max_choices} lựa chọn")
        choices = []
    choices = tuple(_text(c, f"{where}.choices[{i}]", problems) for i, c in enumerate(choices))
    if len(set(choices)) != len(choices):
        problems.append(f"{where}.choices: có lựa chọn trùng nhau")
    answer = data.get("answer")
    if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices):
        problems.append(f"{where}.answer: phải là chỉ số của một lựa chọn (0–{len(choices) - 1})")
        answer = 0
    explain = _text(data.get("explain"), f"{where}.explain", problems)
    return Question(prompt, choices, answer, explain)


def parse(path: Path, framework: dict | None = None) -> ModuleSource:
    """Load and check one module source; raise SourceError listing every problem."""
    framework = framework or load_framework()
    raw = path.read_bytes()
    problems: list[str] = []
    name = path.name
    try:
        data = load_yaml(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SourceError([f"{name}: không đọc được YAML: {exc}"]) from exc
    if not isinstance(data, dict):
        raise SourceError([f"{name}: tệp phải là một bảng khoá–giá trị"])

    code = data.get("code")
    if not isinstance(code, str) or not CODE_RE.match(code):
        problems.append(f"{name}: code phải gồm chữ thường, số và dấu '-'")
        code = str(code)
    elif len(code) > CODE_MAX:
        problems.append(f"{name}: code dài tối đa {CODE_MAX} ký tự")
    elif path.stem != code:
        problems.append(f"{name}: tên tệp phải là {code}.yaml")
    title = _text(data.get("title"), f"{name}: title", problems)
    if len(title) > TITLE_MAX:
        problems.append(f"{name}: title dài tối đa {TITLE_MAX} ký tự")
    scorm = str(data.get("scorm", ""))
    if scorm not in ("1.2", "2004"):
        problems.append(f"{name}: scorm phải là \"1.2\" hoặc \"2004\"")
    groups = {g["id"] for g in framework["target_groups"]}
    audience = data.get("audience") or []
    if not isinstance(audience, list) or not audience:
        problems.append(f"{name}: audience cần ít nhất một nhóm đối tượng")
        audience = []
    for g in audience:
        if g not in groups:
            known_groups = ", ".join(sorted(groups))
            problems.append(f"{name}: audience '{g}' không có trong khung ({known_groups})")
    known = competency_ids(framework)
    comps: list[Competency] = []
    raw_comps = data.get("competencies") or []
    if not isinstance(raw_comps, list) or not raw_comps:
        problems.append(f"{name}: competencies cần ít nhất một năng lực")
        raw_comps = []
    for i, c in enumerate(raw_comps):
        cid = str(c.get("id")) if isinstance(c, dict) else None
        level = c.get("level") if isinstance(c, dict) else None
        if cid not in known:
            problems.append(f"{name}: competencies[{i}] '{cid}' không có trong khung")
        elif (not isinstance(level, int) or isinstance(level, bool)
              or not LEVEL_MIN <= level <= LEVEL_MAX):
            problems.append(f"{name}: competencies[{i}].level phải từ {LEVEL_MIN} đến "
                            f"{LEVEL_MAX}")
        else:
            comps.append(Competency(cid, level))
    summary = _text(data.get("summary"), f"{name}: summary", problems)
    objectives = data.get("objectives") or []
    if (not isinstance(objectives, list)
            or not OBJECTIVES_MIN <= len(objectives) <= OBJECTIVES_MAX):
        problems.append(f"{name}: objectives cần {OBJECTIVES_MIN}–{OBJECTIVES_MAX} mục")
        objectives = []
    objectives = tuple(
        _text(o, f"{name}: objectives[{i}]", problems) for i, o in enumerate(objectives)
    )

    steps: list[Slide | Check] = []
    raw_slides = data.get("slides") or []
    if not isinstance(raw_slides, list):
        problems.append(f"{name}: slides phải là danh sách")
        raw_slides = []
    for i, s in enumerate(raw_slides):
        where = f"{name}: slides[{i}]"
        if isinstance(s, dict) and "check" in s:
            q = _question(s["check"], f"{where}.check", problems)
            if q:
                steps.append(Check(q))
            continue
        if not isinstance(s, dict):
            problems.append(f"{where}: phải có title/bullets/narration hoặc check")
            continue
        bullets = s.get("bullets") or []
        if not isinstance(bullets, list) or len(bullets) > 5:
            problems.append(f"{where}.bullets: tối đa 5 dòng")
            bullets = []
        bl = tuple(_text(b, f"{where}.bullets[{j}]", problems) for j, b in enumerate(bullets))
        for j, b in enumerate(bl):
            if len(b) > MAX_BULLET:
                problems.append(f"{where}.bullets[{j}]: dài {len(b)} ký tự (tối đa {MAX_BULLET})")
        steps.append(
            Slide(
                _text(s.get("title"), f"{where}.title", problems),
                bl,
                _text(s.get("narration"), f"{where}.narration", problems),
            )
        )
    n_checks = sum(isinstance(s, Check) for s in steps)
    if not 2 <= n_checks <= 3:
        problems.append(f"{name}: cần 2–3 câu hỏi kiểm tra trong bài (đang có {n_checks})")
    if steps and isinstance(steps[0], Check):
        problems.append(f"{name}: bài phải mở đầu bằng một trang chiếu, không phải câu hỏi")

    quiz = data.get("quiz") or {}
    passing = quiz.get("passing_score") if isinstance(quiz, dict) else None
    if not isinstance(passing, int) or not 50 <= passing <= 100:
        problems.append(f"{name}: quiz.passing_score phải từ 50 đến 100")
        passing = 80
    questions = quiz.get("questions") if isinstance(quiz, dict) else None
    if not isinstance(questions, list) or not 4 <= len(questions) <= 6:
        problems.append(f"{name}: quiz.questions cần 4–6 câu")
        questions = []
    qs = [_question(q, f"{name}: quiz.questions[{i}]", problems) for i, q in enumerate(questions)]

    if problems:
        raise SourceError(problems)
    return ModuleSource(
        path=path,
        code=code,
        title=title,
        scorm=scorm,
        audience=tuple(audience),
        competencies=tuple(comps),
        summary=summary,
        objectives=objectives,
        steps=tuple(steps),
        passing_score=passing,
        quiz=tuple(q for q in qs if q),
        raw=raw,
    )


def speak(text: str, wav_path: Path) -> float:
    """Synthesize `text` with espeak-ng's Vietnamese voice; return the duration in seconds."""
    run_tool(["espeak-ng", "-v", VOICE, "-s", str(SPEED_WPM), "-w", str(wav_path), "--stdin"],
             stdin=text.encode("utf-8"))
    with wave.open(str(wav_path)) as w:
        return w.getnframes() / w.getframerate()


def video_seconds(module: ModuleSource) -> float:
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, slide in enumerate(module.slides):
            total += speak(slide.narration, Path(tmp) / f"{i}.wav") + SLIDE_PAUSE_S
    return total


def check_files(paths: list[Path], *, timing: bool = True) -> int:
    """Validate sources and print a line per module; return the number of failing files."""
    framework = load_framework()
    failed = 0
    for path in paths:
        try:
            module = parse(path, framework)
        except SourceError as exc:
            failed += 1
            print(f"LỖI {path.name}")
            for p in exc.problems:
                print(f"  - {p}")
            continue
        if not timing:
            print(f"ok  {path.name}")
            continue
        secs = video_seconds(module)
        ok = MIN_VIDEO_S <= secs <= MAX_VIDEO_S
        failed += not ok
        words = sum(len(s.narration.split()) for s in module.slides)
        print(
            f"{'ok ' if ok else 'LỖI'} {path.name}: video {secs / 60:.1f} phút "
            f"({words} tiếng, {len(module.slides)} trang, {len(module.checks)} câu hỏi trong bài, "
            f"{len(module.quiz)} câu cuối bài)"
            + ("" if ok else " — cần 5–7 phút")
        )
    return failed
