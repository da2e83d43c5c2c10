/**
 * `FunctionTable`: each function a pool has been asked to run, by a small
 * id. Messages carry the id; a worker is sent a function's source or module
 * once, the first time it needs it.
 *
 * @module
 */

import type { FunctionSpec } from "../_protocol.ts";

/** The functions of one pool, by id. */
export class FunctionTable {
  #specs: FunctionSpec[] = [];
  #ids = new Map<string, number>();

  /** A stable id for a function, the same for the same source or module export. */
  idOf(spec: FunctionSpec): number {
    const key = spec.kind === "source" ? `s:${spec.source}` : `m:${spec.url}#${spec.exportName}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#specs.length;
      this.#specs.push(spec);
      this.#ids.set(key, id);
    }
    return id;
  }

  /** The function with id `fnId`. */
  get(fnId: number): FunctionSpec {
    return this.#specs[fnId];
  }

  /** `true` when the function with id `fnId` is a module's export, `false` when it is source. */
  isModule(fnId: number): boolean {
    return this.#specs[fnId].kind === "module";
  }
}
