"""devfer: when do children's facial expressions become adult-like?"""

__version__ = "0.1.0"

# The seven canonical expression classes, in the order every table and model uses.
CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
