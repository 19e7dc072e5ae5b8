"""At most one started helper process, kept for this process's next submission.

``dlbmt autograde`` keeps two of them per worker: the sandbox (runner and kernel)
for the next notebook, and the graders' server with its imports done. A kept
helper has ``settings`` (it serves only a call with the same ones), ``alive()``
and ``discard()``.
"""

from __future__ import annotations

import atexit
import threading


class Kept:
    """One kept helper. One nobody takes within ``IDLE_SECONDS`` is stopped, and so is
    one left at exit; bubblewrap's --die-with-parent ends it with a worker that is killed.
    """

    IDLE_SECONDS = 300

    def __init__(self):
        self._lock = threading.Lock()
        self._helper = None
        self._timer: threading.Timer | None = None
        atexit.register(self.discard)

    def _swap(self, helper):
        """Put ``helper`` in place of the kept one, which is returned; its idle timer stops."""
        with self._lock:
            old, self._helper = self._helper, helper
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None
            if helper is not None:
                self._timer = threading.Timer(self.IDLE_SECONDS, self._expire, args=(helper,))
                self._timer.daemon = True
                self._timer.start()
        return old

    def take(self, settings):
        """The kept helper if it was started with ``settings`` and still runs, else None."""
        helper = self._swap(None)
        if helper is not None and helper.settings == settings and helper.alive():
            return helper
        if helper is not None:
            helper.discard()
        return None

    def keep(self, helper) -> None:
        old = self._swap(helper)
        if old is not None:
            old.discard()

    def _expire(self, helper) -> None:
        with self._lock:
            if self._helper is not helper:
                return
            self._helper, self._timer = None, None
        helper.discard()

    def discard(self) -> None:
        helper = self._swap(None)
        if helper is not None:
            helper.discard()
