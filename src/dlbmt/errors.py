"""The one exception type that the package raises for its users."""


class CourseError(Exception):
    """A problem that a student or instructor can fix.

    The message is a sentence that names the file, cell or task and says what
    to do. The command-line tool prints it without a traceback.
    """

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the message is the whole story.
        return [f"\x1b[31mFehler\x1b[0m: {self}"]
