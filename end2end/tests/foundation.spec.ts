import { test, expect } from '@playwright/test';
import { accounts, hydrated, logIn, Role, unique } from './helpers';

const homes: Record<Role, string> = {
  admin: 'Clinic administration',
  receptionist: 'Reception desk',
  doctor: 'Your clinic day',
  patient: 'Your visits',
};

for (const role of Object.keys(homes) as Role[]) {
  test(`the ${role} logs in and sees their home page`, async ({ page }) => {
    await logIn(page, role);
    await expect(page.getByTestId(`home-${role}`)).toBeVisible();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(homes[role]);
    await expect(page.getByTestId('who')).toContainText(accounts[role].email);
    const usersLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users', exact: true });
    if (role === 'admin') await expect(usersLink).toBeVisible();
    else await expect(usersLink).toHaveCount(0);
  });
}

test('a wrong password is reported inline without a reload', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await page.getByLabel('Email').fill(accounts.doctor.email);
  await page.getByLabel('Password').fill('definitely not it');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByText('Email or password is incorrect.')).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  await expect(page).toHaveURL(/\/login$/);
});

test('the new-user form validates as you type, without a reload', async ({ page }) => {
  // New on every run: the test does not depend on a fresh database.
  const grace = `grace.${unique()}@demo.clinic`;
  await logIn(page, 'admin', '/admin/users');
  await page.evaluate(() => ((window as any).__sameDocument = true));
  const form = page.getByTestId('new-user-form');
  const email = form.getByLabel('Email');
  await email.fill('not-an-email');
  await expect(form.getByText('An email address needs an @.')).toBeVisible();
  await email.fill(grace);
  await expect(form.getByText('An email address needs an @.')).toHaveCount(0);

  await form.getByLabel('Role').selectOption('doctor');
  await form.getByLabel('Display name (shown to patients)').fill('Dr. Grace Hopper');
  await form.getByLabel('Time zone').fill('Mars/Base');
  await expect(form.getByText('Unknown time zone')).toBeVisible();
  await form.getByLabel('Time zone').fill('Europe/Berlin');
  await form.getByLabel('Initial password').fill('short');
  await expect(form.getByText('Use at least 12 characters.')).toBeVisible();
  await form.getByLabel('Initial password').fill('grace hopper password');
  await form.getByRole('button', { name: 'Create user' }).click();

  await expect(page.getByTestId('users-table')).toContainText(grace);
  await expect(page.getByTestId('users-table')).toContainText('Dr. Grace Hopper');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  // A duplicate is refused by the server and the reason appears inline.
  await form.getByLabel('Email').fill(grace);
  await form.getByLabel('Role').selectOption('receptionist');
  await form.getByLabel('Initial password').fill('another long password');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.getByTestId('form-error')).toHaveText('Another account already uses this email.');
});

test('a patient who types an admin URL is refused', async ({ page }) => {
  await logIn(page, 'patient');
  const response = await page.goto('/admin/users');
  expect(response?.status()).toBe(403);
  await expect(page.getByTestId('forbidden')).toContainText('You do not have access to this page.');
  await expect(page.getByTestId('users-table')).toHaveCount(0);
});

test('an anonymous visitor is sent to login and back to the page they wanted', async ({ page }) => {
  await page.goto('/admin/users');
  await expect(page).toHaveURL(/\/login\?next=/);
  await hydrated(page);
  await page.getByLabel('Email').fill(accounts.admin.email);
  await page.getByLabel('Password').fill(accounts.admin.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.pathname === '/admin/users');
  await expect(page.getByTestId('users-table')).toBeVisible();
});

test('logout ends the session', async ({ page, context }) => {
  await logIn(page, 'doctor');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL((url) => url.pathname === '/login');
  // The earlier login must not bounce the login page back home: once the page is hydrated
  // and its requests are done, it is still the login page.
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
  await page.goto('/');
  await expect(page).toHaveURL(/\/login\?next=/);
  const me = await context.request.post('/api/auth/me');
  expect(await me.json()).toBeNull();
});
