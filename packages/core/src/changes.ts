/**
 * What changed between two versions of a wallet's grant or hold array. Decisions keep the order of
 * these arrays (they replace in place, append, or drop an item), so one walk comparing references
 * finds the changes without a map of every item; any other shape falls back to matching by id.
 */

export interface ItemChange<Item> {
  /** The item before, or undefined when it is new. */
  readonly before: Item | undefined;
  readonly after: Item;
}

/** Items of `after` that are new or not the same object as before, in `after`'s order. */
export function changedItems<Item extends { readonly id: string }>(
  before: readonly Item[],
  after: readonly Item[],
): ItemChange<Item>[] {
  if (before === after) return [];
  const changes: ItemChange<Item>[] = [];
  const dropped = new Set<string>();
  let i = 0;
  let j = 0;
  while (i < before.length && j < after.length) {
    const was = before[i] as Item;
    const is = after[j] as Item;
    if (was === is) {
      i += 1;
      j += 1;
    } else if (was.id === is.id) {
      changes.push({ before: was, after: is });
      i += 1;
      j += 1;
    } else {
      // Taken as dropped; if it turns up later in `after`, the order was not kept: match by id.
      dropped.add(was.id);
      i += 1;
    }
  }
  for (; j < after.length; j += 1) {
    const is = after[j] as Item;
    if (dropped.has(is.id)) return changedById(before, after);
    changes.push({ before: undefined, after: is });
  }
  return changes;
}

function changedById<Item extends { readonly id: string }>(
  before: readonly Item[],
  after: readonly Item[],
): ItemChange<Item>[] {
  const byId = new Map(before.map((item) => [item.id, item]));
  const changes: ItemChange<Item>[] = [];
  for (const item of after) {
    const was = byId.get(item.id);
    if (was !== item) changes.push({ before: was, after: item });
  }
  return changes;
}
