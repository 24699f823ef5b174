/**
 * Loads an API path and reloads it whenever `version` changes (the live event stream bumps it),
 * keeping the old data on screen while the new arrives so the page does not flicker.
 */
import { useEffect, useState } from 'react';
import { ApiError, apiGet } from '../shared/api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
}

export function useApi<T>(path: string | undefined, version: number): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: undefined, error: undefined });
  useEffect(() => {
    if (path === undefined) return;
    let live = true;
    apiGet<T>(path).then(
      (data) => {
        if (live) setState({ data, error: undefined });
      },
      (e: unknown) => {
        if (live) setState((s) => ({ data: s.data, error: e instanceof ApiError ? e.message : 'The console could not be reached.' }));
      },
    );
    return () => {
      live = false;
    };
  }, [path, version]);
  return state;
}
