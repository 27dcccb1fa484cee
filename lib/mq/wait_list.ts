// A FIFO of pending calls that also lets any one of them leave in O(1), as a
// cancelled call must (an AbortSignal or a timeout can fire for any position).

export interface Entry {
  prev: Entry | null;
  next: Entry | null;
}

export class WaitList<T extends Entry> {
  #head: T | null = null;
  #tail: T | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get first(): T | null {
    return this.#head;
  }

  push(entry: T): void {
    entry.prev = this.#tail;
    entry.next = null;
    if (this.#tail) this.#tail.next = entry;
    else this.#head = entry;
    this.#tail = entry;
    this.#size++;
  }

  /** Removes an entry that is in this list. */
  remove(entry: T): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.#head = entry.next as T | null;
    if (entry.next) entry.next.prev = entry.prev;
    else this.#tail = entry.prev as T | null;
    entry.prev = entry.next = null;
    this.#size--;
  }
}
