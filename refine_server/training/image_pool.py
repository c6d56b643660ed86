"""History of generated images (Shrivastava et al. 2017; CycleGAN's pool of 50): the discriminator sees a random
half of past fakes, so the generator cannot re-introduce artifacts the discriminator has forgotten."""

from __future__ import annotations

import torch

__all__ = ["ImagePool"]


class ImagePool:
    def __init__(self, size: int = 50, generator: torch.Generator | None = None) -> None:
        self.size = int(size)
        self.items: list[torch.Tensor] = []
        self.g = generator

    def query(self, images: torch.Tensor, masks: torch.Tensor | None = None):
        """Return a batch the size of ``images``: each slot is, with probability 1/2 once the pool is full, a stored
        past image (which the new one replaces), else the new image. Stored tensors are detached.
        With ``masks`` the (image, mask) pairs travel together and ``(images, masks)`` is returned."""
        if self.size <= 0:
            return (images, masks) if masks is not None else images
        out_i, out_m = [], []
        for k in range(images.shape[0]):
            img = images[k : k + 1].detach()
            m = masks[k : k + 1].detach() if masks is not None else None
            item = torch.cat([img, m], 1) if m is not None else img
            if len(self.items) < self.size:
                self.items.append(item.clone())
                chosen = item
            elif float(torch.rand(1, generator=self.g)) < 0.5:
                j = int(torch.randint(0, self.size, (1,), generator=self.g))
                chosen = self.items[j].clone()
                self.items[j] = item.clone()
            else:
                chosen = item
            out_i.append(chosen[:, : images.shape[1]])
            if m is not None:
                out_m.append(chosen[:, images.shape[1] :])
        imgs = torch.cat(out_i)
        return (imgs, torch.cat(out_m)) if masks is not None else imgs

    def state(self) -> list[torch.Tensor]:
        return [t.clone() for t in self.items]

    def load(self, items: list[torch.Tensor]) -> None:
        self.items = [t.clone() for t in items][: self.size]
