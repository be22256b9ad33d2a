"""Batches by index into tensors already in memory: no Dataset, no per-item transform."""

from __future__ import annotations

from collections.abc import Iterator

import torch


class IndexBatcher:
    """Yields x[idx] for shuffled (or ordered) index blocks; the generator makes it resumable."""

    def __init__(self, data: torch.Tensor, batch_size: int, shuffle: bool = True,
                 generator: torch.Generator | None = None) -> None:
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator or torch.Generator().manual_seed(0)

    def __len__(self) -> int:
        return (self.data.shape[0] + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[torch.Tensor]:
        n = self.data.shape[0]
        if self.shuffle:
            # drawn on the CPU generator (resumable, the same order on every device), then
            # moved once per epoch so each batch is gathered where the data lives
            order = torch.randperm(n, generator=self.generator).to(self.data.device)
            for idx in order.split(self.batch_size):
                yield self.data[idx]
        else:
            yield from self.data.split(self.batch_size)
