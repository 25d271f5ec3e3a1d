"""The manifest stage: read a dataset in its published layout into one table of images.

Adapters (`adapters`) map each format's labels (`labels`) onto the canonical classes and
deal subjects into train/val/test (`splits`); `stage.write_manifest` is the rule's entry.
"""
