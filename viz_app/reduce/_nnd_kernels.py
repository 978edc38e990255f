"""pynndescent's ``nn_descent``, one numba function per distance, kept in numba's disk cache.

Imported only by :func:`viz_app.reduce.nndescent.pynndescent` (it imports numba and
pynndescent). pynndescent 0.7.0 declares ``nn_descent`` and the helpers it calls
(``pynndescent/pynndescent_.py``, ``utils.py``, ``kernels.py``) without ``cache=True``, and
numba could not have kept them anyway, for three reasons found in numba 0.68's source
(``numba/core/caching.py``, ``numba/np/ufunc/parallel.py``,
``numba/experimental/function_type.py``):

1. The distance is an argument. numba's disk cache keys a compiled function by its argument
   types, and a function-typed argument (``types.Dispatcher``) is a different type in every
   process (it is the dispatcher object), so the entry is never found again. Each wrapper below
   takes every other argument of ``nn_descent`` and binds the distance as a module global.
2. ``nn_descent`` and ``nn_descent_internal`` call ``numba.get_num_threads()``, which numba
   compiles as a call through a ctypes pointer, a run-time address ("dynamic global") that
   numba refuses to write to disk. These two are compiled again here from pynndescent's own
   Python functions (same code, options and locals), with ``numba.get_num_threads`` resolved
   to :func:`get_num_threads`: the same C function of numba's threading layer, called by its
   symbol name (as numba's own compiled ``get_thread_id`` does), same ``int32`` result.
3. Passing a dispatcher global on as an argument writes its Python object's address into the
   compiled code (another dynamic global). The wrappers pass a null value of the same numba
   type instead (:func:`_static`): ``nn_descent`` only *calls* ``dist``, and numba resolves
   such calls from the type at compile time, never through the value.

The compiled ``nn_descent`` is then the same code with the same argument types as
pynndescent's own call, so the graphs are the same bits (tested against pynndescent's own
function, cosine and euclidean), and the whole call tree, linked into each wrapper's compiled
library, is read from disk by later processes.

Every wrapper takes pynndescent's ``nn_descent`` arguments in its order, ``dist`` left out:
``data`` (n, d) float32 C-contiguous, ``n_neighbors``, ``rng_state`` (3,) int64,
``max_candidates``, ``n_iters``, ``delta``, ``init_graph``, ``rp_tree_init``, ``leaf_array``
(int32 leaves of the initial random projection forest), ``low_memory``, ``verbose``, ``kernel``
(pynndescent's ``select_kernel`` id); it returns ``nn_descent``'s ``(indices (n, n_neighbors)
int32, distances (n, n_neighbors) float32)``, each row sorted by distance.
"""

from __future__ import annotations

import types

import numba
import pynndescent.pynndescent_ as _impl
from llvmlite import ir
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.ufunc.parallel import _launch_threads
from pynndescent.distances import alternative_dot, squared_euclidean

__all__ = ["get_num_threads", "nn_descent_alternative_dot", "nn_descent_squared_euclidean"]

# numba's threads (and the symbols of its threading layer) must exist before a kernel that
# calls them by name is read from the disk cache: numba only starts them while compiling
_launch_threads()


@intrinsic
def _threading_layer_num_threads(typingctx):
    """``int get_num_threads(void)`` of numba's threading layer, called by its symbol name (which
    numba registers with LLVM when it starts its threads), as numba's own ``get_thread_id`` is."""
    _launch_threads()

    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []), "get_num_threads")
        return builder.call(fn, [])

    return numba.int32(), codegen


@numba.njit(cache=True)
def get_num_threads():
    """``numba.get_num_threads()`` inside compiled code, disk-cacheable: the same C function and
    the same ``int32`` result (numba's own compiles to a call through a ctypes pointer).

    Raises
    ------
    RuntimeError
        The threading layer reports no threads (numba's own check).
    """
    n = _threading_layer_num_threads()  # type: ignore[call-arg,var-annotated]  # numba supplies typingctx
    if n <= 0:
        raise RuntimeError("Invalid number of threads. This likely indicates a bug in Numba.")
    return n


def _redeclared(dispatcher, **names):
    """pynndescent's ``dispatcher`` compiled from its own Python function, with its own options
    and locals, but with the globals in ``names`` replaced (the function's code is unchanged)."""
    f = dispatcher.py_func
    g = types.FunctionType(f.__code__, {**f.__globals__, **names}, f.__name__, f.__defaults__, f.__closure__)
    g.__kwdefaults__, g.__qualname__, g.__module__ = f.__kwdefaults__, f.__qualname__, f.__module__
    options = {k: v for k, v in dispatcher.targetoptions.items() if k != "nopython"}
    return numba.njit(locals=dict(dispatcher.locals), **options)(g)


# ``numba.get_num_threads`` inside pynndescent's two functions that call it, made cacheable
_numba = types.ModuleType("numba_for_nn_descent")
_numba.get_num_threads = get_num_threads  # type: ignore[attr-defined]
_nn_descent_internal = _redeclared(_impl.nn_descent_internal, numba=_numba)
_original = getattr(_impl.nn_descent, "pynndescent_nn_descent", _impl.nn_descent)  # not our router
nn_descent = _redeclared(_original, numba=_numba, nn_descent_internal=_nn_descent_internal)


def _static(dispatcher):
    """An intrinsic returning a null value of ``dispatcher``'s numba type (an opaque pointer,
    numba's ``OpaqueModel``): see reason 3 of the module docstring."""
    typ = numba.typeof(dispatcher)

    @intrinsic
    def value(typingctx):
        def codegen(context, builder, signature, args):
            return context.get_constant_null(signature.return_type)

        return typ(), codegen

    return value


_alternative_dot = _static(alternative_dot)
_squared_euclidean = _static(squared_euclidean)


@numba.njit(cache=True)
def nn_descent_alternative_dot(
    data, n_neighbors, rng_state, max_candidates, n_iters, delta, init_graph, rp_tree_init, leaf_array, low_memory,
    verbose, kernel,
):  # fmt: skip
    """``nn_descent`` with pynndescent's ``alternative_dot`` (its dense cosine: unit rows, ``-log2(x . y)``)."""
    return nn_descent(
        data, n_neighbors, rng_state, max_candidates, _alternative_dot(), n_iters, delta, init_graph, rp_tree_init,
        leaf_array, low_memory, verbose, kernel,
    )  # fmt: skip


@numba.njit(cache=True)
def nn_descent_squared_euclidean(
    data, n_neighbors, rng_state, max_candidates, n_iters, delta, init_graph, rp_tree_init, leaf_array, low_memory,
    verbose, kernel,
):  # fmt: skip
    """``nn_descent`` with pynndescent's ``squared_euclidean`` (its dense euclidean, before the square root)."""
    return nn_descent(
        data, n_neighbors, rng_state, max_candidates, _squared_euclidean(), n_iters, delta, init_graph, rp_tree_init,
        leaf_array, low_memory, verbose, kernel,
    )  # fmt: skip
