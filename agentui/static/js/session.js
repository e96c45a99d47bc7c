// Signing in and out, shared by the agent console and the supervisor view.
// A session is { me: {id, name, role}, csrf }; the CSRF token is kept in
// sessionStorage so a reload keeps it, and state-changing requests send it.

const CSRF_KEY = 'sb.csrf';

/** storedCSRF is the token of this tab's session, if it has one. */
export function storedCSRF() {
  return sessionStorage.getItem(CSRF_KEY) || '';
}

function take(body, fallbackID = '') {
  const p = (body && (body.principal || body.account)) || body || {};
  const me = { id: p.id || fallbackID, name: p.name || '', displayName: p.display_name || '', role: p.role || '' };
  const csrf = body.csrf_token || storedCSRF();
  if (csrf) sessionStorage.setItem(CSRF_KEY, csrf);
  return { me, csrf };
}

/**
 * setDisplayName changes the name customers see of the signed-in person
 * ("" for their first name) and resolves with the name now shown.
 */
export async function setDisplayName(name, csrf) {
  const res = await fetch('/api/v1/me', {
    method: 'PATCH',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
    body: JSON.stringify({ display_name: name }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `status ${res.status}`);
  return (body.principal && body.principal.display_name) || '';
}

/**
 * currentSession resolves with the signed-in session, or null. A 503 means
 * the session could not be checked now (Redis is down), not that it is
 * gone: ask again after Retry-After instead of showing the sign-in form.
 */
export async function currentSession() {
  for (;;) {
    let res;
    try {
      res = await fetch('/api/v1/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    } catch {
      return null;
    }
    if (res.status === 503) {
      const wait = Math.min(Math.max(Number(res.headers.get('Retry-After')) || 1, 1), 10);
      await new Promise((r) => setTimeout(r, wait * 1000));
      continue;
    }
    if (!res.ok) return null;
    return take(await res.json().catch(() => ({})));
  }
}

/**
 * signIn resolves with { session } or with { error } worded for the person
 * at the form.
 */
export async function signIn(id, password) {
  if (!id || !password) return { error: 'Enter your account and password.' };
  try {
    const res = await fetch('/api/v1/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ id, password }),
    });
    if (res.ok) return { session: take(await res.json().catch(() => ({})), id) };
    return {
      error: res.status === 401 ? 'Wrong account or password.'
        : res.status === 429 ? 'Too many attempts. Wait a minute and try again.'
        : `Sign-in failed (${res.status}). Try again.`,
    };
  } catch {
    return { error: 'The server cannot be reached. Check your connection.' };
  }
}

/** signOut ends the session on the server and forgets its token here. */
export async function signOut(csrf) {
  try {
    await fetch('/api/v1/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } });
  } catch { /* signing out locally is what matters */ }
  sessionStorage.removeItem(CSRF_KEY);
}
