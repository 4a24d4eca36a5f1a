"""Where the demo's training step spends its time, today's path and the cached, length-grouped path side by side.

  python benchmarks/demo_step.py [--steps 40] [--repeats 2] [--threads 1] [--json out.json]

The demo's configuration (the shipped pretrained tiny VLM, vision tower frozen, batch 32 of MMEB-mini, seed 0's
batches, one thread as each demo worker runs) for `--steps` steps, in phases: preparing the inputs (processor and
image decoding, or the cache's look-up and grouping), the frozen vision tower, the forward (language model, projector,
pooling), the loss, the backward and the optimizer. Both paths run the same batches from the same weights, alternated
`--repeats` times (ABAB) in one process; the cached path's cache is filled beforehand (a demo run draws each item
about five times) and the filling is timed on its own. Prints one table and the ratio of the step times (medians).
"""

import argparse
import json
import statistics
import time

import torch


def timed_step(model, encoder, loss_fn, optimizer, pairs, config, cache, timers):
    "One training step of `pairs` (seconds added to `timers`), the library's own functions in the library's order."
    from llave.train import prepare_side

    clock = time.perf_counter
    start = clock()
    if cache is None:
        query, target = prepare_side(model, pairs, "query"), prepare_side(model, pairs, "target")
    else:
        query, target = prepare_side(model, pairs, "both", cache, config.group_overhead), None
    timers["prepare"] += clock() - start
    start = clock()
    q, t = encoder(query, target)
    if t is None:
        q, t = q.chunk(2)
    timers["forward"] += clock() - start
    start = clock()
    loss = loss_fn(q, t)
    timers["loss"] += clock() - start
    start = clock()
    loss.backward()
    timers["backward"] += clock() - start
    start = clock()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    timers["optimizer"] += clock() - start
    return loss.item()


def tower_timer(model, timers):
    "Time spent in the vision tower, taken out of the forward by hooks."
    tower, started = model.model.model.vision_tower, []
    tower.register_forward_pre_hook(lambda *args: started.append(time.perf_counter()))
    tower.register_forward_hook(
        lambda *args: timers.__setitem__("tower", timers["tower"] + time.perf_counter() - started.pop())
    )


def run_path(name, batches, config, state, steps, cache=None):
    from llave.model import LLaVE
    from llave.mini.pretrain import pretrained_model
    from llave.train import PairEncoder, make_loss

    model = LLaVE.from_pretrained(pretrained_model(), torch_dtype=torch.float32)
    model.load_state_dict(state)
    model.freeze_vision(True).train()
    if cache is not None:
        cache.model = model
    timers = dict.fromkeys(("prepare", "tower", "forward", "loss", "backward", "optimizer"), 0.0)
    tower_timer(model, timers)
    optimizer = torch.optim.AdamW(model.parameter_groups(config.learning_rate), fused=True)
    encoder, loss_fn = PairEncoder(model), make_loss(config)
    started, losses = time.perf_counter(), []
    for pairs in batches[:steps]:
        losses.append(timed_step(model, encoder, loss_fn, optimizer, pairs, config, cache, timers))
    total = time.perf_counter() - started
    timers["forward"] -= timers["tower"]
    timers["other"] = total - sum(timers.values())
    return {"path": name, "step_s": total / steps, **{k: v / steps for k, v in timers.items()}, "losses": losses}


