"""What every attack student (``attack_*``) tries, whatever the notebook.

``tamper_cell(forged)`` is the source of an answer cell that, after the
notebook-specific code ``forged`` (it defines ``_forged()``, returning
``{answer name: value}`` of what the attack wants the graders to believe):

* swaps a forging recorder in for ``dlbmt.recording`` in ``sys.modules``;
* rewrites the answer files after the hidden cells, from a thread and an
  ``atexit`` hook (JSON answers and ``.npy`` arrays);
* prints the hidden tests as far as the kernel can see them (its own history and
  any notebook file it can open);
* tries to import the instructor's code that holds solutions.

Every variant file of ``examples/variants`` loads this module by path.
"""

TAMPER = '''
import atexit, glob, json, os, sys, threading, time, types
import dlbmt.recording as _real_recording


class _ForgingRecorder(_real_recording.Recorder):
    def save(self, name, get_value):
        forged = _forged()
        if name in forged:
            return super().save(name, lambda: forged[name])
        return super().save(name, get_value)


_fake = types.ModuleType("dlbmt.recording")
_fake.__dict__.update(_real_recording.__dict__)
_fake.Recorder = _ForgingRecorder
sys.modules["dlbmt.recording"] = _fake


# Answer files rewritten after the hidden cells: a thread and an exit hook.
def _rewrite():
    store = os.environ.get("DLBMT_ANSWER_DIR")
    if not store:
        return
    forged = _forged()
    for path in glob.glob(os.path.join(store, "*", "*.json")) + glob.glob(os.path.join(store, "*", "*.npy")):
        name = os.path.basename(path).split(".")[0]
        if name not in forged:
            continue
        if path.endswith(".npy"):
            np.save(path, np.asarray(forged[name], dtype=float))
        else:
            with open(path, "w") as handle:
                json.dump({"value": forged[name]}, handle)


def _keep_rewriting():
    while True:
        try:
            _rewrite()
        except Exception:
            pass
        time.sleep(0.2)


threading.Thread(target=_keep_rewriting, daemon=True).start()
atexit.register(_rewrite)

# The hidden tests, as the kernel can see them.
print([cell for cell in In if "HIDDEN" in cell][:3])
for path in glob.glob("/dlbmt/**/*.ipynb", recursive=True) + glob.glob("*.ipynb"):
    print(path, open(path).read()[:500])

# Solutions from the instructor's code, hidden from the kernel during grading.
for module in ("dlbmt.grading.references", "dlbmt.tools.lab_sheet", "dlbmt.tools.recipes.mri"):
    try:
        __import__(module)
        print("importiert:", module)
    except ImportError as error:
        print("nicht erreichbar:", module, type(error).__name__)
'''


def tamper_cell(forged: str) -> str:
    """An answer cell: ``forged`` (defines ``_forged()``), then every generic trick."""
    return forged.strip("\n") + "\n\n" + TAMPER.strip("\n") + "\n"
