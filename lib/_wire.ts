/**
 * How values and errors cross the boundary between the pool and its workers,
 * both ways: a chunk's items packed as numbers ({@linkcode pack}), and an
 * error written down in a worker ({@linkcode ErrorWriter}) and rebuilt on
 * the pool's side ({@linkcode reviveError}).
 *
 * Over 300 lines for a reason: the writer and the reviver are two halves of
 * one format (`SerializedError`), and a change to how an error travels is
 * made on both sides at once, here.
 *
 * @module
 */

import { ERROR_TYPES, PACK_MIN, type SerializedError, type SerializedValue } from "./_protocol.ts";

export { PACK_MIN };

/** Items of a chunk packed as numbers: integers as `Int32Array`, any other numbers as `Float64Array`. */
export type PackedNumbers = Int32Array | Float64Array;
/**
 * From this many numbers up, a chunk is packed in shared memory, which a
 * message hands over without copying.
 */
export const SHARE_MIN = 4096;

/**
 * `items[from ..< to]` packed in a typed array when every one is a number,
 * else `null`. Packed numbers cost the structured clone a copy of bytes
 * instead of a walk over the items, on the way out and back.
 *
 * Integers in int32 range travel as an `Int32Array`, so a task reads each
 * item as the small integer a plain loop would pass it: V8 then compiles the
 * task for integer arithmetic. Read from a `Float64Array`, the same items
 * are doubles, and a call-heavy integer task such as `fib` ran at about half
 * speed (64 × fib(27): 142-150 ms against 81-82 ms, 2 cores). `-0` is not an
 * int32 (it would arrive as `0`), so a chunk holding it goes as doubles.
 *
 * @example
 * ```ts
 * import { pack } from "./_wire.ts";
 * import assert from "node:assert/strict";
 *
 * const ints = [1, 2, 3, 4, 5, 6, 7, 8];
 * assert.ok(pack(ints, 0, 8) instanceof Int32Array);
 * assert.ok(pack([...ints, 0.5], 0, 9) instanceof Float64Array);
 * assert.equal(pack([...ints, "9"], 0, 9), null);
 * ```
 */
export function pack(items: readonly unknown[], from: number, to: number): PackedNumbers | null {
  const n = to - from;
  if (n < PACK_MIN) return null;
  const shared = n >= SHARE_MIN;
  const ints = new Int32Array(shared ? new SharedArrayBuffer(4 * n) : new ArrayBuffer(4 * n));
  let i = from;
  for (; i < to; i++) {
    // A hole reads as undefined, so an input with holes stays an array.
    const item = items[i];
    // `| 0` returns an int32 as it is and changes any other number; -0
    // passes it, but would come back as 0. The `typeof` comes first, as `| 0`
    // would call an object's `valueOf` and throws on a BigInt.
    if (typeof item !== "number" || (item | 0) !== item || (item === 0 && 1 / item < 0)) break;
    ints[i - from] = item;
  }
  if (i === to) return ints;
  const numbers = new Float64Array(
    shared ? new SharedArrayBuffer(8 * n) : new ArrayBuffer(8 * n),
  );
  for (let j = from; j < i; j++) numbers[j - from] = ints[j - from];
  for (; i < to; i++) {
    const item = items[i];
    if (typeof item !== "number") return null;
    numbers[i - from] = item;
  }
  return numbers;
}

/** A `SerializedError` while it is being written. */
type Writing = { -readonly [K in keyof SerializedError]: SerializedError[K] };

/**
 * Writes down a thrown value, whatever it is, as a `SerializedError` that a
 * message can carry and {@linkcode reviveError} rebuilds: the error's
 * nearest built-in class, name, message, stack, cause chain, own
 * properties, and the fields some classes keep.
 *
 * It runs in the worker: `worker/program.ts` ships the class into the
 * worker program as source, so it reads nothing but built-in globals and
 * what its constructor is given.
 *
 * @example Write an error down and rebuild it
 * ```ts
 * import { ErrorWriter, reviveError } from "./_wire.ts";
 * import { ERROR_TYPES } from "./_protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const writer = new ErrorWriter(ERROR_TYPES);
 * const written = writer.write(new RangeError("too far", { cause: 7 }));
 * const error = reviveError(structuredClone(written));
 * assert.ok(error instanceof RangeError);
 * assert.equal(error.message, "too far");
 * assert.equal(error.cause, 7);
 * ```
 */
export class ErrorWriter {
  /** Cause chains and nested errors deeper than this are cut off: one may loop back on itself. */
  static readonly MAX_DEPTH = 16;
  /** The built-in error classes by prototype, under the names they travel by. */
  #types = new Map<unknown, string>();

  /**
   * Takes the built-in error classes as they are when it is made: in a
   * worker, before any task could change them.
   *
   * @param types The classes' names, as both sides spell them.
   */
  constructor(types: typeof ERROR_TYPES) {
    this.#addTypes("", globalThis, types.global);
    this.#addTypes("WebAssembly.", WebAssembly, types.webAssembly);
    this.#addTypes("Deno.errors.", Deno.errors, Object.keys(Deno.errors));
  }

