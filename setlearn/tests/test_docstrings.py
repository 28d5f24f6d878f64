"""Every public object has a numpydoc docstring that passes ``numpydoc.validate``.

The imbalanced-learn pattern. Public objects are the names in ``__all__`` of
every public module of setlearn (no underscore in its dotted name, not a test
module), plus the public methods and properties those classes define
themselves. Each one is its own test, named by its import path, so a failure
names the object and lists every broken check with numpydoc's message.

To fix a failure, edit the docstring at the file and line the message gives.
To change the rules, edit ``IGNORED_CHECKS`` (with the reason) -- not the code
below. The check codes are listed in numpydoc's documentation
(``numpydoc.validate.ERROR_MSGS``).
"""

import importlib
import inspect
import pkgutil

import pytest

import setlearn

numpydoc_validate = pytest.importorskip("numpydoc.validate")

#: Checks not enforced, and why.
IGNORED_CHECKS = {
    "GL01": "a docstring may start on the line of the opening quotes",
    "GL02": "a docstring may end on the line of its last text",
    "ES01": "an extended summary is welcome, not required",
    "SA01": "a See Also section is welcome, not required",
    "SA04": "See Also entries may go without a description",
    "SS05": "summaries may start with a verb in any form ('Fit', 'Fits')",
    "RT02": "Returns entries are named ('self : AttentionMILClassifier'), as in scikit-learn",
}
#: Checks ignored on methods and properties only: their class shows the usage.
IGNORED_ON_MEMBERS = {"EX01": "the class's Examples show how its methods are used"}

#: Base classes whose methods setlearn overrides without repeating their documentation
#: (skorch's training hooks, torch's ``forward``); scikit-learn's API methods are
#: documented again, as scikit-learn does.
UNDOCUMENTED_BASES = ("torch.", "skorch.")


def _public_modules():
    yield setlearn
    for info in pkgutil.walk_packages(setlearn.__path__, prefix="setlearn."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts) or "tests" in parts or parts[-1] == "conftest":
            continue
        yield importlib.import_module(info.name)


def _overrides_undocumented_base(cls, name):
    return any(
        name in vars(base) and base.__module__.startswith(UNDOCUMENTED_BASES)
        for base in cls.__mro__[1:]
    )


def public_objects():
    """Import path of every public function, class, method and property, once each."""
    exporters = {}  # id -> (object, modules that export it)
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            # Constants (dicts, tuples) and ready-made instances (scorers) cannot carry a
            # docstring of their own; their class or module documents them.
            if inspect.isclass(obj) or inspect.isfunction(obj):
                exporters.setdefault(id(obj), (obj, name, []))[2].append(module.__name__)
    paths = []
    for obj, name, modules in exporters.values():
        # Name each object once, after the public module closest to where it is defined
        # (setlearn.metrics.importance_auroc_score, not setlearn.importance_auroc_score).
        home = max(modules, key=lambda m: (obj.__module__.startswith(m + "."), m.count(".")))
        paths.append(f"{home}.{name}")
        if inspect.isclass(obj):
            for member, value in _setlearn_members(obj).items():
                if member.startswith("_") or not (inspect.isfunction(value) or isinstance(value, property)):
                    continue
                if not _overrides_undocumented_base(obj, member):
                    paths.append(f"{home}.{name}.{member}")
    return sorted(paths)


def _setlearn_members(cls):
    """The members ``cls`` defines or inherits from setlearn's classes (``predict`` and
    ``score`` from ``setlearn.base.BaseBagClassifier`` too), not those of other packages."""
    members = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.split(".")[0] == "setlearn":
            members.update(vars(klass))
    return members


PUBLIC_OBJECTS = public_objects()


def test_public_objects_are_found():
    # Guards the discovery itself: if it broke, every check below would pass vacuously.
    assert "setlearn.estimators.AttentionMILClassifier.fit" in PUBLIC_OBJECTS
    assert "setlearn.preprocessing.InstanceTransformer" in PUBLIC_OBJECTS
    # Inherited from setlearn's base class, and the base module itself.
    assert {"setlearn.estimators.AttentionMILClassifier.predict", "setlearn.ensemble.AttentionEnsemble.score",
            "setlearn.base.BaseBagClassifier.predict", "setlearn.base.check_param"} <= set(PUBLIC_OBJECTS)
    assert len(PUBLIC_OBJECTS) > 50


@pytest.mark.parametrize("import_path", PUBLIC_OBJECTS)
def test_docstring(import_path):
    result = numpydoc_validate.validate(import_path)
    is_member = inspect.isclass(_parent(import_path))
    errors = [
        f"  {code}: {message}"
        for code, message in result["errors"]
        if code not in IGNORED_CHECKS and not (is_member and code in IGNORED_ON_MEMBERS)
    ]
    if errors:
        where = f"{result['file']}:{result['file_line']}" if result.get("file") else "unknown file"
        pytest.fail(f"{import_path} ({where}) fails numpydoc validation:\n" + "\n".join(errors),
                    pytrace=False)


def _parent(import_path):
    module_path, _, _ = import_path.rpartition(".")
    try:
        return importlib.import_module(module_path)
    except ImportError:
        parent_module, _, cls = module_path.rpartition(".")
        return getattr(importlib.import_module(parent_module), cls)
