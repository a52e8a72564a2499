"""Registering the package's modules."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every module of mmreidparts so that its components are registered.

    Args:
        init_default_scope: set ``mmreidparts`` as the default scope (a new instance
            named with a time stamp is created when another scope is current).
    """
    import mmreidparts.datasets  # noqa: F401
    import mmreidparts.deployment  # noqa: F401
    import mmreidparts.engine  # noqa: F401
    import mmreidparts.evaluation  # noqa: F401
    import mmreidparts.models  # noqa: F401
    import mmreidparts.structures  # noqa: F401
    import mmreidparts.visualization  # noqa: F401

    from .checkpoint import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('mmreidparts', scope_name='mmreidparts')
    elif current.scope_name != 'mmreidparts':
        warnings.warn(f'The current default scope "{current.scope_name}" is not '
                      '"mmreidparts"; a new default scope "mmreidparts" is created.')
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S-%f')
        DefaultScope.get_instance(f'mmreidparts-{stamp}', scope_name='mmreidparts')
