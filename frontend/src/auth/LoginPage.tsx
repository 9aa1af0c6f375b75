import { useState } from "react";
import type { FormEvent } from "react";
import { api } from "../api/endpoints";
import { errorSentences } from "../api/errors";
import { useSession } from "./session";

export function LoginPage() {
  const { signedIn } = useSession();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors([]);
    try {
      signedIn(await api.auth.login(username, password));
    } catch (error) {
      setErrors(errorSentences(error));
      setBusy(false);
    }
  };

  return (
    <main className="login-page">
      <form className="login-card" onSubmit={submit} noValidate>
        <h1>Pipeline Studio</h1>
        <p className="muted">Sign in to build and run data pipelines.</p>
        <label>
          Username
          <input
            data-testid="login-username"
            name="username"
            autoComplete="username"
            autoFocus
            value={username}
            onChange={(event) => setUsername(event.target.value)}
          />
        </label>
        <label>
          Password
          <input
            data-testid="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        {errors.length > 0 && (
          <div className="error-box" role="alert" data-testid="login-error">
            {errors.map((message, index) => (
              <p key={index}>{message}</p>
            ))}
          </div>
        )}
        <button type="submit" className="primary" data-testid="login-submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
