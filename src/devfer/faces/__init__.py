"""The faces stage: MTCNN detection and similarity alignment into a crop store.

`imageio` reads any image safely, `detect` finds and aligns faces (with `align`'s
transforms), `stage` holds the rules' entry points.
"""
