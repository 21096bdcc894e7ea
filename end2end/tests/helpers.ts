import { expect, Page } from '@playwright/test';

export const accounts = {
  admin: { email: 'admin@demo.clinic', password: 'demo-admin-password' },
  receptionist: { email: 'reception@demo.clinic', password: 'demo-reception-password' },
  doctor: { email: 'doctor@demo.clinic', password: 'demo-doctor-password' },
  patient: { email: 'patient@demo.clinic', password: 'demo-patient-password' },
} as const;

export type Role = keyof typeof accounts;

/** Waits until the wasm has hydrated the page, so clicks reach Leptos' handlers. */
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