  /**
   * Writes down `thrown`. Never throws, whatever was thrown: every read is
   * guarded, and what goes into the result is a clone, so sending it cannot
   * fail either.
   *
   * @param thrown Any value a task threw or a promise rejected with.
   * @returns Plain data that a message can carry.
   */
  write(thrown: unknown): SerializedError {
    return this.#write(thrown, 0);
  }

  #addTypes(prefix: string, holder: object, names: readonly string[]): void {
    for (const name of names) {
      const ctor = (holder as Record<string, unknown>)[name];
      if (typeof ctor === "function") this.#types.set(ctor.prototype, prefix + name);
    }
  }

  #write(thrown: unknown, depth: number): SerializedError {
    if (!this.#isError(thrown)) {
      const message = this.#text(thrown);
      const copy = this.#clone(thrown);
      return {
        type: "Error",
        name: "Error",
        message,
        stack: undefined,
        props: {},
        thrown: { value: copy === null ? message : copy.value },
      };
    }
    const written = this.#basics(thrown);
    /** Keys kept apart from `props`: they travel written down, or not at all. */
    const apart = new Set(["cause"]);
    let hasCause = false;
    try {
      hasCause = "cause" in thrown;
    } catch {
      // A Proxy's has trap threw: no cause that can be read.
    }
    const cause = hasCause ? this.#read(thrown, "cause") : null;
    if (cause !== null) written.cause = this.#value(cause.value, depth + 1);
    this.#classFields(thrown, written, { apart, depth });
    let keys: string[] = [];
    try {
      keys = Object.keys(thrown);
    } catch {
      // A Proxy's ownKeys trap threw: no properties that can be read.
    }
    for (const key of keys) {
      if (apart.has(key)) continue;
      const value = this.#read(thrown, key);
      const copy = value === null ? null : this.#clone(value.value);
      if (copy !== null) written.props[key] = copy.value;
    }
    return written;
  }

  /** An error's class, name, message and stack, each as a string that can be read. */
  #basics(error: Error): Writing {
    const type = this.#type(error);
    const name = this.#read(error, "name");
    const message = this.#read(error, "message");
    const stack = this.#read(error, "stack");
    return {
      type,
      name: name === null
        ? type.replace(/^.*\./, "")
        : typeof name.value === "string"
        ? name.value
        : this.#text(name.value),
      message: message === null
        ? ""
        : typeof message.value === "string"
        ? message.value
        : this.#text(message.value),
      stack: stack === null || stack.value === undefined
        ? undefined
        : typeof stack.value === "string"
        ? stack.value
        : this.#text(stack.value),
      props: {},
    };
  }

  /** The fields an `AggregateError`, a `SuppressedError` or a `QuotaExceededError` keeps. */
  #classFields(
    error: Error,
    written: Writing,
    { apart, depth }: { apart: Set<string>; depth: number },
  ): void {
    if (written.type === "AggregateError") {
      apart.add("errors");
      const errors = this.#arrayItems(this.#read(error, "errors")?.value);
      if (errors !== null) {
        const list: SerializedValue[] = [];
        for (const item of errors) {
          const value = this.#value(item, depth + 1);
          if (value !== undefined) list.push(value);
        }
        written.errors = list;
      }
    } else if (written.type === "SuppressedError") {
      apart.add("error").add("suppressed");
      const inner = this.#value(this.#read(error, "error")?.value, depth + 1);
      const suppressed = this.#value(this.#read(error, "suppressed")?.value, depth + 1);
      if (inner !== undefined && suppressed !== undefined) {
        written.suppressed = { error: inner, suppressed };
      }
    } else if (written.type === "QuotaExceededError") {
      const quota = this.#read(error, "quota")?.value;
      const requested = this.#read(error, "requested")?.value;
      written.quota = {
        quota: typeof quota === "number" ? quota : null,
        requested: typeof requested === "number" ? requested : null,
      };
    }
  }

  /** A value that travels next to an error, written down; `undefined` past `MAX_DEPTH`. */
  #value(value: unknown, depth: number): SerializedValue | undefined {
    if (depth > ErrorWriter.MAX_DEPTH) return undefined;
    if (this.#isError(value)) return this.#write(value, depth);
    const copy = this.#clone(value);
    return { value: copy === null ? this.#text(value) : copy.value };
  }

  /** The nearest built-in class in the error's prototype chain (see `SerializedError.type`). */
  #type(error: Error): string {
    try {
      for (
        let proto = Object.getPrototypeOf(error);
        proto !== null;
        proto = Object.getPrototypeOf(proto)
      ) {
        const type = this.#types.get(proto);
        if (type !== undefined) return type;
      }
    } catch {
      // A Proxy's getPrototypeOf trap threw part of the way up.
    }
    return "Error";
  }

  #isError(value: unknown): value is Error {
    try {
      return value instanceof Error;
    } catch {
      // A Proxy whose getPrototypeOf trap throws: not an error as far as anyone can tell.
      return false;
    }
  }

  /** `object[key]`, or `null` when reading it throws (a getter, a Proxy's trap). */
  #read(object: unknown, key: PropertyKey): { value: unknown } | null {
    try {
      return { value: (object as Record<PropertyKey, unknown>)[key] };
    } catch {
      return null;
    }
  }

  /** A copy of `value` that a message can carry, or `null` when it cannot be cloned. */
  #clone(value: unknown): { value: unknown } | null {
    try {
      return { value: structuredClone(value) };
    } catch {
      return null;
    }
  }

  /** `String(value)`; when that throws, the best description that does not. */
  #text(value: unknown): string {
    try {
      return String(value);
    } catch {
      // Its toString threw, or it has none (Object.create(null)).
    }
    try {
      return Object.prototype.toString.call(value);
    } catch {
      // A Proxy whose traps throw, or one that was revoked.
    }
    return `[${typeof value} that cannot be read]`;
  }

  /** A copy of an array's items, or `null` when it is not one or cannot be read (a Proxy). */
  #arrayItems(value: unknown): unknown[] | null {
    try {
      return Array.isArray(value) ? Array.from(value) : null;
    } catch {
      return null;
    }
  }
}

