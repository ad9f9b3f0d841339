/**
 * Sign-in: the key is checked with GET /v1/me before it is kept, so a mistyped key is told at once
 * and never stored.
 */
import { api, ApiError, session } from './api.js';
import { h, mount } from './dom.js';

export function renderSignIn(main, onSignedIn) {
  const error = h('p', { id: 'key-error', class: 'field-error', role: 'alert' });
  const input = h('input', {
    id: 'api-key',
    name: 'apiKey',
    type: 'password',
    autocomplete: 'off',
    required: true,
    'aria-describedby': 'key-hint key-error',
  });
  const form = h(
    'form',
    { id: 'sign-in', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), input,
      h('p', { id: 'key-hint', class: 'hint' }, 'Your key is kept in this browser tab only, until you sign out or close the tab.'),
      error),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    if (!key) {
      input.setAttribute('aria-invalid', 'true');
      error.textContent = 'Enter your API key.';
      input.focus();
      return;
    }
    try {
      const me = await api('GET', '/v1/me', undefined, key);
      session.signIn(key);
      onSignedIn(me);
    } catch (e) {
      input.setAttribute('aria-invalid', 'true');
      error.textContent = e instanceof ApiError && e.status === 401 ? 'This key is not valid.' : e.message;
      input.focus();
    }
  });
  mount(main, h('h1', {}, 'Sign in'), form);
  input.focus();
}
