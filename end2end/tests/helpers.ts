import { APIRequestContext, expect, Page } from '@playwright/test';

export const accounts = {
  admin: { email: 'admin@demo.clinic', password: 'demo-admin-password' },
  receptionist: { email: 'reception@demo.clinic', password: 'demo-reception-password' },
  doctor: { email: 'doctor@demo.clinic', password: 'demo-doctor-password' },
  patient: { email: 'patient@demo.clinic', password: 'demo-patient-password' },
} as const;

export type Role = keyof typeof accounts;

/**
 * Waits until the wasm has hydrated the page loaded last, its split chunk included, so clicks
 * reach Leptos' handlers. Set once per document: after a navigation inside the app it is
 * already there, and the next page's elements are what to wait for.
 */
export async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

export async function logIn(page: Page, role: Role, next = '/') {
  await page.goto(next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`);
  await hydrated(page);
  await page.getByLabel('Email').fill(accounts[role].email);
  await page.getByLabel('Password').fill(accounts[role].password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.pathname === next);
}

/** Logs `api` (a request context with its own cookies, not a page's) in as `role`. */
export async function apiLogIn(api: APIRequestContext, role: Role) {
  const res = await api.post('/api/auth/login', { form: accounts[role] });
  expect(res.status(), `API login as ${role}`).toBe(200);
}

/**
 * Puts Zoom back the way demo mode sets it up, whatever another file (or a failed run) left:
 * the simulator's OAuth app saved by the admin, and the demo doctor not connected. Each file
 * that needs Zoom calls this first, so files do not depend on the order they run in.
 */
export async function resetZoom(api: APIRequestContext) {
  await apiLogIn(api, 'admin');
  const saved = await api.post('/api/admin/zoom/settings/save', {
    form: { mode: 'user_oauth', client_id: 'demo-oauth-client', client_secret: 'demo-oauth-secret' },
  });
  expect(saved.status(), 'saving the Zoom settings').toBe(200);
  await apiLogIn(api, 'doctor');
  const disconnected = await api.post('/api/zoom/disconnect');
  expect(disconnected.status(), 'disconnecting the doctor').toBe(200);
  await api.post('/api/auth/logout');
}

/** A suffix that makes an email address new on every run against the same server. */
export function unique(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