type ErrorClass = new (message?: string) => Error;

/** The built-in error classes an error is rebuilt as, by the names they travel by. */
const ERROR_CLASSES: ReadonlyMap<string, ErrorClass> = (() => {
  const classes = new Map<string, ErrorClass>();
  const global = globalThis as unknown as Record<string, unknown>;
  for (const name of ["Error", ...ERROR_TYPES.global]) {
    if (typeof global[name] === "function") classes.set(name, global[name] as ErrorClass);
  }
  const wasm = WebAssembly as unknown as Record<string, unknown>;
  for (const name of ERROR_TYPES.webAssembly) {
    if (typeof wasm[name] === "function") {
      classes.set(`WebAssembly.${name}`, wasm[name] as ErrorClass);
    }
  }
  for (const [name, ctor] of Object.entries(Deno.errors)) {
    classes.set(`Deno.errors.${name}`, ctor as ErrorClass);
  }
  return classes;
})();

/**
 * Rebuilds an error that crossed from a worker: the same built-in class, or
 * the nearest built-in class of a subclass, with the same name, message,
 * stack, cause chain and properties, and the fields some classes keep: an
 * `AggregateError`'s `errors`, a `SuppressedError`'s `error` and
 * `suppressed`, a `DOMException`'s `name` and `code`. A value thrown that was
 * not an error comes back as it was. Never throws: it runs inside the
 * handler of a worker's message.
 *
 * @param serialized What {@linkcode ErrorWriter} wrote, after its trip.
 * @returns The error, or the value that was thrown.
 */
export function reviveError(serialized: SerializedError): unknown {
  if (serialized.thrown !== undefined) return serialized.thrown.value;
  const error = construct(serialized);
  if (serialized.cause !== undefined) {
    defineOwn(error, "cause", reviveValue(serialized.cause), { enumerable: false });
  }
  if (error.name !== serialized.name) {
    defineOwn(error, "name", serialized.name, { enumerable: false });
  }
  defineOwn(error, "stack", serialized.stack, { enumerable: false });
  for (const key of Object.keys(serialized.props)) {
    defineOwn(error, key, serialized.props[key], { enumerable: true });
  }
  return error;
}

/** A new error of the serialized one's class, holding what its constructor takes. Never throws. */
function construct(serialized: SerializedError): Error {
  const Class = ERROR_CLASSES.get(serialized.type) ?? Error;
  try {
    return constructWithFields(serialized, Class);
  } catch {
    // The class refused the fields (a subclass's getter gave a negative quota).
  }
  try {
    return new Class(serialized.message);
  } catch {
    return new Error(serialized.message);
  }
}

function constructWithFields(serialized: SerializedError, Class: ErrorClass): Error {
  const { type, message } = serialized;
  switch (type) {
    case "AggregateError":
      return new AggregateError(serialized.errors?.map(reviveValue) ?? [], message);
    case "SuppressedError": {
      const { error, suppressed } = serialized.suppressed ??
        { error: { value: undefined }, suppressed: { value: undefined } };
      return new SuppressedError(reviveValue(error), reviveValue(suppressed), message);
    }
    case "DOMException":
      // Its name sets its code.
      return new DOMException(message, serialized.name);
    case "QuotaExceededError": {
      const { quota = null, requested = null } = serialized.quota ?? {};
      return new QuotaExceededError(message, {
        ...(quota === null ? {} : { quota }),
        ...(requested === null ? {} : { requested }),
      });
    }
    default:
      return new Class(message);
  }
}

function reviveValue(value: SerializedValue): unknown {
  return "type" in value ? reviveError(value) : value.value;
}

/**
 * Sets an own property as the error's constructor would have. Never throws:
 * a property of the fresh error that cannot be redefined keeps its value.
 */
function defineOwn(
  error: Error,
  key: string,
  value: unknown,
  { enumerable }: { enumerable: boolean },
): void {
  try {
    Object.defineProperty(error, key, { value, writable: true, enumerable, configurable: true });
  } catch {
    // Only a non-configurable own property refuses, and a fresh error has none.
  }
}
