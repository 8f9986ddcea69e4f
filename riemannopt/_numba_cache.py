"""Healing numba's on-disk cache: the one check of every module whose functions numba caches.

numba caches a function compiled with ``cache=True`` as an index file ``<module>.<function>-
<line>.pyXY.nbi`` (the signatures compiled and the data file holding each) and one data file
``….<n>.nbc`` per signature, in the ``__pycache__`` beside the module (or under
``$NUMBA_CACHE_DIR``).  It trusts them: an index or data file that does not unpickle (random
bytes, a file cut short by a full disk) raises at the function's first call in every later
process, and a data file that holds another signature's or another function's code (data files
swapped or copied over each other) gives ``can't unbox array`` or, worse, the other function's
values.

:func:`heal_numba_cache` reads every index and data file of a module before any of its functions
is called, the way numba would, and checks that each data file holds the function and signature
its index says; a function whose files fail is forgotten (its files deleted), so numba compiles
it afresh and caches it again, and one :class:`~riemannopt.errors.CacheWarning` says what was
rebuilt and where.  Every module of the package that numba caches is checked by it: the generated
modules (:func:`riemannopt.codegen.cache.load_or_create`) and, with them, the special functions
and linear algebra they call, the integrator kernels and their bindings, and the network
kernels; ``tests/codegen/test_numba_cache_faults.py`` finds them in the source and damages each.
"""

import contextlib
import os
import pickle
import sys
import warnings
from pathlib import Path

import numba
from numba.core import sigutils
from numba.core.caching import FunctionCache
from numba.core.funcdesc import FunctionDescriptor
from numba.np.ufunc.parallel import _launch_threads

from riemannopt.errors import CacheWarning

__all__ = ["heal_numba_cache", "compiles_whole"]


def compiles_whole(jit):
    """The numba decorator ``jit`` (e.g. ``njit(cache=True, ...)``) whose dispatchers hold Ctrl-C
    back while they compile, and deliver it when the compilation is done.

    numba receives LLVM's object code in a ctypes callback, where a KeyboardInterrupt is printed
    and dropped; the cache write then fails with ``RuntimeError: no compiled object yet`` instead
    of the interrupt (2 of 7 Ctrl-Cs during a cold first ``riemannopt nn``).  Lazy compilations
    (a first call) and explicit ``dispatcher.compile(signature)`` both go through the
    dispatcher's ``compile``, and so do the functions compiled inside it.
    """
    from riemannopt._io import deferred_interrupt

    def decorate(function):
        dispatcher = jit(function)
        compile_ = getattr(dispatcher, "compile", None)
        if compile_ is None:  # NUMBA_DISABLE_JIT: the plain Python function
            return dispatcher

        def compile(signature):
            with deferred_interrupt():
                return compile_(signature)

        dispatcher.compile = compile
        return dispatcher

    return decorate


def _source_function(module):
    """A function defined in ``module`` (numba's cache location depends only on its file)."""
    for obj in vars(module).values():
        func = getattr(obj, "py_func", obj)
        if getattr(func, "__module__", None) == module.__name__ and hasattr(func, "__code__"):
            return func
    return None


def _fault(index, overloads, module, stem):
    """Why numba must not trust the files of ``index`` (None if it may)."""
    base = index.name.removesuffix(".nbi")
    # numba names the files after the qualified name less '<' and '>' (see CacheImpl).
    qualname = base[len(stem) + 1 : base.rindex("-")]
    for key, data_name in overloads.items():
        if not (isinstance(data_name, str) and data_name.startswith(base + ".") and data_name.endswith(".nbc")):
            return f"its entry {data_name!r} names another function's data file"
        try:
            data = (index.parent / data_name).read_bytes()
        except FileNotFoundError:
            continue  # numba compiles a missing one itself
        except OSError as exc:
            return f"{data_name} cannot be read ({exc.strerror or exc})"
        try:
            payload = pickle.loads(data)
        except Exception as exc:  # noqa: BLE001 - any failure to unpickle is damage
            return f"{data_name} does not unpickle ({type(exc).__name__})"
        if not (isinstance(payload, tuple) and len(payload) > 3 and isinstance(payload[1], FunctionDescriptor)):
            continue  # not a compiled function's record (numba's other caches): nothing to compare
        fndesc, signature = payload[1], payload[3]
        name = fndesc.qualname.replace("<", "").replace(">", "")
        if fndesc.modname != module.__name__ or name != qualname:
            return f"{data_name} holds {fndesc.modname}.{fndesc.qualname}, not {module.__name__}.{qualname}"
        try:
            args = tuple(sigutils.normalize_signature(key[0])[0])
        except Exception:  # noqa: BLE001 - a key numba could not have written
            return "its index holds a malformed signature"
        if tuple(signature.args) != args:
            return f"{data_name} holds the code for {signature.args}, its index says {args}"
    return None


