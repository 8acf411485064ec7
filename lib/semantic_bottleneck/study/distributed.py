"""The processes that share one study (torch.distributed): who samples which indices, and how results meet on rank 0.

A `Team` splits every row's global sample indices into contiguous shares, one per process, in rank order; as
each sample's noise and condition come from its global index (`sampling.noise`, `sampling.conditions`), the
split changes where a sample is computed, not what it is. What the judge needs (records, kept images) is
gathered on the lead process (rank 0) in rank order, which is global-index order, and only the lead scores and
writes the row store. All traffic is CPU objects, so it goes over gloo, also on GPUs (`join_team`).
A team of one (`Team()`, the default everywhere) does all of this in-process without torch.distributed.
"""
from contextlib import contextmanager
from datetime import timedelta
import os

import torch
import torch.distributed as dist

# How long a process waits at a collective: the lead may train a tiny model or download weights and reference
# images (gigabytes) while the others wait for it (`Team.lead_first`).
TIMEOUT = timedelta(hours=2)


class Team:
    """`size` processes sampling one study together, this one being `rank` (0, the lead, scores and writes)."""

    def __init__(self, size=1, rank=0):
        self.size, self.rank = int(size), int(rank)

    @property
    def lead(self):
        """Whether this process is rank 0, the one that gathers, scores and writes."""
        return self.rank == 0

    def bounds(self, count):
        """[start, stop) of every rank's contiguous share of `count` positions, in rank order (sizes differ by <= 1)."""
        return [(count * r // self.size, count * (r + 1) // self.size) for r in range(self.size)]

    def share(self, items):
        """This process's contiguous share of a sequence (all of it in a team of one)."""
        start, stop = self.bounds(len(items))[self.rank]
        return items[start:stop]

    def gather(self, value):
        """Every rank's `value` in rank order on the lead (a list); None on the other ranks."""
        if self.size == 1:
            return [value]
        out = [None] * self.size if self.lead else None
        dist.gather_object(value, out, dst=0)
        return out

    def broadcast(self, value):
        """The lead's `value`, on every rank."""
        if self.size == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def scatter(self, parts):
        """Part `rank` of the lead's list of `size` parts, on every rank (`parts` is ignored off the lead)."""
        if self.size == 1:
            return parts[0]
        out = [None]
        dist.scatter_object_list(out, parts if self.lead else None, src=0)
        return out[0]

    def scatter_rows(self, tensors, count):
        """Each rank's contiguous share of the first axis of the lead's {key: tensor (count, ...)}."""
        parts = [{key: x[start:stop] for key, x in tensors.items()} for start, stop in self.bounds(count)] \
            if self.lead else None
        return self.scatter(parts)

    @contextmanager
    def lead_first(self):
        """Run the block on the lead, then on the other ranks: what the lead caches (a trained tiny model, a
        download), the others read instead of making it again at the same time."""
        if not self.lead:
            dist.barrier()
        yield
        if self.lead and self.size > 1:
            dist.barrier()


def backend():
    """The torch.distributed backend: gloo on CPU; on GPUs NCCL for CUDA tensors and gloo for CPU ones."""
    return "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"


@contextmanager
def join_team():
    """The processes `torchrun` started, as a `Team` (a team of one when not started by torchrun).

    On GPUs each process takes the GPU of its local rank (modulo the GPUs visible, so that more processes than
    GPUs share them), so that device "cuda" means that GPU. The process group is left on exit.
    """
    if "WORLD_SIZE" not in os.environ:
        yield Team()
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
    dist.init_process_group(backend(), timeout=TIMEOUT)
    try:
        yield Team(dist.get_world_size(), dist.get_rank())
    finally:
        dist.destroy_process_group()
