import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import { ApiError } from "../api/client";
import { api } from "../api/endpoints";
import { errorSentence } from "../api/errors";
import type { Me } from "../api/types";

export type SessionState =
  | { kind: "loading" }
  | { kind: "anonymous" }
  | { kind: "signed-in"; me: Me; expired: boolean }
  | { kind: "unreachable"; message: string };

interface Session {
  state: SessionState;
  signedIn: (me: Me) => void;
  logout: () => Promise<void>;
  retry: () => void;
}

const SessionContext = createContext<Session | null>(null);

/** Checks `GET /api/auth/me/` on load; 401/403 leads to the login page. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ kind: "loading" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    // A session that ends while the user works keeps the page mounted (and unsaved edits in it)
    // under a sign-in dialog.
    api.client.onUnauthorized = () =>
      setState((current) => (current.kind === "signed-in" ? { ...current, expired: true } : { kind: "anonymous" }));
    (async () => {
      try {
        await api.auth.csrf();
        const me = await api.auth.me(controller.signal);
        setState({ kind: "signed-in", me, expired: false });
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          setState({ kind: "anonymous" });
        } else {
          setState({ kind: "unreachable", message: errorSentence(error) });
        }
      }
    })();
    return () => controller.abort();
  }, [attempt]);

  const signedIn = useCallback((me: Me) => setState({ kind: "signed-in", me, expired: false }), []);
  const logout = useCallback(async () => {
    try {
      await api.auth.logout();
    } finally {
      setState({ kind: "anonymous" });
    }
  }, []);
  const retry = useCallback(() => {
    setState({ kind: "loading" });
    setAttempt((n) => n + 1);
  }, []);

  const value = useMemo(() => ({ state, signedIn, logout, retry }), [state, signedIn, logout, retry]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession is used outside SessionProvider.");
  return session;
}

/** The signed-in user; only for pages rendered behind the login gate. */
export function useMe(): Me {
  const { state } = useSession();
  if (state.kind !== "signed-in") throw new Error("This page needs a signed-in user.");
  return state.me;
}