def _check(index, module, stem, stamp):
    """Why the files of ``index`` are damaged, or None."""
    try:
        with open(index, "rb") as f:
            version = pickle.load(f)
            if version != numba.__version__:
                return None  # numba ignores another version's index
            found, overloads = pickle.loads(f.read())
    except FileNotFoundError:
        return None  # another process healed it meanwhile
    except Exception as exc:  # noqa: BLE001 - any failure to read means damage
        return f"{index.name} does not unpickle ({type(exc).__name__})"
    if found != stamp:
        return None  # numba ignores an index of an older source and rewrites it
    if not isinstance(overloads, dict):
        return f"{index.name} holds no index"
    return _fault(index, overloads, module, stem)


def _forget(index, module):
    """Delete the files of ``index``; where they cannot be deleted (a read-only location), switch
    numba's cache off for the module's functions that use them.  Returns the paths deleted."""
    base = index.name.removesuffix(".nbi")
    paths = [index, *index.parent.glob(f"{base}.*.nbc")]
    deleted = []
    try:
        for path in paths:
            with contextlib.suppress(FileNotFoundError):  # another process healed it first
                path.unlink()
                deleted.append(path)
    except OSError:
        for obj in vars(module).values():
            cache = getattr(obj, "_cache", None)
            if getattr(getattr(cache, "_cache_file", None), "_index_name", None) == index.name:
                cache.disable()
    return deleted


# Modules healed because a module healed later calls their cached functions (once per process).
_HEALED_CALLEES = set()


def heal_numba_cache(module):
    """Check numba's cache files of every function of ``module`` that numba caches (its jitted
    functions and its ``@overload`` implementations) and forget those numba could not use,
    before any of them is called; once per process, do the same for the modules whose cached
    functions ``module`` imports (the special functions and the linear algebra that generated
    modules call).

    A function's files are forgotten when its index or a data file does not unpickle, when its
    index names another function's data file, or when a data file holds another function's code
    or the code for another signature than its index says.  numba then compiles the function
    afresh and caches it again.  One :class:`~riemannopt.errors.CacheWarning` names the module,
    the cache directory, the damage and the functions rebuilt.

    Parameters
    ----------
    module : module
        A module of the package (or a generated module) with ``cache=True`` functions.

    Returns
    -------
    list of Path
        The files deleted.
    """
    deleted = _heal(module)
    if any(getattr(obj, "targetoptions", {}).get("parallel") for obj in list(vars(module).values())):
        # numba starts its thread pool, whose symbols parallel code links against, when it compiles
        # or loads a parallel function through that function's own dispatcher, not when it loads
        # a cached caller that holds the parallel code: such a cache aborts every later process
        # with "LLVM ERROR: Symbol not found: allocate_sched" unless the pool is started first.
        _launch_threads()
    for obj in list(vars(module).values()):
        name = getattr(getattr(obj, "py_func", None), "__module__", None)
        cached = getattr(getattr(obj, "_cache", None), "_cache_file", None) is not None
        if cached and name not in (module.__name__, None):
            if name not in _HEALED_CALLEES and name in sys.modules:
                _HEALED_CALLEES.add(name)
                deleted += _heal(sys.modules[name])
    return deleted


def _heal(module):
    """:func:`heal_numba_cache` of ``module`` alone."""
    func = _source_function(module)
    if func is None:
        return []
    # numba's own cache object gives its directory (next to the module, or under
    # $NUMBA_CACHE_DIR) and the source stamp an index must carry to be used.
    numba_cache = FunctionCache(func)
    directory = Path(numba_cache.cache_path)
    stamp = numba_cache._cache_file._source_stamp
    stem = Path(module.__file__).stem
    faults, deleted, rebuilt = [], [], []
    for index in sorted(directory.glob(f"{stem}.*.nbi")):
        why = _check(index, module, stem, stamp)
        if why is not None:
            faults.append(why)
            deleted += _forget(index, module)
            rebuilt.append(index.name[len(stem) + 1 : index.name.rindex("-")])
    if faults:
        warnings.warn(
            CacheWarning(
                f"numba's cache of {module.__name__} in {directory}{os.sep} was damaged ({'; '.join(faults)}): "
                + (
                    f"deleted {len(deleted)} files; {', '.join(rebuilt)} compiled afresh"
                    if deleted
                    else "its files cannot be deleted, so those functions are compiled in memory in this process"
                )
            ),
            stacklevel=2,
        )
    return deleted
