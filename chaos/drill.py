"""One drill: seed, run the workload, inject and heal faults on schedule, wait for the
nodes to converge, gather their final states, check, report.

Faults are undone in a ``finally`` whatever happens (an invariant failing, an exception,
Ctrl-C or SIGTERM, which cancel the drill task), and through the ledger, so
``risai-chaos cleanup`` can finish the job if this process itself is killed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from pathlib import Path

from chaos import faults, observe, workload
from chaos.checker import Verdict, check
from chaos.faults.ledger import Ledger
from chaos.history import Fault, History, LagSample
from chaos.scenario import Scenario
from deploy.launcher import Federation

log = logging.getLogger("chaos.drill")
RESIDENTS_PER_TOWN = 40
TAIL_S = 5.0  # seconds of workload after the last heal, at least


class Drill:
    def __init__(self, fed: Federation, scenario: Scenario, say=print) -> None:
        self.fed, self.scenario, self.say = fed, scenario, say
        self.ledger = Ledger.for_run_dir(fed.run_dir)
        self.history = History()
        self._t0 = time.monotonic()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="fault")
        self._step: concurrent.futures.Future | None = None
        self._households: list[tuple[str, str]] = []  # (resident, dwelling) the counters serve

    def clock(self) -> float:
        return time.monotonic() - self._t0

    async def _blocking(self, fn, *args):
        """Run a blocking fault action off the event loop (the workload keeps going), and
        remember it so an interrupted drill waits for it before undoing everything."""
        self._step = self._pool.submit(fn, *args)
        return await asyncio.wrap_future(self._step)

    async def run(self) -> tuple[History, list, Verdict]:
        leftovers = faults.heal_all(self.fed, self.ledger)
        if leftovers:
            raise RuntimeError(f"faults from an earlier drill could not be undone: {leftovers}")
        # A broker restarted by an earlier drill may still be recovering its logs.
        down = await observe.wait_ready(self.fed, 120, self.clock)
        if down:
            raise RuntimeError(f"the federation is not healthy: {', '.join(down)} not serving")
        self.say("checking every town has residents, creating the drill staff …")
        await observe.prepare(self.fed, RESIDENTS_PER_TOWN)
        if await observe.wait_converged(self.fed, 120, self.clock) is None:
            raise RuntimeError("the federation did not converge before the drill; is it healthy?")
        self._households = await observe.households(self.fed, RESIDENTS_PER_TOWN)
        if not self._households:
            raise RuntimeError("no resident with a dwelling to apply for; was the federation seeded?")
        self._t0 = time.monotonic()
        # Lag is sampled from the first request until the digests are equal (or given up).
        sampler = asyncio.create_task(self._sample_lag())
        try:
            try:
                await self._drive()
            finally:
                await self._heal_everything()
            bound = self.scenario.convergence_bound_s
            self.say(f"waiting up to {bound:.0f}s for equal digests …")
            converged = await observe.wait_converged(self.fed, bound + 30, self.clock)
            if converged is not None:
                self.history.marks["converged"] = converged
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
        states = await observe.final_states(self.fed)
        verdict = check(self.history, states, observe.make_verifier(self.fed.run_dir),
                        convergence_bound_s=bound)
        return self.history, states, verdict

    async def _drive(self) -> None:
        sc = self.scenario
        shared = workload.Shared(self.history, self.clock, sc.duration_s, sc.workload.max_requests,
                                 observe.staff_password(self.fed), self._households,
                                 tls=self.fed.http_context())
        targets = [workload.Target(n.id, n.http_port, n.town) for n in self.fed.spec.nodes]
        load = asyncio.create_task(workload.run(shared, targets, sc.workload, contend=self._across("contend"),
                                                duplicate=self._across("duplicate")))
        try:
            await self._schedule()
            # A late heal (a slow restart) must not leave the recovery without load: keep
            # the clients going a little past the last heal.
            shared.deadline = max(shared.deadline, self.clock() + TAIL_S)
            await load
        finally:
            load.cancel()
            await asyncio.gather(load, return_exceptions=True)
        self.history.marks["quiesced"] = self.clock()

    def _across(self, flag: str) -> tuple[str, str, float] | None:
        """(a node inside the scenario's partition, one outside, a moment inside it) for the
        workload's contender or duplicator, when the scenario asks for it."""
        cut = next((f for f in self.scenario.faults if f.kind == "partition"), None)
        if not getattr(self.scenario.workload, flag) or cut is None:
            return None
        inside = next(n.id for n in self.fed.spec.nodes if n.region == cut.target)
        outside = next(n.id for n in self.fed.spec.nodes if n.region != cut.target)
        return inside, outside, cut.at_s + min(3.0, cut.for_s / 2)

    async def _schedule(self) -> None:
        """Inject and heal each fault at its time; events run in time order."""
        events = sorted([(f.at_s, 0, i) for i, f in enumerate(self.scenario.faults)] +
                        [(f.at_s + f.for_s, 1, i) for i, f in enumerate(self.scenario.faults)])
        entries: dict[int, tuple[str, float]] = {}
        for at, heal, i in events:
            await asyncio.sleep(max(0.0, at - self.clock()))
            step = self.scenario.faults[i]
            if not heal:
                self.say(f"t={self.clock():5.1f}s inject {step.kind} on {step.target}")
                started = self.clock()
                entry = await self._blocking(faults.inject, self.fed, self.ledger, step.kind, step.target, step.params)
                entries[i] = (entry, started)
            elif i in entries:
                entry, started = entries.pop(i)
                self.say(f"t={self.clock():5.1f}s heal {step.kind} on {step.target}")
                await self._blocking(faults.heal, self.fed, self.ledger, entry)
                self.history.faults.append(Fault(f"{step.kind}:{step.target}", step.kind, step.target,
                                                 started, self.clock(), _describe(step.params)))
                self.history.marks["healed"] = self.clock()

    async def _heal_everything(self) -> None:
        if self._step is not None and not self._step.done():
            # An interrupted inject or heal still runs in its thread: let it finish first.
            await asyncio.get_running_loop().run_in_executor(None, concurrent.futures.wait, [self._step])
        left = self.ledger.entries()
        if left:
            self.say(f"undoing {len(left)} fault(s) still in place …")
            failures = await asyncio.get_running_loop().run_in_executor(
                None, faults.heal_all, self.fed, self.ledger)
            if failures:
                raise RuntimeError(f"could not undo: {failures}; run `risai-chaos cleanup`")
            self.history.marks["healed"] = self.clock()

    async def _sample_lag(self) -> None:
        """Every 2 s, each node's lag per origin and outbox depth (until cancelled)."""
        async with observe.https_session(self.fed) as session:
            for _ in range(100_000):  # bounded; the drill cancels it long before
                for node in self.fed.spec.nodes:
                    t = self.clock()
                    for origin, lag in await observe.lag(session, node.http_port):
                        self.history.lag.append(LagSample(t, node.id, origin, lag))
                await asyncio.sleep(2.0)


def _describe(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def report_dir_for(base: Path, scenario: Scenario) -> Path:
    return base / f"{time.strftime('%Y%m%d-%H%M%S')}-{scenario.name}"
