"""torch_loop.py: vstudio's batches in a PyTorch training loop.

    PYTHONPATH=python python3 examples/torch_loop.py a.mp4 shots/ ...

vstudio.torch.VideoDataset is an IterableDataset: its batches are already
made (batch_size=None tells the DataLoader not to batch again), decoded and
resized by C threads with no Python in the loop, and split between the
DataLoader's worker processes so each frame is seen once per epoch. The model
learns each frame's mean brightness, a stand-in for real labels.
"""
import sys

import torch
import torch.nn.functional as F

import vstudio.torch

if len(sys.argv) < 2:
    sys.exit("usage: python3 examples/torch_loop.py VIDEO|FOLDER...")

# workers: C decoding threads per DataLoader process
ds = vstudio.torch.VideoDataset(sys.argv[1:], batch=16, size=(112, 112), layout="nchw",
                                dtype="float32", workers=1)
loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(),
                            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)

for epoch in range(2):
    seen, total = 0, 0.0
    for frames in loader:  # (N, 3, 112, 112) float32 in [0, 1]
        target = frames.mean(dim=(1, 2, 3)).unsqueeze(1)
        loss = F.mse_loss(model(frames), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(frames)
        total += loss.item() * len(frames)
    print("epoch %d: %d of %d frames, mean loss %.5f" % (epoch, seen, len(ds), total / max(seen, 1)))
