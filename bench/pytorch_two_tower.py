"""The two-tower model of shared/ml/two-tower.ts in PyTorch on CPU: the peer `npm run bench -- training` runs
beside Mappa's training step on the same examples.

Same model and step: item/user id embeddings (row 0 = padding / unknown), position embeddings, additive
attention pooling tanh((e + p)W + b)·q over the last N items, the last item, the user embedding, a linear output
layer; sampled softmax over in-batch targets (in groups of `inBatchNegatives` rows, cut evenly) plus
popularity-sampled negatives shared by the batch, with the log-q correction and the accidental-hit mask; L2 on user and candidate vectors; dropout 0.3; SparseAdam for the id embeddings (lazy Adam,
as Mappa's), Adam for the rest.

Usage: python3 bench/pytorch_two_tower.py <examples-dir> <threads>
The directory holds meta.json and users/targets/context (int32) and log_q (float32) written by bench/training.ts.
Prints one JSON line: examples, seconds, examples_per_s, threads, torch version.
"""

import json
import sys
import time

import numpy as np
import torch


def main() -> None:
    directory, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    meta = json.load(open(f"{directory}/meta.json"))
    n, d = meta["sequenceLength"], meta["embeddingDim"]
    num_items, num_users = meta["numItems"], meta["numUsers"]
    batch, negatives, epochs_steps = meta["batchSize"], meta["sampledNegatives"], meta["steps"]
    group_rows, learning_rate = meta["inBatchNegatives"], meta["learningRate"]
    users = torch.from_numpy(np.fromfile(f"{directory}/users", dtype=np.int32).astype(np.int64))
    targets = torch.from_numpy(np.fromfile(f"{directory}/targets", dtype=np.int32).astype(np.int64))
    context = torch.from_numpy(np.fromfile(f"{directory}/context", dtype=np.int32).astype(np.int64)).view(-1, n)
    log_q = torch.from_numpy(np.fromfile(f"{directory}/log_q", dtype=np.float32))
    sampling = torch.exp(log_q)  # popularity + 1, the sampler's weights

    item_embedding = torch.nn.Embedding(num_items + 1, d, sparse=True)
    item_bias = torch.nn.Embedding(num_items + 1, 1, sparse=True)
    user_embedding = torch.nn.Embedding(num_users + 1, d, sparse=True)
    torch.nn.init.normal_(item_embedding.weight, std=0.05)
    torch.nn.init.zeros_(item_bias.weight)
    torch.nn.init.normal_(user_embedding.weight, std=0.02)
    position = torch.nn.Parameter(torch.randn(n, d) * 0.02)
    attention = torch.nn.Linear(d, d)
    query = torch.nn.Linear(d, 1, bias=False)
    output = torch.nn.Linear(3 * d, d)
    dropout = torch.nn.Dropout(0.3)
    sparse_parameters = [item_embedding.weight, item_bias.weight, user_embedding.weight]
    dense_parameters = [position, *attention.parameters(), *query.parameters(), *output.parameters()]
    sparse_optimizer = torch.optim.SparseAdam(sparse_parameters, lr=learning_rate)
    dense_optimizer = torch.optim.Adam(dense_parameters, lr=learning_rate)

    def step(rows: torch.Tensor) -> float:
        size = rows.shape[0]
        history = context[rows]
        mask = (history > 0).float()
        embedded = item_embedding(history)  # [b, N, d]
        hidden = torch.tanh(attention((embedded + position) * mask.unsqueeze(2)))
        logits = query(hidden).squeeze(2) + (1 - mask) * -1e9
        weights = torch.softmax(logits, dim=1) * mask
        pooled = (weights.unsqueeze(2) * embedded).sum(1)
        last = embedded[:, -1, :]
        user = dropout(user_embedding(users[rows] + 1))
        vectors = output(dropout(torch.cat([pooled, last, user], 1)))
        sampled = torch.multinomial(sampling, negatives, replacement=True) if negatives > 0 else targets[:0]
        groups = -(-size // group_rows)
        bounds = [group * size // groups for group in range(groups + 1)]
        loss = 1e-5 * (vectors**2).sum(1).mean()
        for start, end in zip(bounds, bounds[1:]):
            group_targets = targets[rows[start:end]]
            candidates = torch.cat([group_targets, sampled])
            candidate_vectors = item_embedding(candidates + 1)
            adjusted = item_bias(candidates + 1).squeeze(1) - log_q[candidates]
            scores = vectors[start:end] @ candidate_vectors.T + adjusted
            hits = group_targets.unsqueeze(1) == candidates.unsqueeze(0)
            hits[torch.arange(end - start), torch.arange(end - start)] = False
            scores = scores.masked_fill(hits, -1e9)
            own = torch.arange(end - start)
            loss = loss + torch.nn.functional.cross_entropy(scores, own, reduction="sum") / size
            loss = loss + 1e-5 * (candidate_vectors**2).sum(1).mean() / groups
        sparse_optimizer.zero_grad()
        dense_optimizer.zero_grad()
        loss.backward()
        sparse_optimizer.step()
        dense_optimizer.step()
        return loss.item()

    order = torch.randperm(users.shape[0])
    steps = min(epochs_steps, (users.shape[0] + batch - 1) // batch)
    step(order[:batch])  # warm-up (allocator, first-call dispatch)
    started = time.perf_counter()
    for index in range(steps):
        step(order[index * batch : (index + 1) * batch])
    seconds = time.perf_counter() - started
    examples = min(steps * batch, users.shape[0])
    print(
        json.dumps(
            {
                "examples": examples,
                "seconds": round(seconds, 2),
                "examples_per_s": round(examples / seconds),
                "threads": threads,
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
