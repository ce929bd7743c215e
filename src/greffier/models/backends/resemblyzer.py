"""Voice embeddings in-process with Resemblyzer's GE2E speaker encoder (PyTorch, CPU).

The encoder's weights are the ``pretrained.pt`` file shipped inside the resemblyzer
package; like every catalogue file, it is used only once its SHA-256 matches the one
pinned in the catalogue (``files.verify``), so a file altered after installation is refused
rather than loaded (``torch.load`` of a tampered file could also run code).
"""

from __future__ import annotations

import threading

from greffier.errors import ModelFileError
from greffier.models import files
from greffier.models.backends.base import SpeakerBackend


class ResemblyzerBackend(SpeakerBackend):
    runtime_modules = ("resemblyzer", "torch")
    location = "in-process"

    def __init__(self, entry, settings):
        super().__init__(entry, settings)
        self._encoder = None
        self._lock = threading.Lock()

    def encoder(self):
        with self._lock:
            if self._encoder is None:
                path = files.verify(self.settings.models_dir, self.entry)
                try:
                    from resemblyzer import VoiceEncoder
                except ImportError:
                    raise ModelFileError(
                        "Telling speakers apart is not ready on this server: an "
                        "administrator must install it.",
                        detail="It needs resemblyzer: `pip install 'greffier[diarization]'`.",
                    ) from None
                self._encoder = VoiceEncoder("cpu", weights_fpath=path, verbose=False)
                self.stats.loaded = True
            return self._encoder

    def close(self) -> None:
        self._encoder = None
        self.stats.loaded = False