def matmul_floor(batches, config, state, cache, steps=8):
    """The cached path's matrix multiplies (and attention kernels) alone, ms a step, under torch.profiler: the part of
    the step that less waste cannot remove, only less arithmetic or a faster matrix unit."""
    from torch.profiler import ProfilerActivity, profile

    kernels = {"aten::mm": "matmul", "aten::addmm": "matmul", "aten::bmm": "matmul"}
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        result = run_path("profiled", batches, config, state, steps, cache)
    times = {"matmul": 0.0, "attention": 0.0}
    for event in prof.key_averages():
        if event.key in kernels:
            times["matmul"] += event.self_cpu_time_total / 1e3 / steps
        elif "scaled_dot_product" in event.key:
            times["attention"] += event.self_cpu_time_total / 1e3 / steps
    return {**times, "step_ms_profiled": 1e3 * result["step_s"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from llave.data import ModalityBatchSampler
    from llave.inputs import InputCache
    from llave.model import LLaVE
    from llave.mini.pretrain import pretrained_model
    from llave.train import TrainConfig, load_pairs, local_batch

    config = TrainConfig(
        model=str(pretrained_model()), alpha=9.0, learning_rate=5e-4, batch_size=32, defer_duplicate_targets=True
    )
    pairs = load_pairs(config)
    sampler = ModalityBatchSampler.from_pairs(pairs, 32, seed=0, distinct_targets=True)
    batches = [local_batch(pairs, sampler, step, 0, 1) for step in range(args.steps)]
    model = LLaVE.from_pretrained(pretrained_model(), torch_dtype=torch.float32)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    cache = InputCache(model.freeze_vision(True), share_prefix=config.share_prefix)
    started = time.perf_counter()
    for batch in batches:
        cache.items(
            [p.query_text for p in batch] + [p.target_text for p in batch],
            [p.query_image for p in batch] + [p.target_image for p in batch],
        )
    fill = {"items": cache.prepared, "seconds": time.perf_counter() - started}
    results = []
    for repeat in range(args.repeats):
        results.append(run_path("today (processor + padded batches)", batches, config, state, args.steps))
        results.append(
            run_path("cached + grouped by length + shared prefix", batches, config, state, args.steps, cache)
        )
    floor = matmul_floor(batches, config, state, cache)
    report(results, fill, args, floor)


def report(results, fill, args, floor):
    phases = ("prepare", "tower", "forward", "loss", "backward", "optimizer", "other", "step_s")
    print(
        f"{args.steps} steps of the demo (batch 32, seed 0's batches), {args.threads} thread(s), {args.repeats} repeats; ms a step (median)"
    )
    print("| path | " + " | ".join(p.replace("step_s", "step") for p in phases) + " |")
    print("|---" * (len(phases) + 1) + "|")
    medians = {}
    for name in dict.fromkeys(r["path"] for r in results):
        runs = [r for r in results if r["path"] == name]
        medians[name] = {p: statistics.median(r[p] for r in runs) for p in phases}
        print(f"| {name} | " + " | ".join(f"{1000 * medians[name][p]:.1f}" for p in phases) + " |")
    old, new = medians.values()
    largest = max(abs(a - b) for a, b in zip(results[0]["losses"], results[1]["losses"]))
    print(
        f"speed-up of the step: {old['step_s'] / new['step_s']:.2f}x (each repeat: "
        + ", ".join(f"{a['step_s'] / b['step_s']:.2f}x" for a, b in zip(results[::2], results[1::2]))
        + ")"
    )
    print(f"largest loss difference between the paths over the {args.steps} steps: {largest:.2e}")
    print(
        f"filling the cache: {fill['items']} items in {fill['seconds']:.1f} s ({fill['items'] / fill['seconds']:.0f} items/s, once per worker)"
    )
    share = floor["matmul"] / floor["step_ms_profiled"]
    print(
        f"the cached step's matrix multiplies alone (profiled, 8 steps): {floor['matmul']:.0f} ms of "
        f"{floor['step_ms_profiled']:.0f} ms ({100 * share:.0f}%), attention kernels {floor['attention']:.0f} ms; "
        f"3x today's step would be {1000 * old['step_s'] / 3:.0f} ms, i.e. {1000 * new['step_s'] * share:.0f} ms of "
        f"matrix multiplies and nothing else"
    )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {"results": results, "fill": fill, "steps": args.steps, "threads": args.threads, "floor_ms": floor},
                handle,
                indent=1,
            )


if __name__ == "__main__":
    main()
