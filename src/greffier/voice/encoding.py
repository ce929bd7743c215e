"""Audio encoded as it is produced: each piece of speech in, the bytes ready so far out.

The formats of OpenAI's ``/v1/audio/speech``: mp3, opus (in Ogg), aac (ADTS), flac and
wav through PyAV (FFmpeg's encoders), pcm as raw 16-bit little-endian samples. The
output is never seeked back into (it is on its way to the client), so:

- the WAV header is written first with its sizes set to 0xFFFFFFFF, the convention for a
  stream whose length is not known yet, which decoders read to the end of the data;
- FLAC's header carries no total length and MP3 no Xing table: players read them fine,
  they only cannot show the duration before the end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AudioFormat:
    name: str
    media_type: str
    container: str | None = None  # PyAV's muxer; None: written here
    codec: str | None = None
    bit_rate: int | None = None


FORMATS = {
    f.name: f
    for f in (
        AudioFormat("mp3", "audio/mpeg", "mp3", "libmp3lame", 64_000),
        AudioFormat("opus", "audio/opus", "ogg", "libopus", 32_000),
        AudioFormat("aac", "audio/aac", "adts", "aac", 64_000),
        AudioFormat("flac", "audio/flac", "flac", "flac"),
        AudioFormat("wav", "audio/wav"),
        AudioFormat("pcm", "audio/pcm"),
    )
}


def pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as 16-bit signed little-endian integers."""
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def wav_header(sample_rate: int, channels: int = 1) -> bytes:
    """A RIFF/WAVE header for 16-bit PCM of unknown length (sizes 0xFFFFFFFF)."""
    unknown = 0xFFFFFFFF
    block = 2 * channels
    return (
        b"RIFF"
        + struct.pack("<I", unknown)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * block, block, 16)
        + b"data"
        + struct.pack("<I", unknown)
    )


class _Sink:
    """Where PyAV writes: it only appends (no ``seek``, so FFmpeg never goes back)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


class Encoder:
    """Mono float32 audio at ``sample_rate`` in, encoded bytes out, piece by piece."""

    def __init__(self, fmt: str, sample_rate: int):
        self.format = FORMATS[fmt]
        self.sample_rate = sample_rate
        self._header = wav_header(sample_rate) if fmt == "wav" else b""
        self._container = self._stream = self._sink = None
        if self.format.container is not None:
            import av

            self._sink = _Sink()
            self._container = av.open(self._sink, mode="w", format=self.format.container)
            self._stream = self._container.add_stream(
                self.format.codec, rate=sample_rate, layout="mono"
            )
            if self.format.bit_rate:
                self._stream.bit_rate = self.format.bit_rate

    def encode(self, samples: np.ndarray) -> bytes:
        """The bytes ready after adding ``samples`` (an encoder may hold some back)."""
        samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        if self._container is None:
            header, self._header = self._header, b""
            return header + pcm16(samples)
        import av

        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self.sample_rate
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        return self._sink.take()

    def finish(self) -> bytes:
        """What the encoder still holds, and the container's trailer."""
        if self._container is None:
            header, self._header = self._header, b""
            return header
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        self._container = None
        return self._sink.take()

    def close(self) -> None:
        """Drop an unfinished encoding (the client left)."""
        if self._container is not None:
            self._container.close()
            self._container = None
