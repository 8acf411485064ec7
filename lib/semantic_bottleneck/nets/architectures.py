"""Every network architecture of this package, found rather than listed: a new network file is all it takes.

A network is `nets.dit.DiT` or a subclass of it, in any module of this package (or defined elsewhere, once its
module is imported); it names the configuration it is built from as `config_class`. Its class name identifies it
(in a compressed checkpoint's metadata), and a configuration builds the one network that declares that
configuration class itself (`build_network`).
"""
import importlib
import pkgutil

from .dit import DiT


def _import_every_module():
    """Import every module of this package, so that each network class defined in one is a subclass of DiT."""
    for info in pkgutil.iter_modules(importlib.import_module(__package__).__path__):
        importlib.import_module(f"{__package__}.{info.name}")


def network_classes():
    """Every network class: class name -> class (DiT and its subclasses, in the order they were defined)."""
    _import_every_module()
    found, todo = {}, [DiT]
    while todo:
        cls = todo.pop(0)
        found.setdefault(cls.__name__, cls)
        todo += cls.__subclasses__()
    return found


def network_class(name):
    """The network class of a class name; ValueError listing the known ones."""
    classes = network_classes()
    if name not in classes:
        raise ValueError(f"network must be one of this project's networks ({', '.join(classes)}); got {name!r}")
    return classes[name]


def build_network(config):
    """The network a configuration describes: the class that declares `type(config)` as its own `config_class`."""
    classes = [cls for cls in network_classes().values() if cls.__dict__.get("config_class") is type(config)]
    if len(classes) != 1:
        names = ", ".join(cls.config_class.__name__ for cls in network_classes().values()
                          if "config_class" in cls.__dict__)
        raise ValueError(f"config must be one of {names}; got {type(config).__name__}")
    return classes[0](config)
