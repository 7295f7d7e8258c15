/**
 * Test helpers for the commit engine: hold a server's writer busy (so the commands that arrive
 * meanwhile queue and form one batch), wait until a number of commands wait, and read how many
 * batches and commands the server committed from its metrics.
 */

import type { Writer } from '../command.ts';
import type { Committer } from '../committer.ts';

export interface WriterGate {
  /** Resolves once the gate's task runs inside the writer's transaction. */
  readonly holding: Promise<void>;
  /** Lets the task finish; its batch commits. */
  open(): void;
  /** The task's own outcome (it rejects if the committer refused it). */
  readonly done: Promise<void>;
}

/** Occupies one writer of `committer` with a task that runs `work` and then waits for `open()`. */
export function holdWriter(committer: Committer, work: (writer: Writer) => Promise<void> = async () => {}): WriterGate {
  let held!: () => void;
  let release!: () => void;
  const holding = new Promise<void>((resolve) => {
    held = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const done = committer.runInWriter('test writer gate', async (writer) => {
    await work(writer);
    held();
    await released;
  });
  return { holding, open: release, done };
}

/** Waits (polling, at most 10 s) until `committer` has `count` commands waiting. */
export async function untilWaiting(committer: Committer, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (committer.commandsWaiting < count) {
    if (Date.now() > deadline) throw new Error(`only ${committer.commandsWaiting} of ${count} commands are waiting`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Batches and commands committed so far, from the `bursar_commit_batch_size` histogram on /metrics. */
export async function batchTotals(url: string): Promise<{ batches: number; commands: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
    if (line === undefined) throw new Error(`no ${name} on /metrics`);
    return Number(line.slice(name.length + 1));
  };
  return { batches: value('bursar_commit_batch_size_count'), commands: value('bursar_commit_batch_size_sum') };
}
