"""Names of the DigestPath2019 signet ring cell layout, spelled once.

``sig-train-pos/NAME.jpeg`` with Pascal-VOC ``NAME.xml`` boxes of class ``ring_cell_cancer``
(partially annotated), and ``sig-train-neg/NAME.jpeg`` without XML (no signet ring cell).
"""
#: The one class of the challenge (the Pascal-VOC object name).
SRC_CLASS = 'ring_cell_cancer'
#: Folder of the positive (partially annotated) images and their XML.
POS_DIR = 'sig-train-pos'
#: Folder of the negative (exhaustively annotated: no cell) images.
NEG_DIR = 'sig-train-neg'

__all__ = ['SRC_CLASS', 'POS_DIR', 'NEG_DIR']
