// What was thrown, read without running any of the thrown value's own code: a check of an
// error's message or class must not be answered by the error itself (a getter, a Proxy, an
// object with its own `includes`).
import { types as utilTypes } from "node:util";
import type { ThrownRecord } from "./checks";

/**
 * The message of a thrown value, as a primitive string read without running any of its code:
 * a thrown string itself, or the own `message` data property of a real (non-Proxy) Error when
 * it is a string. Anything else (a getter, an object with its own `includes`, a Proxy, a value
 * with Symbol.toPrimitive) has no message a check can match: undefined.
 */
export function errorMessage(thrown: unknown): string | undefined {
  if (typeof thrown === "string") return thrown;
  if (typeof thrown !== "object" || thrown === null) return undefined;
  if (utilTypes.isProxy(thrown) || !utilTypes.isNativeError(thrown)) return undefined;
  const desc = Object.getOwnPropertyDescriptor(thrown, "message");
  if (desc === undefined || !Object.hasOwn(desc, "value")) return undefined;
  return typeof desc.value === "string" ? desc.value : undefined;
}

/** The prototypes of the built-in errors, whose `name` a grading kernel turns into an accessor. */
const NATIVE_ERROR_PROTOTYPES: ReadonlySet<object> = new Set(
  [Error, TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError, AggregateError].map((E) => E.prototype), // prettier-ignore
);

/** An error's class name (`RangeError`), read without running the error's own code. */
export function errorName(thrown: unknown): string | undefined {
  if (typeof thrown !== "object" || thrown === null || utilTypes.isProxy(thrown)) return undefined;
  if (!utilTypes.isNativeError(thrown)) return undefined;
  for (let o: object | null = thrown, depth = 0; o !== null && depth < 32; depth++) {
    if (utilTypes.isProxy(o)) return undefined;
    const desc = Object.getOwnPropertyDescriptor(o, "name");
    if (desc) {
      if ("value" in desc) return typeof desc.value === "string" ? desc.value : undefined;
      const value: unknown = NATIVE_ERROR_PROTOTYPES.has(o) && desc.get ? Reflect.apply(desc.get, o, []) : undefined; // prettier-ignore
      return typeof value === "string" ? value : undefined;
    }
    o = Object.getPrototypeOf(o) as object | null;
  }
  return undefined;
}

export function thrownRecord(threw: boolean, thrown: unknown): ThrownRecord {
  if (!threw) return { threw: false };
  const message = errorMessage(thrown);
  const name = typeof thrown === "string" ? "a thrown string" : errorName(thrown);
  return {
    threw: true,
    ...(name !== undefined ? { name: name.slice(0, 80) } : {}),
    ...(message !== undefined ? { message: message.slice(0, 4000) } : {}),
  };
}
