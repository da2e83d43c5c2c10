/**
 * A double-ended queue on a growable ring buffer: O(1) at both ends, no
 * `Array#shift`. The pool keeps pending chunks here; work given back by a
 * worker that died goes to the front so it runs next.
 *
 * @module
 */

/** Double-ended queue with O(1) `push`, `pop`, `unshift` and `shift`. */
export class Deque<T> {
  #items: (T | undefined)[] = new Array(16);
  #head = 0;
  #size = 0;

  /** Number of items held. */
  get size(): number {
    return this.#size;
  }

  /** Adds an item at the back. */
  push(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = item;
    this.#size++;
  }

  /** Adds an item at the front. */
  unshift(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = item;
    this.#size++;
  }

  /** Removes and returns the front item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined; // release the reference at once
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#size--;
    return item;
  }

  /** Removes and returns the back item, or `undefined` when empty. */
  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const at = this.#backIndex();
    const item = this.#items[at];
    this.#items[at] = undefined;
    this.#size--;
    return item;
  }

  /** The front item without removing it. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  /** The back item without removing it. */
  peekBack(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#backIndex()];
  }

  #backIndex(): number {
    return (this.#head + this.#size - 1) & (this.#items.length - 1);
  }

  /** Removes every item for which `drop` returns `true`, keeping the order of the rest. */
  removeWhere(drop: (item: T) => boolean): void {
    const kept: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) {
      if (!drop(item)) kept.push(item);
    }
    for (const item of kept) this.push(item);
  }

  #grow(): void {
    const old = this.#items;
    const items: (T | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.#size; i++) items[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = items;
    this.#head = 0;
  }
}
