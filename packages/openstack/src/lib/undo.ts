/**
 * A stack of compensating actions for a multi-step mutation (CNI's "defer on
 * failure" pattern). Push an undo after every successful step; on failure call
 * `rollback()`, which runs them in reverse order, reports (but survives) undo
 * failures, and leaves the original error to the caller.
 */
export type UndoFailureReporter = (step: string, err: unknown) => void;

export class UndoStack {
  readonly #steps: Array<{ step: string; undo: () => Promise<unknown> }> = [];

  push(step: string, undo: () => Promise<unknown>): void {
    this.#steps.push({ step, undo });
  }

  /** Forget all undos: the operation committed. */
  commit(): void {
    this.#steps.length = 0;
  }

  async rollback(report: UndoFailureReporter): Promise<void> {
    while (this.#steps.length > 0) {
      const { step, undo } = this.#steps.pop()!;
      try {
        await undo();
      } catch (err) {
        report(step, err);
      }
    }
  }
}

/**
 * Runs `work` with a fresh UndoStack; if it throws, the recorded undos run in
 * reverse and the original error is rethrown.
 */
export async function withUndo<T>(report: UndoFailureReporter, work: (undo: UndoStack) => Promise<T>): Promise<T> {
  const undo = new UndoStack();
  try {
    const result = await work(undo);
    undo.commit();
    return result;
  } catch (err) {
    await undo.rollback(report);
    throw err;
  }
}
