// Reading a snapshot inside a change without immer's proxies.
import { current, isDraft } from "immer";

/**
 * A draft's current contents as plain objects (the value itself when it is not a draft):
 * scanning a draft through its proxies drafts every element it touches, and thousands of
 * addresses, routes or chains make that the cost of the whole command.
 */
export function plain<T>(x: T): T {
  return isDraft(x) ? (current(x as never) as T) : x;
}
