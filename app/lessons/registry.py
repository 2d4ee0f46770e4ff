"""Where lessons come from: the built-in ones shipped with the package and a teacher's folder (BPC_LESSONS_DIR), loaded once and checked together."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from app.core.config import Settings
from app.core.limits import Limits
from app.core.presets_file import CONTAINER_UID
from app.lessons.model import Lesson, LessonError, LessonsError, Origin
from app.lessons.parser import parse_lesson

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


def lesson_files(folder: Path) -> list[Path]:
    """The folder's lesson files: *.md at its top, by name (editor backups such as .#a.md and
    hidden files are not lessons)."""
    return sorted(p for p in folder.glob("*.md") if not p.name.startswith(".") and p.is_file())


def load_folder(
    folder: Path | str, origin: Origin, limits: Limits
) -> tuple[list[Lesson], list[str]]:
    """The folder's good lessons and every problem found (the first one of each bad file), as
    `file:line: reason` lines; ids repeated within the folder are problems too."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        return [], [f"{folder}: the lessons folder {what}"]
    files = lesson_files(folder)
    if not files:
        # what `docker run -v` mounts when the host folder does not exist: an empty one
        return [], [
            f"{folder}: no lesson files (*.md) in the lessons folder: check the path on the "
            "host, and that its files are readable by everyone (chmod 755 the folder)"
        ]
    if len(files) > limits.lessons_max_count:
        return [], [
            f"{folder}: {len(files)} lesson files, over the limit of {limits.lessons_max_count} "
            "(setting BPC_LESSONS_MAX_COUNT)"
        ]
    lessons: list[Lesson] = []
    problems: list[str] = []
    for path in files:
        try:
            # the size first, so a huge file is never read
            size = path.stat().st_size
            if size > limits.lesson_max_bytes:
                raise LessonError(
                    path,
                    1,
                    f"the file is {size} bytes, over the limit of {limits.lesson_max_bytes} "
                    "(setting BPC_LESSON_MAX_BYTES)",
                )
            lessons.append(parse_lesson(path, path.read_bytes(), origin, limits))
        except LessonError as exc:
            problems.append(str(exc))
        except PermissionError:
            problems.append(
                f"{path}:1: cannot read it: permission denied for uid {os.geteuid()}, the user "
                f"the server runs as (the container's is uid {CONTAINER_UID}): chmod 644 the "
                "file on the host (on an SELinux host, mount the folder with :Z)"
            )
        except OSError as exc:
            problems.append(f"{path}:1: cannot read it ({exc.strerror or exc})")
    problems.extend(_repeated_ids(lessons, []))
    return lessons, problems


def _repeated_ids(lessons: list[Lesson], before: list[Lesson]) -> list[str]:
    """A problem for each lesson whose id an earlier one (in `before`, then in `lessons`) has."""
    seen = {lesson.id: lesson for lesson in before}
    problems = []
    for lesson in lessons:
        first = seen.get(lesson.id)
        if first is None:
            seen[lesson.id] = lesson
            continue
        whose = "a built-in lesson's" if first.origin == "builtin" else f"also {first.path}'s"
        problems.append(
            f"{lesson.path}:{lesson.id_line}: lesson id {lesson.id!r} is {whose} (ids are "
            "unique over all lessons)"
        )
    return problems


def check_folder(folder: Path | str, limits: Limits) -> tuple[list[Lesson], list[str]]:
    """A teacher's folder as the server would load it: its lessons and every problem, an id
    that a built-in lesson already has included."""
    builtin = builtin_lessons()
    lessons, problems = load_folder(folder, "teacher", limits)
    clashes = _repeated_ids(lessons, list(builtin))
    return lessons, problems + clashes


@lru_cache(maxsize=1)
def builtin_lessons() -> tuple[Lesson, ...]:
    """The lessons shipped in app/lessons/builtin; a bad one is a bug, raised at start-up.
    They are checked against the default limits (the suite does so too), not the configured
    ones: a server with lower limits still starts, and a view over them is refused as any
    request would be."""
    lessons, problems = load_folder(BUILTIN_DIR, "builtin", Limits())
    if problems:
        raise LessonsError(problems)
    return tuple(lessons)


@lru_cache(maxsize=4)
def all_lessons(lessons_dir: str | None, limits: Limits) -> tuple[Lesson, ...]:
    """Every lesson, built-in and the teacher's, sorted by (order, id); raises LessonsError
    naming every problem. Cached: the files are read once, at start-up."""
    lessons = list(builtin_lessons())
    if lessons_dir:
        teacher, problems = check_folder(lessons_dir, limits)
        if problems:
            raise LessonsError(problems)
        lessons.extend(teacher)
    return tuple(sorted(lessons, key=lambda lesson: (lesson.order, lesson.id)))


def configured_lessons(settings: Settings) -> tuple[Lesson, ...]:
    """Every lesson, as the server with these settings serves them (BPC_LESSONS_DIR, limits)."""
    return all_lessons(settings.lessons_dir, Limits.from_settings(settings))


def find_lesson(lessons: tuple[Lesson, ...], lesson_id: str) -> Lesson | None:
    return next((lesson for lesson in lessons if lesson.id == lesson_id), None)
