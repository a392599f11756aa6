/**
 * Every list compile goes through one queue: at most one runs at a time (a 3M-rule compile holds
 * hundreds of MB; four at once held 1.5 GB), and requests that arrive while one runs coalesce into one
 * follow-up run, which reads its inputs when it starts and so sees every change those requests saw.
 *
 * A reload holds the queue from its prepare (a compile of the new config) until it commits or aborts,
 * so no other compile can swap lists in between.
 */
export interface CompileQueue<T> {
  /**
   * A compile of the inputs in force when it starts; joins the one waiting to start, if any. `reason`
   * is for logs and the list history: a run started for several requests gets all their reasons.
   */
  request(reason: string): Promise<T>;
  /** Waits for the queue, then holds it until the returned release is called. */
  hold(): Promise<() => void>;
  /** Compiles started so far (tests, status). */
  runs(): number;
}

export function createCompileQueue<T>(compile: (reasons: string[]) => Promise<T>): CompileQueue<T> {
  let tail: Promise<void> = Promise.resolve();
  let waiting: Promise<T> | null = null;
  let reasons: string[] = [];
  let runs = 0;

  function hold(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const acquired = tail.then(() => release);
    tail = tail.then(() => released);
    return acquired;
  }

  return {
    request(reason) {
      if (!reasons.includes(reason)) reasons.push(reason);
      if (waiting !== null) return waiting;
      const run = (async () => {
        const release = await hold();
        // From here on a new request is a follow-up: it must see what changed while this one runs.
        waiting = null;
        const these = reasons;
        reasons = [];
        runs++;
        try {
          return await compile(these);
        } finally {
          release();
        }
      })();
      waiting = run;
      return run;
    },
    hold,
    runs: () => runs,
  };
}
