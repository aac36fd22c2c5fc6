"""The array types the index passes around, named once.

Vectors are float32 rows (unit length where they are embeddings: inner product = cosine);
ids and positions are int64.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float32]
Ids = npt.NDArray[np.int64]

__all__ = ["Floats", "Ids", "Vectors"]
